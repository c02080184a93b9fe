/**
 * A circuit breaker per agent (spec 6.3): after `threshold` consecutive failures the circuit opens
 * for `openMs` (calls are skipped and served from the cache), then exactly one probe goes
 * through; its success closes the circuit, anything else re-opens it for another `openMs`.
 *
 * A small state machine of its own (closed → open → half-open → closed or open), so that:
 * - A skipped call fails with `AgentCallError("circuit_open")` before any attempt: the client
 *   reports 0 attempts. While open, the failure that opened the circuit is its `cause`.
 * - While the probe is in flight, other calls are skipped at once (rather than made to wait for
 *   the probe's verdict, which can take the whole run deadline).
 * - Every time is read from the injected clock `now`, and only from it: the open period, and how
 *   long an attempt waited. (cockatiel's breaker reads `Date.now()`, which a fake clock in tests
 *   cannot move, and which the run deadlines are not measured on.)
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
 *
 * `state` is `open` from the opening until the probe starts (also once `openMs` has passed: the
 * next call is the probe), `half-open` while the probe is in flight.
 * A call's outcome moves the circuit only from the state the call was let through in: a call
 * that started while closed and ends after the circuit opened changes nothing, and the probe
 * alone decides the half-open state.
 */
import { AgentCallError } from "./call_error.ts";
import type { CallPolicy, CallPolicyContext } from "./policy.ts";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Consecutive failures that open the circuit (spec: 5). */
  threshold: number;
  /** How long the circuit stays open before the probe, in milliseconds (spec: 30 000). */
  openMs: number;
  /**
   * Clock, milliseconds: the only clock the breaker reads.
   * @default Date.now
   */
  now?: () => number;
  /**
   * A `deadline` cut of an attempt at least this old is a failure.
   * @default DEFAULT_SLOW_CALL_MS (5000)
   */
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

/**
 * The circuit. A new object at every transition, so a call can tell whether the state it was
 * let through in is still the current one.
 */
type Circuit =
  | { readonly kind: "closed"; failures: number }
  | { readonly kind: "open"; readonly openedAt: number; readonly cause: unknown }
  | { readonly kind: "half-open" };

/** How a failed attempt counts (see the module comment). */
type Verdict = "failure" | "neither";

/** How one attempt ended: its value, or its error and how that counts. */
type Sample<T> = { ok: true; value: T } | { ok: false; error: unknown; verdict: Verdict };

type Attempt<T> = (context: CallPolicyContext) => Promise<T>;

/** A new breaker, closed. Throws a `RangeError` on a threshold below 1 or a negative `openMs`. */
export function agentBreaker(options: BreakerOptions): AgentBreaker {
  const { threshold, openMs } = options;
  if (!Number.isInteger(threshold) || threshold < 1 || !(openMs >= 0)) {
    throw new RangeError("A breaker needs an integer threshold ≥ 1 and openMs ≥ 0.");
  }
  return new CircuitBreaker({
    threshold,
    openMs,
    now: options.now ?? Date.now,
    slowCallMs: options.slowCallMs ?? DEFAULT_SLOW_CALL_MS,
  });
}

/** The state machine: `execute` lets a call through or skips it; its outcome moves the circuit. */
class CircuitBreaker implements AgentBreaker {
  #circuit: Circuit = { kind: "closed", failures: 0 };

  constructor(private readonly options: Required<BreakerOptions>) {}

  get state(): BreakerState {
    return this.#circuit.kind;
  }

  execute<T>(fn: Attempt<T>, signal: AbortSignal): Promise<T> {
    const { now, openMs } = this.options;
    const current = this.#circuit;
    switch (current.kind) {
      case "closed":
        return this.#whileClosed(fn, signal, current);
      case "half-open":
        return Promise.reject(circuitOpen("Its probe is in flight."));
      case "open":
        if (now() - current.openedAt < openMs) {
          return Promise.reject(circuitOpen("It failed repeatedly.", current.cause));
        }
        return this.#probe(fn, signal);
    }
  }

  #open(cause: unknown): void {
    const { now } = this.options;
    this.#circuit = { kind: "open", openedAt: now(), cause };
  }

  /** Runs one attempt and judges how it ended (see the module comment). */
  async #sample<T>(fn: Attempt<T>, signal: AbortSignal): Promise<Sample<T>> {
    const { now, slowCallMs } = this.options;
    const startedAt = now();
    try {
      return { ok: true, value: await fn({ signal }) };
    } catch (error) {
      const slowCut = error instanceof AgentCallError && error.code === "deadline" &&
        now() - startedAt >= slowCallMs;
      return { ok: false, error, verdict: isAgentFault(error) || slowCut ? "failure" : "neither" };
    }
  }

  async #whileClosed<T>(
    fn: Attempt<T>,
    signal: AbortSignal,
    closed: Extract<Circuit, { kind: "closed" }>,
  ): Promise<T> {
    const result = await this.#sample(fn, signal);
    // The circuit opened meanwhile (other calls' failures): this outcome is stale.
    const current = this.#circuit === closed;
    if (result.ok) {
      if (current) closed.failures = 0;
      return result.value;
    }
    if (current && result.verdict === "failure" && ++closed.failures >= this.options.threshold) {
      this.#open(result.error);
    }
    throw result.error;
  }

  async #probe<T>(fn: Attempt<T>, signal: AbortSignal): Promise<T> {
    this.#circuit = { kind: "half-open" };
    const result = await this.#sample(fn, signal);
    // Only the probe leaves half-open (other calls are skipped, stale outcomes ignored).
    if (result.ok) {
      this.#circuit = { kind: "closed", failures: 0 };
      return result.value;
    }
    this.#open(result.error);
    throw result.error;
  }
}

function circuitOpen(why: string, cause?: unknown): AgentCallError {
  return new AgentCallError("circuit_open", `The agent's circuit is open. ${why}`, { cause });
}
