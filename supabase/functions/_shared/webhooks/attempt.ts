/**
 * One HTTP attempt of a webhook delivery: the URL rules again (a name may resolve elsewhere
 * by now), the signed POST with redirects never followed (a 3xx fails the attempt: following
 * it would reach wherever the receiver points, past the rules), a timeout combined with the
 * caller's stop signal, and at most `EXCERPT_BYTES` of the response read for the log.
 */
import type { AttemptOutcome } from "./outbox.ts";
import { signDelivery } from "./signing.ts";
import { checkWebhookUrl, type Resolver } from "./url_rules.ts";

/** Bytes of a response body read for its excerpt; the rest is discarded unread. */
export const EXCERPT_BYTES = 2048;
/** Characters of the excerpt kept. */
export const EXCERPT_CHARS = 500;

export interface AttemptRequest {
  url: string;
  secret: string;
  webhookId: string;
  /** The JSON body, sent exactly as signed. */
  body: string;
}

export interface AttemptOptions {
  /** Inside the local stack: http and loopback receivers allowed (url_rules.ts). */
  local: boolean;
  /** @default 10_000 */
  timeoutMs?: number;
  /** Aborts the attempt (the stack is stopping); the caller then records nothing. */
  signal?: AbortSignal;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default denoResolver */
  resolve?: Resolver;
}

/** Reads at most `EXCERPT_BYTES` of the body, then cancels the rest. */
export async function readExcerpt(response: Response): Promise<string | null> {
  if (response.body === null) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) bytes.set(chunk, (at += chunk.byteLength) - chunk.byteLength);
  const text = new TextDecoder().decode(bytes.subarray(0, EXCERPT_BYTES));
  // Postgres text cannot hold NUL, and a log has no use for control characters: a receiver
  // answering them must not make its attempt unrecordable (and so retried at once, forever).
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "\ufffd")
    .slice(0, EXCERPT_CHARS);
}

function failed(started: number, error: string, status: number | null = null): AttemptOutcome {
  const latencyMs = Math.round(performance.now() - started);
  return { ok: false, status, latencyMs, excerpt: null, error };
}

/** Sends one attempt. Throws only when `signal` aborted it. */
export async function sendAttempt(
  request: AttemptRequest,
  options: AttemptOptions,
): Promise<AttemptOutcome> {
  const started = performance.now();
  const verdict = await checkWebhookUrl(request.url, options);
  if (!verdict.ok) return failed(started, `URL refused: ${verdict.reason}`);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const headers = {
    "content-type": "application/json",
    "user-agent": "wisely-webhooks/1",
    ...signDelivery(request.secret, request.webhookId, new Date(), request.body),
  };
  let response: Response;
  let excerpt: string | null;
  try {
    response = await (options.fetch ?? fetch)(verdict.url, {
      method: "POST",
      headers,
      body: request.body,
      redirect: "manual",
      signal,
    });
    excerpt = await readExcerpt(response);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return failed(started, timeout.aborted ? "timed out" : "network error (no response)");
  }
  const latencyMs = Math.round(performance.now() - started);
  const { status } = response;
  const ok = status >= 200 && status < 300;
  const error = ok
    ? null
    : status >= 300 && status < 400
    ? `redirect (${status}) not followed`
    : `HTTP ${status}`;
  // An opaque redirect (status 0, as browsers' fetch gives) has no status to log.
  return { ok, status: status >= 100 ? status : null, latencyMs, excerpt, error };
}
