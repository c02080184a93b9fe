/**
 * Canonical JSON and hashing: the same value always gives the same text (object keys sorted,
 * `undefined` members dropped, as `JSON.stringify` would), so hashes of it make stable ETags and
 * idempotency keys.
 */

/** JSON text of `value` with every object's keys in sorted order. Throws on what JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) => {
    if (member === null || typeof member !== "object" || Array.isArray(member)) return member;
    const entries = Object.entries(member).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries);
  });
}

/** Lowercase hex SHA-256 of the UTF-8 bytes of `text`. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
