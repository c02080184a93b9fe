/**
 * The seam where resilience policies wrap one agent attempt. The shape is cockatiel's
 * `IPolicy.execute`, so cockatiel's retry, circuit breaker, bulkhead and `wrap(...)` can be
 * used as a `CallPolicy` as they are. Policies see failures as thrown `AgentCallError`s.
 */

export interface CallPolicyContext {
  /** Aborts when the policy (or the run behind it) gives up; pass it on to the attempt. */
  readonly signal: AbortSignal;
}

export interface CallPolicy {
  execute<T>(fn: (context: CallPolicyContext) => Promise<T>, signal: AbortSignal): Promise<T>;
}

/** No retries, no breaker: run the attempt once. The default until those policies exist. */
export const singleAttempt: CallPolicy = {
  execute: (fn, signal) => fn({ signal }),
};
