/**
 * Remembers tokens that passed verification, so the same bearer (a user's session token, the
 * orchestrator's service token on every agent call) is not HMAC-verified on every request:
 * verification was 10–15 % of the CPU under load. Only exact token strings that verified are
 * kept, never longer than their `exp`, and at most `maxAgeMs` so a rotated key's tokens do not
 * live on much longer than the JWKS cache would keep that key.
 */

export interface VerifiedTokenCacheOptions {
  /** Tokens kept; the least recently used goes first. Default 2048. */
  maxEntries?: number;
  /** Longest a verification is reused, in ms. Default 5 minutes. */
  maxAgeMs?: number;
  /** Epoch milliseconds. Default `Date.now`. */
  now?: () => number;
}

/**
 * Wraps `verify` with the cache. `expiresAt` gives a result's `exp` in epoch seconds; a result
 * without one is not cached. Failures are never cached.
 */
export function withVerifiedTokenCache<R>(
  verify: (token: string) => Promise<R>,
  expiresAt: (result: R) => number | undefined,
  options: VerifiedTokenCacheOptions = {},
): (token: string) => Promise<R> {
  const maxEntries = options.maxEntries ?? 2048;
  const maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { result: R; until: number }>();

  return async (token) => {
    const hit = entries.get(token);
    if (hit) {
      entries.delete(token);
      // jose treats `exp <= now` as expired; `until` is exclusive in the same way.
      if (now() < hit.until) {
        entries.set(token, hit);
        return hit.result;
      }
    }
    const result = await verify(token);
    const exp = expiresAt(result);
    if (exp !== undefined) {
      entries.set(token, { result, until: Math.min(exp * 1000, now() + maxAgeMs) });
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
    }
    return result;
  };
}
