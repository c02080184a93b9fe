/** `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date. */

/**
 * The delay `Retry-After` asks for, in milliseconds from `now` (epoch ms), or null when the
 * header is absent or unreadable. A date in the past gives 0.
 */
export function parseRetryAfter(value: string | null, now: number): number | null {
  const text = value?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return null; // not a number, not a date
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}
