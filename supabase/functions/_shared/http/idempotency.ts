/**
 * `Idempotency-Key` on POST routes (spec 5.7; IETF httpapi-idempotency-key-header, with
 * Stripe's semantics), per user, stored in `wisely.idempotency_keys`:
 *
 * - The key is the header's value as sent: 1–255 printable ASCII characters, else 400.
 * - The request is identified by a SHA-256 of method, route and the canonical body (the JSON
 *   value with sorted keys, so whitespace and key order do not matter; an empty body is `{}`,
 *   as the handlers read it).
 * - First use: the key is claimed `in_flight` in one autocommit statement (visible to every
 *   isolate at once), the handler runs, and its response is stored for 24 h from the claim.
 *   Stored: 2xx and the handler's own 4xx outcomes (404, 409 NO_ACTIVE_INTENT). Not stored, the
 *   key is released for a retry: 400, 401, 403, 413, 415, 429 and every 5xx. An SSE response is
 *   stored as the JSON of its last event (the `plan`), with the stream's status.
 * - Same key, same request, stored: the stored status and body, byte for byte, with
 *   `Idempotent-Replayed: true` (always JSON, also for an SSE request).
 * - Same key, another request: 422 IDEMPOTENCY_KEY_REUSED. Still in flight: 409
 *   IDEMPOTENCY_KEY_IN_USE. An in-flight key older than `idempotency.in_flight_timeout_s`
 *   (default 600 s, beyond any edge function's 400 s wall clock) is abandoned — its isolate
 *   died — and the next request claims it anew. A key past its expiry is claimed anew too.
 */
import type { Sql } from "../db.ts";
import { ApiError, invalidRequest } from "../errors.ts";
import { canonicalJson } from "../agents/canonical_json.ts";
import { sha256Hex } from "../hex.ts";
import { isJsonEssence, mediaTypeEssence } from "./media_type.ts";
import { MAX_BODY_BYTES, readLimited } from "./body.ts";
import type { RateBucket } from "./rate_limit.ts";
import { accountMissing, BUCKET_DEFAULTS } from "./rate_limit.ts";
import { JSON_CONTENT_TYPE } from "./respond.ts";

export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
export const REPLAYED_HEADER = "Idempotent-Replayed";

/** 1–255 characters from space (0x20) to tilde (0x7e). */
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** The request's key, null when it has none; 400 when the header is malformed. */
export function readIdempotencyKey(headers: Headers): string | null {
  const value = headers.get(IDEMPOTENCY_KEY_HEADER);
  if (value === null) return null;
  if (!KEY_PATTERN.test(value)) {
    throw invalidRequest("The Idempotency-Key header is not valid.", [{
      path: ["headers", "idempotency-key"],
      message: "Use 1 to 255 printable ASCII characters.",
    }]);
  }
  return value;
}

/**
 * Reads the whole body (413 past `maxBytes`, without buffering more) and returns it with a
 * request that carries the same bytes, for the handler to read again.
 */
export async function bufferBody(
  req: Request,
  maxBytes = MAX_BODY_BYTES,
): Promise<{ req: Request; bytes: Uint8Array }> {
  const bytes = await readLimited(req, maxBytes);
  const copy = new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body: bytes.byteLength > 0 ? bytes : null,
    signal: req.signal,
  });
  return { req: copy, bytes };
}

/**
 * What a body means to the handlers: canonical JSON when it is JSON (an empty body reads as
 * `{}`), else the raw bytes, which the handler will refuse anyway.
 */
function canonicalBody(bytes: Uint8Array): Uint8Array {
  const encoder = new TextEncoder();
  if (bytes.byteLength === 0) return encoder.encode("json:{}");
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return encoder.encode(`json:${canonicalJson(JSON.parse(text))}`);
  } catch {
    const raw = new Uint8Array(4 + bytes.byteLength);
    raw.set(encoder.encode("raw:"));
    raw.set(bytes, 4);
    return raw;
  }
}

/** Lowercase hex SHA-256 of method, route and canonical body. */
export async function requestHash(
  method: string,
  route: string,
  bytes: Uint8Array,
): Promise<string> {
  const head = new TextEncoder().encode(`${method.toUpperCase()}\n${route}\n`);
  const body = canonicalBody(bytes);
  const input = new Uint8Array(head.byteLength + body.byteLength);
  input.set(head);
  input.set(body, head.byteLength);
  return await sha256Hex(input);
}

/**
 * Statuses whose response is stored; the others release the key (see the top). A 202 (a
 * provisional day.run, a tick still running) says the work is not finished: a retry with the
 * same key must get the finished answer, not that one again. A 408 is the upload's fault.
 */
export function isStorable(status: number): boolean {
  if (status >= 500 || status < 200 || status === 202) return false;
  return ![400, 401, 403, 408, 413, 415, 429].includes(status);
}

export const keyReused = () =>
  new ApiError(
    422,
    "IDEMPOTENCY_KEY_REUSED",
    "This Idempotency-Key was used with a different request; use a new key.",
  );

export const keyInUse = () =>
  new ApiError(
    409,
    "IDEMPOTENCY_KEY_IN_USE",
    "A request with this Idempotency-Key is still running; retry shortly.",
    { headers: { "Retry-After": "1" } },
  );

/**
 * Thrown by the gate when the key's response is stored: the pipeline answers with it and the
 * handler goes no further. Not an ApiError, so no handler mistakes it for its own failure.
 */
export class IdempotentReplay extends Error {
  constructor(readonly status: number, readonly body: string) {
    super("idempotent replay");
    this.name = "IdempotentReplay";
  }

  response(): Response {
    return new Response(this.body, {
      status: this.status,
      headers: { "Content-Type": JSON_CONTENT_TYPE, [REPLAYED_HEADER]: "true" },
    });
  }
}

export interface KeyedRequest {
  key: string;
  route: string;
  hash: string;
}

export type ClaimOutcome =
  | { kind: "claimed"; claim: string }
  | { kind: "rate_limited"; retryAfterS: number }
  | { kind: "reused" }
  | { kind: "in_use" }
  | { kind: "replay"; status: number; body: string };

interface ClaimRow {
  outcome: ClaimOutcome["kind"];
  retry_after_s: number;
  stored_status: number | null;
  stored_body: string | null;
  claim: string | null;
}

/**
 * One autocommit statement, as the user: takes the rate-limit token (when `bucket` is given),
 * then claims the key or reports what holds it.
 */
export async function claimKey(
  sql: Sql,
  claimsJson: string,
  request: KeyedRequest,
  bucket: RateBucket | null,
): Promise<ClaimOutcome> {
  const rate = bucket === null ? null : BUCKET_DEFAULTS[bucket];
  let row: ClaimRow;
  try {
    [row] = await sql<ClaimRow[]>`
      select outcome, retry_after_s, stored_status, stored_body, claim
      from wisely.idempotency_claim(${claimsJson}, ${request.key}, ${request.route},
        ${request.hash}, ${bucket}, ${rate?.burst ?? null}, ${rate?.refill_per_s ?? null})
    `;
  } catch (error) {
    throw accountMissing(error);
  }
  switch (row.outcome) {
    case "claimed":
      return { kind: "claimed", claim: row.claim ?? "" };
    case "rate_limited":
      return { kind: "rate_limited", retryAfterS: row.retry_after_s };
    case "replay":
      return { kind: "replay", status: row.stored_status ?? 200, body: row.stored_body ?? "" };
    default:
      return { kind: row.outcome };
  }
}

/**
 * Stores the response of a claimed key (`stored`), or releases the key (null). False when the
 * claim was no longer ours (it was abandoned and claimed again).
 */
export async function finishKey(
  sql: Sql,
  claimsJson: string,
  key: string,
  claim: string,
  stored: { status: number; body: string } | null,
): Promise<boolean> {
  const [row] = await sql<{ ok: boolean }[]>`
    select wisely.idempotency_finish(${claimsJson}, ${key}, ${claim},
      ${stored?.status ?? null}, ${stored?.body ?? null}) as ok
  `;
  return row.ok;
}

export function isEventStream(response: Response): boolean {
  return (response.headers.get("content-type") ?? "").toLowerCase().startsWith(
    "text/event-stream",
  );
}

export function isJsonResponse(response: Response): boolean {
  return isJsonEssence(mediaTypeEssence(response.headers.get("content-type")));
}

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Follows a text/event-stream and keeps its last complete event (the one a stored SSE
 * response is made of). Refuses to hold an event larger than `maxEventChars`.
 */
export class SseTail {
  #buffer = "";
  #last: SseEvent | null = null;
  #overflow = false;

  constructor(readonly maxEventChars = 1024 * 1024) {}

  push(text: string): void {
    if (this.#overflow) return;
    this.#buffer += text.replaceAll("\r\n", "\n").replaceAll("\r", "\n");
    let end: number;
    while ((end = this.#buffer.indexOf("\n\n")) !== -1) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      this.#take(block);
    }
    if (this.#buffer.length > this.maxEventChars) this.#overflow = true;
  }

  #take(block: string): void {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length > 0) this.#last = { event, data: data.join("\n") };
  }

  /** The last complete event, or null (none, or one was too large to follow). */
  last(): SseEvent | null {
    return this.#overflow ? null : this.#last;
  }
}

/** The JSON body an SSE response is stored as: its last event's data, unless that is an error. */
export function storedSseBody(event: SseEvent | null): string | null {
  if (event === null || event.event === "error") return null;
  try {
    JSON.parse(event.data);
    return event.data;
  } catch {
    return null;
  }
}
