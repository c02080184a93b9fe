/**
 * Backoff between retries of one agent call (spec 6.3: 1 s, 2 s, 4 s with jitter).
 *
 * Jitter scheme: proportional ("±jitter around the nominal delay"). The nominal delay
 * `baseMs · factor^(retry − 1)`, capped at `maxMs`, is multiplied by a uniform factor in
 * `[1 − jitter, 1 + jitter)`. Unlike full jitter (uniform in `[0, nominal)`) this keeps the
 * 1/2/4 s shape the spec promises, and unlike equal jitter it never waits less than
 * `(1 − jitter)` of the nominal delay; ±20 % is still enough to spread the retries of runs that
 * failed together. The cap is applied before the jitter so that delays at the cap stay spread too:
 * a delay is at most `maxMs · (1 + jitter)`.
 */

export interface BackoffOptions {
  /** Nominal delay before the first retry, in milliseconds. Default 1000. */
  baseMs?: number;
  /** Growth per retry. Default 2. */
  factor?: number;
  /** Cap on the nominal delay, in milliseconds (before jitter). Default 8000. */
  maxMs?: number;
  /** Relative spread, in [0, 1): 0.2 means ±20 %. Default 0.2. */
  jitter?: number;
  /** Uniform in [0, 1). Default `Math.random`. */
  random?: () => number;
}

export const DEFAULT_BACKOFF_BASE_MS = 1_000;
export const DEFAULT_BACKOFF_FACTOR = 2;
export const DEFAULT_BACKOFF_MAX_MS = 8_000;
export const DEFAULT_BACKOFF_JITTER = 0.2;

/**
 * The delay before retry number `retry` (1-based: 1 is the first retry), in whole milliseconds.
 * With the defaults: about 1000, 2000, 4000, 8000, 8000, ... each within ±20 %.
 */
export function backoffDelayMs(retry: number, options: BackoffOptions = {}): number {
  const baseMs = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const factor = options.factor ?? DEFAULT_BACKOFF_FACTOR;
  const maxMs = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const jitter = options.jitter ?? DEFAULT_BACKOFF_JITTER;
  if (!Number.isInteger(retry) || retry < 1) {
    throw new RangeError(`retry must be an integer ≥ 1, got ${retry}.`);
  }
  if (!(baseMs >= 0) || !(factor >= 1) || !(maxMs >= 0) || !(jitter >= 0 && jitter < 1)) {
    throw new RangeError("backoff needs baseMs ≥ 0, factor ≥ 1, maxMs ≥ 0 and 0 ≤ jitter < 1.");
  }
  // factor ** n overflows to Infinity for large n; the cap absorbs it.
  const nominal = Math.min(maxMs, baseMs * factor ** (retry - 1));
  // Clamped so a `random` that returns 1 (or slightly outside [0, 1)) cannot escape the bounds.
  const unit = Math.min(1, Math.max(0, (options.random ?? Math.random)()));
  return Math.round(nominal * (1 + jitter * (2 * unit - 1)));
}
