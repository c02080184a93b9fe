/**
 * The agent client (spec 6.3): fan out one request to every enabled agent in parallel, answer
 * from the cache when it is fresh, revalidate it with `If-None-Match` otherwise, and turn every
 * failure into a stale or fallback signal. The fan-out never rejects because of an agent and
 * always settles by the run deadline.
 *
 * Pieces, one per file: `settle.ts` (one agent's call, from cache decision to signal),
 * `agent_request.ts` (what each agent is asked), `scope.ts` (cache keys), `cache.ts` (cache
 * decisions and writes), `deadline.ts` (signals and waits), `attempt.ts` (one HTTP attempt),
 * `policy.ts` (what wraps attempts: retries, breakers and bulkheads slot in there),
 * `payload.ts` (validation).
 *
 * Spec 6.1: an answer serves only the days it covers. A week-scoped agent is asked with
 * `accept: ["week_pack"]`; a pack it answers is stored under intent + week and serves each day
 * from its own entry, a single-day answer is stored for that day only. A 304 renews the entry
 * that was sent (a pack: all of its days).
 */
import type { CacheEntry, CacheWrite } from "./cache.ts";
import { deadlineSignal } from "./deadline.ts";
import type { CallPolicy } from "./policy.ts";
import type { AgentName, AgentRequest } from "./protocol.ts";
import type { AgentConfig } from "./registry.ts";
import { callAgent, type FanOutRun, type Settled } from "./settle.ts";
import type { AgentSignal, Signals } from "./signal.ts";

/** Ceiling for one attempt (spec 6.3: 15 s), further capped by the agent's `timeoutMs`. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 15_000;
/** A cached payload backs a failed call up to this many freshness windows (spec 6.3: 7). */
export const DEFAULT_STALE_FACTOR = 7;

export interface FanOutInput {
  request: AgentRequest;
  /** The registry; only enabled agents are called. An agent listed twice is called once. */
  agents: readonly AgentConfig[];
  /**
   * The cached answer to serve each agent from (`pickCacheEntries`). An entry that does not
   * cover the request's day (another day's single answer, another week) is ignored.
   */
  cache: ReadonlyMap<AgentName, CacheEntry>;
  /** Call every agent even when its cache entry is fresh (still with `If-None-Match`). */
  forceRefresh: boolean;
  /** The run's deadline in milliseconds (12 000, or 30 000 with research). */
  deadlineMs: number;
  /** Default `DEFAULT_ATTEMPT_TIMEOUT_MS`; each agent's `timeoutMs` caps it further. */
  attemptTimeoutMs?: number;
  /** Default `DEFAULT_STALE_FACTOR`. */
  staleFactor?: number;
  /** The service credential sent to agents (`apikey` and bearer); null sends none. */
  serviceKey: string | null;
  /** The run's W3C trace id: 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Clock for cache ages and latencies, epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Cancels the run (e.g. the client went away); agents still pending become `aborted`. */
  signal?: AbortSignal;
  /** Called once per agent as it settles, in settling order (SSE progress). Errors are ignored. */
  onSettle?: (signal: AgentSignal) => void;
  /**
   * What wraps each agent's attempts (retries, breaker, bulkhead). Default: `singleAttempt`.
   * `run.deadlineAt` is the run's deadline on the clock of `now`. A call the policy refuses
   * without running an attempt (open circuit, full bulkhead) reports 0 attempts.
   */
  policyFor?: (agent: AgentConfig, run: { deadlineAt: number }) => CallPolicy;
}

export type CallOutcome = "hit" | "revalidated" | "fetched" | "stale" | "unavailable";

/** One `wisely.agent_calls` row (without user, session and trace, which the caller adds). */
export interface CallRecord {
  agent: AgentName;
  outcome: CallOutcome;
  status: number | null;
  errorCode: string | null;
  /** HTTP attempts made; 0 for a fresh cache hit. */
  attempts: number;
  latencyMs: number;
}

export interface FanOutResult {
  /** One signal per enabled agent. */
  signals: Signals;
  /** What to persist to `wisely.agent_cache`, in agent order. */
  cacheWrites: CacheWrite[];
  /** One record per enabled agent, in agent order. */
  calls: CallRecord[];
}

const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;

/** Calls every enabled agent in parallel. Never rejects because of an agent. */
export async function fanOut(input: FanOutInput): Promise<FanOutResult> {
  if (!TRACE_ID.test(input.traceId)) {
    throw new TypeError("traceId must be 32 lowercase hex digits, not all zero.");
  }
  const run = fanOutRun(input);
  const settled = await Promise.all(
    enabledAgents(input.agents).map(async (agent) => {
      const result = await CALLERS[agent.name](agent, run);
      try {
        input.onSettle?.(result.signal);
      } catch {
        // Progress reporting must never break the run.
      }
      return result;
    }),
  );
  return collect(settled);
}

/** The run every agent's call shares: the defaults applied, the deadline started now. */
function fanOutRun(input: FanOutInput): FanOutRun {
  const now = input.now ?? Date.now;
  const deadlineAt = now() + input.deadlineMs;
  const runSignal = deadlineSignal(input.deadlineMs, input.signal);
  return {
    input,
    now,
    deadlineAt,
    runSignal,
    fetch: input.fetch ?? globalThis.fetch.bind(globalThis),
    at: { intentId: input.request.intent.id, week: input.request.week, day: input.request.day },
    attemptTimeoutMs: input.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
    staleFactor: input.staleFactor ?? DEFAULT_STALE_FACTOR,
    describeAbort: () =>
      input.signal?.aborted ? "aborted" : runSignal.aborted ? "deadline" : "timeout",
  };
}

/** The enabled agents, each once (the first listing wins). */
function enabledAgents(agents: readonly AgentConfig[]): AgentConfig[] {
  const seen = new Set<AgentName>();
  return agents.filter((agent) => {
    if (!agent.enabled || seen.has(agent.name)) return false;
    seen.add(agent.name);
    return true;
  });
}

function collect(settled: readonly AnySettled[]): FanOutResult {
  const signals: Signals = {};
  const cacheWrites: CacheWrite[] = [];
  const calls: CallRecord[] = [];
  for (const { signal, write } of settled) {
    assignSignal(signals, signal);
    if (write) cacheWrites.push(write);
    calls.push(callRecord(signal));
  }
  return { signals, cacheWrites, calls };
}

type AnySignal = { [N in AgentName]: AgentSignal<N> }[AgentName];
type AnySettled = { [N in AgentName]: Settled<N> }[AgentName];

/** One typed caller per agent, so each agent's data keeps its own type. */
const CALLERS: { [N in AgentName]: (agent: AgentConfig, run: FanOutRun) => Promise<Settled<N>> } = {
  clo: (agent, run) => callAgent("clo", agent, run),
  alex: (agent, run) => callAgent("alex", agent, run),
  ta: (agent, run) => callAgent("ta", agent, run),
  socratic: (agent, run) => callAgent("socratic", agent, run),
};

function assignSignal(signals: Signals, signal: AnySignal): void {
  switch (signal.agent) {
    case "clo":
      signals.clo = signal;
      break;
    case "alex":
      signals.alex = signal;
      break;
    case "ta":
      signals.ta = signal;
      break;
    case "socratic":
      signals.socratic = signal;
      break;
  }
}

const OUTCOMES = {
  cache: "hit",
  revalidated: "revalidated",
  network: "fetched",
  stale: "stale",
  fallback: "unavailable",
} as const satisfies Record<AgentSignal["source"], CallOutcome>;

function callRecord(signal: AgentSignal): CallRecord {
  return {
    agent: signal.agent,
    outcome: OUTCOMES[signal.source],
    status: signal.status,
    errorCode: signal.error_code,
    attempts: signal.attempts,
    latencyMs: signal.latency_ms,
  };
}
