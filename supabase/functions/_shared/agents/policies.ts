/**
 * The resilience policies of the agent calls (spec 6.3), with their per-isolate state: one
 * circuit breaker, bulkhead and retry budget per agent, shared by every run of the isolate, and
 * one retry policy per run (it carries the run's deadline).
 *
 * Composition, outermost first (cockatiel's `wrap`): bulkhead → retry → breaker → attempt.
 * - Retry outside the breaker: every attempt is a breaker sample, and a circuit that opens
 *   (because of this call or another run) stops the retries at once instead of hammering on.
 * - Bulkhead outermost: it caps *calls* in flight per agent (`max_concurrency`), backoff waits
 *   included, so a call that got a slot keeps it through its retries and can never fail halfway
 *   with `bulkhead_full`; a refused call makes no attempt (0 attempts), is never retried and is
 *   never a breaker sample. When the circuit is open, calls leave their slot at once, so the
 *   queue does not hold them.
 *
 * State is created at an agent's first call and rebuilt only when its settings change: the
 * breaker when `breakerThreshold` or `breakerOpenMs` change, the bulkhead when
 * `maxConcurrency` does (calls in the old one finish there). The retry budget is never rebuilt.
 */
import { backoffDelayMs } from "./backoff.ts";
import { type AgentBreaker, agentBreaker, type BreakerState } from "./breaker.ts";
import { type AgentBulkhead, agentBulkhead } from "./bulkhead.ts";
import { wrap } from "cockatiel";
import { asCockatiel, type CallPolicy } from "./policy.ts";
import type { AgentName } from "./protocol.ts";
import type { AgentConfig } from "./registry.ts";
import { retryPolicy } from "./retry.ts";
import {
  DEFAULT_RETRY_BUDGET_MAX_TOKENS,
  RetryBudget,
  type RetryBudgetOptions,
} from "./retry_budget.ts";
import type { Settings } from "../settings.ts";

export interface AgentPoliciesOptions {
  /** Clock, milliseconds; must be the clock the run deadlines are on. Default `Date.now`. */
  now?: () => number;
  /** Uniform in [0, 1), for backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** Abortable wait between retries. Default `sleep` from `deadline.ts`. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Retry budget per agent (its clock is `now`). Defaults: see `RetryBudget`. */
  budget?: Omit<RetryBudgetOptions, "now">;
  /** See `BreakerOptions.slowCallMs`. Default 5000. */
  slowCallMs?: number;
  /**
   * Calls that may wait for a bulkhead slot, per slot. Default 4: a call with more than about
   * four full waves of calls ahead of it would not start before the deadline with agents that
   * take seconds, so it is refused at once and served from the cache.
   */
  bulkheadQueueFactor?: number;
}

/** The settings the policies read (`wisely.settings`). */
export type PolicySettings = Pick<
  Settings,
  "maxRetries" | "backoffBaseMs" | "breakerThreshold" | "breakerOpenMs"
>;

export interface PolicyRun {
  /** When the run must have answered, on the clock of `now`. */
  deadlineAt: number;
  settings: PolicySettings;
}

export interface AgentPolicySnapshot {
  breaker: BreakerState;
  /** Calls holding a bulkhead slot. */
  inFlight: number;
  /** Retry budget tokens left (retries need more than half). */
  budgetTokens: number;
}

export interface AgentPolicies {
  /** The policy for one call of `agent` in the run `run`. */
  policyFor(agent: Pick<AgentConfig, "name" | "maxConcurrency">, run: PolicyRun): CallPolicy;
  /** `policyFor` with the run's settings bound: the shape `fanOut`'s `policyFor` takes. */
  forRun(
    settings: PolicySettings,
  ): (agent: AgentConfig, run: { deadlineAt: number }) => CallPolicy;
  /** Every agent's state, for metrics (an agent not called yet: closed, idle, full budget). */
  snapshot(): Record<AgentName, AgentPolicySnapshot>;
}

export const DEFAULT_BULKHEAD_QUEUE_FACTOR = 4;

interface AgentPolicyState {
  budget: RetryBudget;
  breaker: AgentBreaker;
  breakerKey: string;
  bulkhead: AgentBulkhead;
}

export function createAgentPolicies(options: AgentPoliciesOptions = {}): AgentPolicies {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const states = new Map<AgentName, AgentPolicyState>();
  const fullBudget = options.budget?.maxTokens ?? DEFAULT_RETRY_BUDGET_MAX_TOKENS;
  const stateFor = policyStates(states, { ...options, now });

  function policyFor(
    agent: Pick<AgentConfig, "name" | "maxConcurrency">,
    run: PolicyRun,
  ): CallPolicy {
    const { budget, breaker, bulkhead } = stateFor(agent, run.settings);
    const retry = retryPolicy({
      maxRetries: run.settings.maxRetries,
      backoff: (retry) => backoffDelayMs(retry, { baseMs: run.settings.backoffBaseMs, random }),
      budget,
      deadlineAt: run.deadlineAt,
      now,
      canAttempt: () => breaker.state === "closed",
      sleep: options.sleep,
    });
    return wrap(asCockatiel(bulkhead), asCockatiel(retry), asCockatiel(breaker));
  }

  return {
    policyFor,
    forRun: (settings) => (agent, run) =>
      policyFor(agent, { deadlineAt: run.deadlineAt, settings }),
    snapshot: () => snapshotOf(states, fullBudget),
  };
}

/**
 * An agent's state, created at its first call and rebuilt where its settings changed (see the
 * module comment), kept in `states`.
 */
function policyStates(
  states: Map<AgentName, AgentPolicyState>,
  options: AgentPoliciesOptions & { now: () => number },
) {
  const { now } = options;
  const queueFactor = options.bulkheadQueueFactor ?? DEFAULT_BULKHEAD_QUEUE_FACTOR;
  const newBreaker = (settings: PolicySettings) =>
    agentBreaker({
      threshold: settings.breakerThreshold,
      openMs: settings.breakerOpenMs,
      now,
      slowCallMs: options.slowCallMs,
    });
  const newBulkhead = (maxConcurrency: number) =>
    agentBulkhead({ maxConcurrency, queue: Math.floor(maxConcurrency * queueFactor) });

  return (
    agent: Pick<AgentConfig, "name" | "maxConcurrency">,
    settings: PolicySettings,
  ): AgentPolicyState => {
    const breakerKey = `${settings.breakerThreshold}/${settings.breakerOpenMs}`;
    const state = states.get(agent.name);
    if (!state) {
      const created: AgentPolicyState = {
        budget: new RetryBudget({ ...options.budget, now }),
        breaker: newBreaker(settings),
        breakerKey,
        bulkhead: newBulkhead(agent.maxConcurrency),
      };
      states.set(agent.name, created);
      return created;
    }
    if (state.breakerKey !== breakerKey) {
      state.breaker = newBreaker(settings);
      state.breakerKey = breakerKey;
    }
    if (state.bulkhead.maxConcurrency !== agent.maxConcurrency) {
      state.bulkhead = newBulkhead(agent.maxConcurrency);
    }
    return state;
  };
}

function snapshotOf(
  states: ReadonlyMap<AgentName, AgentPolicyState>,
  fullBudget: number,
): Record<AgentName, AgentPolicySnapshot> {
  const entry = (name: AgentName): AgentPolicySnapshot => {
    const state = states.get(name);
    if (!state) return { breaker: "closed", inFlight: 0, budgetTokens: fullBudget };
    return {
      breaker: state.breaker.state,
      inFlight: state.bulkhead.inFlight,
      budgetTokens: Math.round(state.budget.tokens * 1000) / 1000,
    };
  };
  return { clo: entry("clo"), alex: entry("alex"), ta: entry("ta"), socratic: entry("socratic") };
}
