/**
 * The secret of a calendar feed URL. 32 random bytes (256 bits) as base64url, so guessing one
 * is hopeless even for an unauthenticated route without a rate limit. Only its SHA-256 is
 * stored: a feed request is looked up by the hash of the key it presents (one index probe), so
 * no secret is ever compared as a string and a database copy holds no working URL.
 */
import { toBase64url } from "../base64url.ts";

/** Random bytes in a key. */
export const KEY_BYTES = 32;

/** base64url without padding of KEY_BYTES bytes: 43 characters of `A–Z a–z 0–9 - _`. */
const KEY_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The SHA-256 of a key's text: what `wisely.calendar_links.key_hash` holds. */
export async function hashKey(key: string): Promise<Uint8Array> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return new Uint8Array(digest);
}

/** A new key and its hash. */
export async function newKey(): Promise<{ key: string; hash: Uint8Array }> {
  const key = toBase64url(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
  return { key, hash: await hashKey(key) };
}

/**
 * True when `text` has the shape of a key this module makes. Anything else cannot match a
 * stored hash, so it is refused without a query; the answer is the same 404 either way.
 */
export function isKeyShaped(text: string | null): text is string {
  return text !== null && KEY_SHAPE.test(text);
}
