/**
 * Canonical JSON: the same value always gives the same text (object keys sorted, `undefined`
 * members dropped, as `JSON.stringify` would), so its hashes (hex.ts) make stable ETags and
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
