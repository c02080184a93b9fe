/**
 * The `Idempotency-Key` header (spec 5.7; IETF httpapi-idempotency-key-header): its value as
 * sent, 1–255 printable ASCII characters, else 400. What a key does is in idempotency_store.ts.
 */
import { invalidRequest } from "../errors.ts";

export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";

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

/** A request that carries a key: the key, the route it was sent to, its request hash. */
export interface KeyedRequest {
  key: string;
  route: string;
  hash: string;
}
