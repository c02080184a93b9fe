/**
 * How a request that finds its Idempotency-Key taken is answered: 422 (another request), 409
 * (still in flight), or the stored response replayed.
 */
import { ApiError } from "../errors.ts";
import { JSON_CONTENT_TYPE } from "./respond.ts";

export const REPLAYED_HEADER = "Idempotent-Replayed";

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
