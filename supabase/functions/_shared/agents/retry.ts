/**
 * The retry policy of one agent call (spec 6.3).
 *
 * Which failures are retried, and how long to wait first:
 * - `429` and `503`: as long as `Retry-After` asks (seconds or HTTP date); without the header,
 *   the normal backoff;
 * - other `5xx`, `network` and `timeout` (the attempt's own timer): the backoff (1 s, 2 s, 4 s
 *   with jitter);
 * - everything else never: other `4xx` and statuses, `invalid_payload` (the agent answered, just
 *   wrongly; asking again gives the same answer), `deadline` and `aborted` (the run is over),
 *   `circuit_open` and `bulkhead_full` (we decided not to call), `unexpected` (a bug).
 *
 * A retry also needs: fewer than `maxRetries` retries so far, the agent's retry budget, and a
 * wait that ends before the run's deadline. When any is missing the call stops at once with the
 * last failure, and the client serves the stale cache or the fallback without waiting.
 *
 * Why not cockatiel's `retry`: its backoff is a schedule computed before the wait, and its only
 * way to stop is running out of attempts. Here the wait depends on the failure (`Retry-After`),
 * must be checked against the run's remaining deadline, and may end the call immediately instead
 * of waiting; plus the budget is consulted per retry. Writing that as cockatiel backoff generators
 * and filters would hide those rules in callbacks; as a loop they read as the spec does.
 */
import { AgentCallError } from "./call_error.ts";
import { sleep as defaultSleep } from "./deadline.ts";
import type { CallPolicy } from "./policy.ts";
import type { RetryBudget } from "./retry_budget.ts";

export interface RetryPolicyOptions {
  /** Retries after the first attempt (spec: 3). */
  maxRetries: number;
  /** Delay before retry number `retry` (1-based), e.g. `backoffDelayMs`. */
  backoff: (retry: number) => number;
  /** The agent's retry budget; every attempt's outcome is recorded in it. */
  budget: RetryBudget;
  /**
   * When the run must have answered, on the clock of `now`. A number, not a function: a run's
   * deadline is fixed when it starts, and policies are built per run.
   */
  deadlineAt: number;
  /** Clock, milliseconds (the same one `deadlineAt` is on). */
  now: () => number;
  /**
   * Whether another attempt could go through now (e.g. the breaker is not open). Asked before
   * waiting, so a call the breaker will refuse ends now rather than after the wait. Default:
   * always.
   */
  canAttempt?: () => boolean;
  /** Abortable wait; rejects with the signal's reason. Default `sleep` from `deadline.ts`. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** How a failure is retried: after `Retry-After`, after the backoff, or not at all. */
export type RetryClass = "retry_after" | "backoff" | "never";

/** The retry class of a failure thrown by an attempt (see the module comment). */
export function retryClass(error: unknown): RetryClass {
  if (!(error instanceof AgentCallError)) return "never";
  if (error.code === "network" || error.code === "timeout") return "backoff";
  if (!error.code.startsWith("http_") || error.status === null) return "never";
  if (error.status === 429 || error.status === 503) return "retry_after";
  return error.status >= 500 && error.status <= 599 ? "backoff" : "never";
}

/** True for a refusal by our own breaker or bulkhead: no attempt was made. */
function isRefusal(error: unknown): boolean {
  return error instanceof AgentCallError &&
    (error.code === "circuit_open" || error.code === "bulkhead_full");
}

export function retryPolicy(options: RetryPolicyOptions): CallPolicy {
  const { maxRetries, backoff, budget, deadlineAt, now } = options;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new RangeError(`maxRetries must be an integer ≥ 0, got ${maxRetries}.`);
  }
  const canAttempt = options.canAttempt ?? (() => true);
  const sleep = options.sleep ?? defaultSleep;

  return {
    async execute(fn, signal) {
      let previous: unknown = null;
      for (let retry = 0;; retry++) {
        let error: unknown;
        try {
          const value = await fn({ signal });
          budget.recordSuccess();
          return value;
        } catch (caught) {
          error = caught;
        }
        // A retry the breaker (opened meanwhile) refused: the call failed with the agent's own
        // last failure, which says more than "circuit open".
        if (retry > 0 && isRefusal(error)) throw previous;
        const kind = retryClass(error);
        if (kind === "never") throw error;
        budget.recordFailure();
        if (retry >= maxRetries || !budget.canRetry() || !canAttempt()) throw error;
        const waitMs = kind === "retry_after" && error instanceof AgentCallError &&
            error.retryAfterMs !== null
          ? error.retryAfterMs
          : backoff(retry + 1);
        // The wait must end before the deadline, or the retry could not even start: stop now
        // and let the client answer from the cache or the fallback.
        if (!(now() + waitMs < deadlineAt)) throw error;
        await sleep(waitMs, signal);
        previous = error;
      }
    },
  };
}
