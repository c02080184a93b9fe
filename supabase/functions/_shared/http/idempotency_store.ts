/**
 * `Idempotency-Key` on POST routes (spec 5.7; IETF httpapi-idempotency-key-header, with
 * Stripe's semantics), per user, stored in `wisely.idempotency_keys`:
 *
 * - The key is the header's value as sent (idempotency_key.ts); the request is identified by
 *   a hash of method, route and canonical body (request_hash.ts).
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
import type { KeyedRequest } from "./idempotency_key.ts";
import { isJsonEssence, mediaTypeEssence } from "./media_type.ts";
import { accountMissing, BUCKET_DEFAULTS, type RateBucket } from "./rate_limit.ts";
import type { SseEvent } from "./sse_tail.ts";

/**
 * Statuses whose response is stored; the others release the key (see the top). A 202 (a
 * provisional day.run, a tick still running) says the work is not finished: a retry with the
 * same key must get the finished answer, not that one again. A 408 is the upload's fault.
 */
export function isStorable(status: number): boolean {
  if (status >= 500 || status < 200 || status === 202) return false;
  return ![400, 401, 403, 408, 413, 415, 429].includes(status);
}

export function isEventStream(response: Response): boolean {
  return (response.headers.get("content-type") ?? "").toLowerCase().startsWith(
    "text/event-stream",
  );
}

export function isJsonResponse(response: Response): boolean {
  return isJsonEssence(mediaTypeEssence(response.headers.get("content-type")));
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
