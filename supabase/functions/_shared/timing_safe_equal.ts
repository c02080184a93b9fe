/**
 * Constant-time string comparison for API keys (spec 5.1: secret keys are compared in constant
 * time). The time depends only on the two lengths, never on where the strings first differ, so a
 * caller cannot recover a key byte by byte from response times. Synchronous on purpose: key
 * checks sit on every request's path and in the local stack's synchronous key classification.
 */

const encoder = new TextEncoder();

/** True when `a` and `b` are the same string; the time taken does not depend on their bytes. */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  }
  return diff === 0;
}

/**
 * True when `key` equals one of `candidates`. Every candidate is compared, so the time does not
 * say which one matched, nor whether an earlier one did.
 */
export function matchesAnyKey(key: string, candidates: readonly string[]): boolean {
  let found = false;
  for (const candidate of candidates) found = timingSafeEqual(key, candidate) || found;
  return found;
}
