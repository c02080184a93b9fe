/**
 * What identifies a request under an Idempotency-Key: a SHA-256 of method, route and the
 * canonical body (the JSON value with sorted keys, so whitespace and key order do not matter;
 * an empty body is `{}`, as the handlers read it).
 */
import { canonicalJson } from "../agents/canonical_json.ts";
import { sha256Hex } from "../hex.ts";

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
export function requestHash(method: string, route: string, bytes: Uint8Array): string {
  const head = new TextEncoder().encode(`${method.toUpperCase()}\n${route}\n`);
  const body = canonicalBody(bytes);
  const input = new Uint8Array(head.byteLength + body.byteLength);
  input.set(head);
  input.set(body, head.byteLength);
  return sha256Hex(input);
}
