/**
 * Deadlines as abort signals (spec 6.3): one run deadline, propagated to every attempt and
 * every wait. Built on `AbortSignal.timeout` and `AbortSignal.any`, so nothing needs disposing.
 * Waits reject with the signal's `reason` (a `TimeoutError` or the caller's abort reason), which
 * callers keep as the `cause` of their own errors.
 */

/** A signal that aborts after `ms` milliseconds, or earlier when `parent` aborts. */
export function deadlineSignal(ms: number, parent?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(Math.max(0, ms));
  return parent ? AbortSignal.any([timeout, parent]) : timeout;
}

/** Milliseconds left until `deadlineAt` (never negative). Both times on the same clock. */
export function remainingMs(deadlineAt: number, now: number): number {
  return Math.max(0, deadlineAt - now);
}

export interface AttemptSignalOptions {
  /** Ceiling for one attempt, in milliseconds. */
  attemptTimeoutMs: number;
  /** When the run must have answered, on the clock of `now`. */
  deadlineAt: number;
  /** The current time on the same clock. */
  now: number;
  /** The run's signal (deadline and caller cancellation). */
  signal: AbortSignal;
}

export interface AttemptSignal {
  signal: AbortSignal;
  /** The effective budget of the attempt: min(attemptTimeoutMs, remaining). */
  timeoutMs: number;
  /**
   * True when the attempt has its own, shorter timer; false when the run deadline is the
   * binding limit (then an abort of `signal` is the run's deadline, not an attempt timeout).
   */
  hasOwnTimeout: boolean;
}

/**
 * The signal for one attempt: it aborts after min(attemptTimeoutMs, remaining deadline) or when
 * the run's signal aborts. When the deadline is the sooner limit no second timer is started, so
 * a deadline is never misreported as an attempt timeout.
 */
export function attemptSignal(options: AttemptSignalOptions): AttemptSignal {
  const remaining = remainingMs(options.deadlineAt, options.now);
  const attemptTimeoutMs = Math.max(0, options.attemptTimeoutMs);
  if (attemptTimeoutMs < remaining) {
    return {
      signal: AbortSignal.any([AbortSignal.timeout(attemptTimeoutMs), options.signal]),
      timeoutMs: attemptTimeoutMs,
      hasOwnTimeout: true,
    };
  }
  return { signal: options.signal, timeoutMs: remaining, hasOwnTimeout: false };
}

/**
 * Settles like `promise`, or rejects with `signal.reason` as soon as `signal` aborts, whichever
 * comes first. The work behind `promise` is not stopped: pass the same signal to it too.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // settled later by nobody: do not let it surface as unhandled
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Resolves after `ms` milliseconds; rejects with `signal.reason` (and clears the timer) on abort. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Resolves when `signal` aborts. Used to hold a request open until its client goes away. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
