/**
 * The agent client (spec 6.3): fan out one request to every enabled agent in parallel, answer
 * from the cache when it is fresh, revalidate it with `If-None-Match` otherwise, and turn every
 * failure into a stale or fallback signal. The fan-out never rejects because of an agent and
 * always settles by the run deadline.
 *
 * Pieces, one per file: `scope.ts` (cache keys), `cache.ts` (cache decisions and writes),
 * `deadline.ts` (signals and waits), `attempt.ts` (one HTTP attempt), `policy.ts` (what wraps
 * attempts: retries, breakers and bulkheads slot in there), `payload.ts` (validation).
 */
import { attemptCall } from "./attempt.ts";
import { type CacheEntry, type CacheWrite, classify, servesOnFailure } from "./cache.ts";
import { AgentCallError, type AgentErrorCode } from "./call_error.ts";
import { attemptSignal, deadlineSignal, raceAbort } from "./deadline.ts";
import { agentIdempotencyKey } from "./idempotency.ts";
import { parseData, parseReply } from "./payload.ts";
import { type CallPolicy, singleAttempt } from "./policy.ts";
import type { AgentDataMap, AgentName, AgentRequest } from "./protocol.ts";
import type { AgentConfig } from "./registry.ts";
import { scopeKey } from "./scope.ts";
import type { AgentSignal, Signals } from "./signal.ts";

/** Ceiling for one attempt (spec 6.3: 15 s), further capped by the agent's `timeoutMs`. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 15_000;
/** A cached payload backs a failed call up to this many freshness windows (spec 6.3: 7). */
export const DEFAULT_STALE_FACTOR = 7;

export interface FanOutInput {
  request: AgentRequest;
  /** The registry; only enabled agents are called. An agent listed twice is called once. */
  agents: readonly AgentConfig[];
  /** Cached answers by agent, for this request's scope keys (an entry for another key is ignored). */
  cache: ReadonlyMap<AgentName, CacheEntry>;
  /** Call every agent even when its cache entry is fresh (still with `If-None-Match`). */
  forceRefresh: boolean;
  /** The run's deadline in milliseconds (12 000, or 30 000 with research). */
  deadlineMs: number;
  /** Default `DEFAULT_ATTEMPT_TIMEOUT_MS`; each agent's `timeoutMs` caps it further. */
  attemptTimeoutMs?: number;
  /** Default `DEFAULT_STALE_FACTOR`. */
  staleFactor?: number;
  /** Bearer sent to agents. */
  serviceJwt: string;
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

/** The `wisely.agent_cache.scope_key` an agent's answer to `request` is cached under. */
export function agentScopeKey(agent: Pick<AgentConfig, "scope">, request: AgentRequest): string {
  return scopeKey(agent.scope, request.intent.id, request.week, request.day);
}

const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;

/** Calls every enabled agent in parallel. Never rejects because of an agent. */
export async function fanOut(input: FanOutInput): Promise<FanOutResult> {
  if (!TRACE_ID.test(input.traceId)) {
    throw new TypeError("traceId must be 32 lowercase hex digits, not all zero.");
  }
  const now = input.now ?? Date.now;
  const deadlineAt = now() + input.deadlineMs;
  const runSignal = deadlineSignal(input.deadlineMs, input.signal);
  const run: RunContext = {
    input,
    now,
    deadlineAt,
    runSignal,
    fetch: input.fetch ?? globalThis.fetch.bind(globalThis),
    body: JSON.stringify(input.request),
    attemptTimeoutMs: input.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
    staleFactor: input.staleFactor ?? DEFAULT_STALE_FACTOR,
    describeAbort: () =>
      input.signal?.aborted ? "aborted" : runSignal.aborted ? "deadline" : "timeout",
  };

  const seen = new Set<AgentName>();
  const enabled = input.agents.filter((agent) => {
    if (!agent.enabled || seen.has(agent.name)) return false;
    seen.add(agent.name);
    return true;
  });

  const settled = await Promise.all(enabled.map(async (agent) => {
    const result = await CALLERS[agent.name](agent, run);
    try {
      input.onSettle?.(result.signal);
    } catch {
      // Progress reporting must never break the run.
    }
    return result;
  }));

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

interface RunContext {
  input: FanOutInput;
  now: () => number;
  deadlineAt: number;
  runSignal: AbortSignal;
  fetch: typeof fetch;
  body: string;
  attemptTimeoutMs: number;
  staleFactor: number;
  describeAbort: () => AgentErrorCode;
}

interface Settled<N extends AgentName> {
  signal: AgentSignal<N>;
  write: CacheWrite | null;
}

type AnySignal = { [N in AgentName]: AgentSignal<N> }[AgentName];

/** One typed caller per agent, so each agent's data keeps its own type. */
const CALLERS: { [N in AgentName]: (agent: AgentConfig, run: RunContext) => Promise<Settled<N>> } =
  {
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

/** One logical call. Never rejects: even a bug in here settles as a fallback (`unexpected`). */
async function callAgent<N extends AgentName>(
  name: N,
  agent: AgentConfig,
  run: RunContext,
): Promise<Settled<N>> {
  const startedAt = run.now();
  try {
    return await settleAgent(name, agent, run, startedAt);
  } catch (error) {
    const failure = asCallError(error, run);
    const signal: AgentSignal<N> = {
      agent: name,
      source: "fallback",
      available: false,
      fresh: false,
      data: null,
      status: failure.status,
      error_code: failure.code,
      latency_ms: elapsed(run.now, startedAt),
      attempts: 0,
    };
    return { signal, write: null };
  }
}

/** Cache decision, attempts under the agent's policy, then the signal. */
async function settleAgent<N extends AgentName>(
  name: N,
  agent: AgentConfig,
  run: RunContext,
  startedAt: number,
): Promise<Settled<N>> {
  const { input, now } = run;
  const key = agentScopeKey(agent, input.request);
  const cached = usableEntry(name, input.cache.get(name), key);
  const cacheClass = classify(cached?.entry, {
    now: startedAt,
    freshnessS: agent.freshnessS,
    staleFactor: run.staleFactor,
    forceRefresh: input.forceRefresh,
  });
  const base = { agent: name, status: null, error_code: null };

  if (cached && cacheClass === "fresh") {
    const latency_ms = elapsed(now, startedAt);
    const signal: AgentSignal<N> = {
      ...base,
      source: "cache",
      available: true,
      fresh: true,
      data: cached.data,
      latency_ms,
      attempts: 0,
    };
    return { signal, write: null };
  }

  let attempts = 0;
  try {
    run.runSignal.throwIfAborted();
    const idempotencyKey = await agentIdempotencyKey(name, key, input.request);
    const policy = input.policyFor?.(agent, { deadlineAt: run.deadlineAt }) ?? singleAttempt;
    const result = await raceAbort(
      policy.execute(async (context) => {
        attempts++;
        const { signal } = attemptSignal({
          attemptTimeoutMs: Math.min(run.attemptTimeoutMs, agent.timeoutMs),
          deadlineAt: run.deadlineAt,
          now: now(),
          signal: context.signal,
        });
        return await attemptCall({
          url: agent.url,
          body: run.body,
          serviceJwt: input.serviceJwt,
          idempotencyKey,
          traceId: input.traceId,
          cached: cached?.entry.etag ? { etag: cached.entry.etag, data: cached.data } : null,
          parseReply: parseReply[name],
          fetch: run.fetch,
          signal,
          describeAbort: run.describeAbort,
          now,
        });
      }, run.runSignal),
      run.runSignal,
    );
    const latency_ms = elapsed(now, startedAt);
    if (result.kind === "revalidated") {
      const signal: AgentSignal<N> = {
        ...base,
        source: "revalidated",
        available: true,
        fresh: true,
        data: result.data,
        status: result.status,
        latency_ms,
        attempts,
      };
      return {
        signal,
        write: { kind: "revalidate", agent: name, scopeKey: key, etag: result.etag },
      };
    }
    const signal: AgentSignal<N> = {
      ...base,
      source: "network",
      available: true,
      fresh: true,
      data: result.data,
      status: result.status,
      latency_ms,
      attempts,
    };
    return {
      signal,
      write: { kind: "store", agent: name, scopeKey: key, etag: result.etag, payload: result.data },
    };
  } catch (error) {
    const failure = asCallError(error, run);
    const latency_ms = elapsed(now, startedAt);
    const failed = { status: failure.status, error_code: failure.code, latency_ms, attempts };
    if (cached && servesOnFailure(cacheClass)) {
      const signal: AgentSignal<N> = {
        ...base,
        ...failed,
        source: "stale",
        available: true,
        fresh: false,
        data: cached.data,
      };
      return { signal, write: null };
    }
    const signal: AgentSignal<N> = {
      ...base,
      ...failed,
      source: "fallback",
      available: false,
      fresh: false,
      data: null,
    };
    return { signal, write: null };
  }
}

/** The cache entry with its payload validated, or null when absent, for another scope, or invalid. */
function usableEntry<N extends AgentName>(
  name: N,
  entry: CacheEntry | undefined,
  key: string,
): { entry: CacheEntry; data: AgentDataMap[N] } | null {
  if (!entry || entry.agent !== name || entry.scopeKey !== key) return null;
  const parsed = parseData[name](entry.payload);
  return parsed.ok ? { entry, data: parsed.data } : null;
}

/** Whatever escaped the policy, as an `AgentCallError` (the original kept as `cause`). */
function asCallError(error: unknown, run: RunContext): AgentCallError {
  if (error instanceof AgentCallError) return error;
  if (run.runSignal.aborted) {
    const code = run.describeAbort();
    return new AgentCallError(
      code,
      code === "aborted" ? "The run was cancelled." : "The run's deadline passed.",
      { cause: error },
    );
  }
  return new AgentCallError("unexpected", "The agent call failed unexpectedly.", { cause: error });
}

function elapsed(now: () => number, startedAt: number): number {
  return Math.max(0, Math.round(now() - startedAt));
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
