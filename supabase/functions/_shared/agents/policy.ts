/**
 * The seam where resilience policies wrap one agent attempt. The shape is cockatiel's
 * `IPolicy.execute`, so cockatiel's retry, circuit breaker, bulkhead and `wrap(...)` can be
 * used as a `CallPolicy` as they are. Policies see failures as thrown `AgentCallError`s.
 */
import type {
  Event,
  IDefaultPolicyContext,
  IFailureEvent,
  IPolicy,
  ISuccessEvent,
} from "cockatiel";

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

/** An event nobody is told of: our policies report through signals and metrics instead. */
const silent = <T>(): Event<T> => () => ({ dispose: () => {} });

/**
 * A `CallPolicy` as cockatiel's `IPolicy`, so that cockatiel's `wrap` composes ours: `IPolicy`
 * also asks for `onSuccess`/`onFailure` events (silent here) and a type-only `_altReturn`.
 */
class CockatielPolicy implements IPolicy<IDefaultPolicyContext, never> {
  /** Type-only in cockatiel too ("will not actually be defined"): never set. */
  declare readonly _altReturn: never;
  readonly onSuccess: Event<ISuccessEvent> = silent();
  readonly onFailure: Event<IFailureEvent> = silent();

  constructor(private readonly policy: CallPolicy) {}

  execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    // `wrap` always passes the outer policy's signal; the default only completes the type.
    signal: AbortSignal = new AbortController().signal,
  ): Promise<T> {
    return this.policy.execute(async (context) => await fn({ signal: context.signal }), signal);
  }
}

/** `policy` as a cockatiel `IPolicy`, for cockatiel's `wrap`. */
export function asCockatiel(policy: CallPolicy): IPolicy<IDefaultPolicyContext, never> {
  return new CockatielPolicy(policy);
}
