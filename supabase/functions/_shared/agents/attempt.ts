/**
 * One HTTP attempt at an agent (spec 6.2): build the request, send it, read and validate the
 * answer. Every failure is thrown as an `AgentCallError` so the policy wrapped around attempts
 * (retry, breaker, ...) can decide what to do with it. No retries or caching decisions here.
 */
import { AgentCallError, type AgentErrorCode } from "./call_error.ts";
import type { Parsed } from "./payload.ts";
import { raceAbort } from "./deadline.ts";
import { parseRetryAfter } from "./retry_after.ts";
import { readAtMost } from "../streams.ts";
import { traceparent } from "../http/trace.ts";

/** Largest answer body read from an agent: 1 MiB. */
export const MAX_AGENT_BODY_BYTES = 1024 * 1024;

export interface AttemptOptions<T> {
  url: string;
  /** The JSON request body. */
  body: string;
  /**
   * The service credential (`EDGE_SERVICE_KEY`: a secret key or a legacy service_role JWT),
   * sent as `apikey` and as the bearer; null sends none (the agent will refuse the call).
   */
  serviceKey: string | null;
  /** Same on every attempt of one logical call. */
  idempotencyKey: string;
  /** 32 lowercase hex digits; each attempt gets its own span id. */
  traceId: string;
  /** The cached entry a 304 renews, or null when the call sends no `If-None-Match`. */
  cached: { etag: string; data: T } | null;
  /** Validates `{ok: true, data}` and gives `data`. */
  parseReply: (body: unknown) => Parsed<T>;
  fetch: typeof fetch;
  /** Aborts the attempt (its timeout, the run deadline or the caller). */
  signal: AbortSignal;
  /** Names the abort once `signal` has aborted: `timeout`, `deadline` or `aborted`. */
  describeAbort: () => AgentErrorCode;
  /** Clock for `Retry-After` dates, epoch milliseconds. */
  now: () => number;
  /** Default `MAX_AGENT_BODY_BYTES`. */
  maxBodyBytes?: number;
}

export type AttemptResult<T> =
  | { kind: "fetched"; status: number; data: T; etag: string | null }
  | { kind: "revalidated"; status: 304; data: T; etag: string };

/** Runs one attempt. Resolves with validated data; rejects only with `AgentCallError`. */
export async function attemptCall<T>(options: AttemptOptions<T>): Promise<AttemptResult<T>> {
  const response = await send(options);
  const status = response.status;
  if (status === 304) return await revalidated(options, response);
  if (status !== 200) {
    await discardBody(response);
    throw new AgentCallError(`http_${status}`, `The agent answered HTTP ${status}.`, {
      status,
      retryAfterMs: parseRetryAfter(response.headers.get("Retry-After"), options.now()),
    });
  }
  const data = await readReply(options, response);
  return { kind: "fetched", status, data, etag: response.headers.get("ETag") };
}

/** The attempt's request headers. */
function requestHeaders<T>(options: AttemptOptions<T>): Headers {
  const headers = new Headers({
    "Content-Type": "application/json",
    "Accept": "application/json",
    "X-Idempotency-Key": options.idempotencyKey,
    // A new child span per attempt of the run's trace.
    "traceparent": traceparent(options.traceId),
  });
  if (options.cached) headers.set("If-None-Match", options.cached.etag);
  if (options.serviceKey !== null) {
    // As supabase-js server clients send a key: both headers, so a secret key and a legacy
    // service JWT both reach an agent however it reads them.
    headers.set("apikey", options.serviceKey);
    headers.set("Authorization", `Bearer ${options.serviceKey}`);
  }
  return headers;
}

/** POSTs the request; resolves with the answer's head, whatever its status. */
async function send<T>(options: AttemptOptions<T>): Promise<Response> {
  const { signal } = options;
  const headers = requestHeaders(options);
  try {
    return await raceAbort(
      options.fetch(options.url, { method: "POST", headers, body: options.body, signal }),
      signal,
    );
  } catch (cause) {
    throw failure(options, cause, "The agent could not be reached.");
  }
}

/** A 304: the cached entry renewed, under the answer's ETag if it sent one. */
async function revalidated<T>(
  options: AttemptOptions<T>,
  response: Response,
): Promise<AttemptResult<T>> {
  const status = 304;
  await discardBody(response);
  if (!options.cached) {
    throw new AgentCallError("invalid_payload", "The agent answered 304 to a call without ETag.", {
      status,
    });
  }
  const etag = response.headers.get("ETag") ?? options.cached.etag;
  return { kind: "revalidated", status, data: options.cached.data, etag };
}

/** Reads a 200's body (at most `maxBodyBytes`) and validates it as the reply. */
async function readReply<T>(options: AttemptOptions<T>, response: Response): Promise<T> {
  const status = response.status;
  let text: string;
  try {
    text = await raceAbort(
      readText(response, options.maxBodyBytes ?? MAX_AGENT_BODY_BYTES),
      options.signal,
    );
  } catch (cause) {
    if (cause instanceof AgentCallError) throw cause;
    throw failure(options, cause, "The agent's answer could not be read.", status);
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AgentCallError("invalid_payload", "The agent's answer is not JSON.", {
      status,
      cause,
    });
  }
  const parsed = options.parseReply(json);
  if (!parsed.ok) {
    throw new AgentCallError("invalid_payload", "The agent's answer failed its schema.", {
      status,
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** A transport failure: an abort (named by `describeAbort`) or a network error. */
function failure<T>(
  options: AttemptOptions<T>,
  cause: unknown,
  message: string,
  status: number | null = null,
): AgentCallError {
  if (options.signal.aborted) {
    const code = options.describeAbort();
    const reason = code === "timeout"
      ? "The attempt timed out."
      : code === "deadline"
      ? "The run's deadline passed."
      : "The run was cancelled.";
    return new AgentCallError(code, reason, { status, cause });
  }
  return new AgentCallError("network", message, { status, cause });
}

async function readText(response: Response, maxBytes: number): Promise<string> {
  const bytes = await readAtMost(response.body, maxBytes);
  if (bytes === null) {
    throw new AgentCallError("invalid_payload", `The agent's answer exceeds ${maxBytes} bytes.`, {
      status: response.status,
    });
  }
  return new TextDecoder().decode(bytes);
}

/** Releases a body we will not read. */
async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}
