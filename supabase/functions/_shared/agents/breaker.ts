/**
 * A circuit breaker per agent (spec 6.3): after `threshold` consecutive failures the circuit opens
 * for `openMs` (calls are skipped and served from the cache), then exactly one probe goes
 * through; its success closes the circuit, anything else re-opens it for another `openMs`.
 *
 * Built on cockatiel's `circuitBreaker` with a `ConsecutiveBreaker`, adapted in three ways:
 * - A skipped call fails with `AgentCallError("circuit_open")` (cockatiel's `BrokenCircuitError`
 *   and `IsolatedCircuitError` kept as `cause`), before any attempt: the client reports 0 attempts.
 * - While the probe is in flight, other calls are skipped at once. (cockatiel would make them
 *   wait for the probe's verdict, which can take the whole run deadline.)
 * - The open period runs on the injected clock `now` (cockatiel reads `Date.now()`), see
 *   `OpenPeriod`.
 *
 * What counts as a failure (a sample against the agent):
 * - the agent's fault: `5xx`, `429`, `timeout` (the attempt's own timer), `network`,
 *   `invalid_payload`;
 * - a `deadline` cut after the attempt had waited on the agent for `slowCallMs` or more: with the
 *   default settings the run deadline (12 s) is shorter than the attempt timeout (15 s), so an
 *   agent that hangs is only ever cut by the deadline, and would otherwise never open its circuit.
 *   A shorter attempt cut by the deadline was cut because our own retries and waits used the time:
 *   not a sample.
 * Neither success nor failure (the consecutive count is kept): other `4xx` and statuses (the
 * agent is up and answering), `aborted` (our caller left), `unexpected` (our bug).
 * In half-open, only a success closes the circuit: a probe that ends any other way re-opens it.
 */
import {
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  isBrokenCircuitError,
} from "cockatiel";
import { AgentCallError } from "./call_error.ts";
import type { CallPolicy, CallPolicyContext } from "./policy.ts";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Consecutive failures that open the circuit (spec: 5). */
  threshold: number;
  /** How long the circuit stays open before the probe, in milliseconds (spec: 30 000). */
  openMs: number;
  /** Clock, milliseconds. Default `Date.now`. */
  now?: () => number;
  /** A `deadline` cut of an attempt at least this old is a failure. Default 5000. */
  slowCallMs?: number;
}

/** Default `BreakerOptions.slowCallMs`: far beyond what a healthy agent takes (spec 10). */
export const DEFAULT_SLOW_CALL_MS = 5_000;

export interface AgentBreaker extends CallPolicy {
  readonly state: BreakerState;
}

/** True for the failures that are the agent's fault (see the module comment). */
export function isAgentFault(error: unknown): boolean {
  if (!(error instanceof AgentCallError)) return false;
  if (error.code === "timeout" || error.code === "network" || error.code === "invalid_payload") {
    return true;
  }
  if (!error.code.startsWith("http_") || error.status === null) return false;
  return error.status === 429 || (error.status >= 500 && error.status <= 599);
}

export function agentBreaker(options: BreakerOptions): AgentBreaker {
  const now = options.now ?? Date.now;
  const slowCallMs = options.slowCallMs ?? DEFAULT_SLOW_CALL_MS;
  if (!Number.isInteger(options.threshold) || options.threshold < 1 || !(options.openMs >= 0)) {
    throw new RangeError("A breaker needs an integer threshold ≥ 1 and openMs ≥ 0.");
  }
  const slowCuts = new WeakSet<AgentCallError>();
  const openPeriod: IBackoffFactory<unknown> = { next: () => new OpenPeriod(options.openMs, now) };
  const policy = circuitBreaker(
    handleWhen((error) =>
      policy.state === CircuitState.HalfOpen || isAgentFault(error) ||
      (error instanceof AgentCallError && slowCuts.has(error))
    ),
    { breaker: new ConsecutiveBreaker(options.threshold), halfOpenAfter: openPeriod },
  );

  /** Runs one attempt, noting a `deadline` cut of a slow one. */
  async function sample<T>(
    fn: (context: CallPolicyContext) => Promise<T>,
    context: CallPolicyContext,
  ): Promise<T> {
    const startedAt = now();
    try {
      return await fn(context);
    } catch (error) {
      if (
        error instanceof AgentCallError && error.code === "deadline" &&
        now() - startedAt >= slowCallMs
      ) slowCuts.add(error);
      throw error;
    }
  }

  return {
    get state(): BreakerState {
      switch (policy.state) {
        case CircuitState.Closed:
          return "closed";
        case CircuitState.HalfOpen:
          return "half-open";
        default:
          return "open";
      }
    },
    async execute(fn, signal) {
      if (policy.state === CircuitState.HalfOpen) throw circuitOpen("Its probe is in flight.");
      try {
        return await policy.execute((context) => sample(fn, context), signal);
      } catch (error) {
        if (isBrokenCircuitError(error)) throw circuitOpen("It failed repeatedly.", error);
        throw error;
      }
    },
  };
}

function circuitOpen(why: string, cause?: unknown): AgentCallError {
  return new AgentCallError("circuit_open", `The agent's circuit is open. ${why}`, { cause });
}

/**
 * The open period, measured on the clock `now` although cockatiel measures it with `Date.now()`:
 * cockatiel keeps the circuit open while `Date.now() - openedAt < duration`, reading `duration`
 * at each call, so `duration` is reported as `openMs` shifted by how far `Date.now()` has moved
 * relative to `now` since the circuit opened. With `now = Date.now` it is simply `openMs`.
 */
class OpenPeriod implements IBackoff<unknown> {
  readonly #openMs: number;
  readonly #now: () => number;
  readonly #openedAt: number;
  readonly #openedAtWall = Date.now();

  constructor(openMs: number, now: () => number) {
    this.#openMs = openMs;
    this.#now = now;
    this.#openedAt = now();
  }

  get duration(): number {
    return this.#openMs - (this.#now() - this.#openedAt) + (Date.now() - this.#openedAtWall);
  }

  next(): OpenPeriod {
    return new OpenPeriod(this.#openMs, this.#now);
  }
}
