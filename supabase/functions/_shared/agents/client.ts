/**
 * The agent client (spec 6.3): fan out one request to every enabled agent in parallel, answer
 * from the cache when it is fresh, revalidate it with `If-None-Match` otherwise, and turn every
 * failure into a stale or fallback signal. The fan-out never rejects because of an agent and
 * always settles by the run deadline.
 *
 * Pieces, one per file: `scope.ts` (cache keys), `cache.ts` (cache decisions and writes),
 * `deadline.ts` (signals and waits), `attempt.ts` (one HTTP attempt), `policy.ts` (what wraps
 * attempts: retries, breakers and bulkheads slot in there), `payload.ts` (validation).
 *
 * Spec 6.1: an answer serves only the days it covers. A week-scoped agent is asked with
 * `accept: ["week_pack"]`; a pack it answers is stored under intent + week and serves each day
 * from its own entry, a single-day answer is stored for that day only. A 304 renews the entry
 * that was sent (a pack: all of its days).
 */
import { attemptCall, type AttemptResult } from "./attempt.ts";
import {
  type CacheEntry,
  type CacheWrite,
  classify,
  type RunPosition,
  servesOnFailure,
  usableEntry,
} from "./cache.ts";
import { AgentCallError, type AgentErrorCode } from "./call_error.ts";
import { attemptSignal, deadlineSignal, raceAbort } from "./deadline.ts";
import { agentIdempotencyKey } from "./idempotency.ts";
import { type Answer, answerForDay, parseAnswer } from "./payload.ts";
import { type CallPolicy, singleAttempt } from "./policy.ts";
import { type AgentName, type AgentRequest, WEEK_PACK } from "./protocol.ts";
import type { AgentConfig } from "./registry.ts";
import { answerCoverage, asksForWeekPack, coverageKey, scopeKey } from "./scope.ts";
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

/**
 * The key an agent's call for `request` is known by (its idempotency key's scope): the scope
 * the registry asks for. Where its answer is stored depends on the answer (`answerCoverage`).
 */
export function agentScopeKey(agent: Pick<AgentConfig, "scope">, request: AgentRequest): string {
  return scopeKey(agent.scope, request.intent.id, request.week, request.day);
}

/**
 * What `agent` is sent: the request, with `accept: ["week_pack"]` for a week-scoped agent and
 * without `accept` for any other.
 */
export function agentRequestFor(
  agent: Pick<AgentConfig, "scope">,
  request: AgentRequest,
): AgentRequest {
  const { accept: _ignored, ...rest } = request;
  return asksForWeekPack(agent.scope) ? { ...rest, accept: [WEEK_PACK] } : rest;
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
    at: { intentId: input.request.intent.id, week: input.request.week, day: input.request.day },
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
  at: RunPosition;
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
  const cached = usableEntry(name, agent, input.cache.get(name), run.at);
  const cacheClass = classify(cached?.entry, {
    now: startedAt,
    freshnessS: agent.freshnessS,
    staleFactor: run.staleFactor,
    forceRefresh: input.forceRefresh,
  });
  if (cached && cacheClass === "fresh") {
    const latency_ms = elapsed(now, startedAt);
    const signal: AgentSignal<N> = {
      agent: name,
      status: null,
      error_code: null,
      source: "cache",
      available: true,
      fresh: true,
      data: cached.data,
      latency_ms,
      attempts: 0,
    };
    return { signal, write: null };
  }

  const attempts = { count: 0 };
  try {
    const result = await callWithPolicy(name, agent, run, cached, attempts);
    return answered(name, agent, run, {
      result,
      revalidatedKey: cached?.entry.scopeKey ?? null,
      latency_ms: elapsed(now, startedAt),
      attempts: attempts.count,
    });
  } catch (error) {
    const failure = asCallError(error, run);
    const failed = {
      agent: name,
      status: failure.status,
      error_code: failure.code,
      latency_ms: elapsed(now, startedAt),
      attempts: attempts.count,
    };
    // A failed call falls back to the cached answer for the day while it is within the stale
    // window, else to the planner's fallback (degraded).
    const signal: AgentSignal<N> = cached && servesOnFailure(cacheClass)
      ? { ...failed, source: "stale", available: true, fresh: false, data: cached.data }
      : { ...failed, source: "fallback", available: false, fresh: false, data: null };
    return { signal, write: null };
  }
}

/**
 * The attempts of one logical call under the agent's policy, with `If-None-Match` when a
 * cached entry has an ETag. Resolves with the validated answer (a pack only from an agent
 * asked for one); `attempts.count` counts the HTTP attempts made.
 */
async function callWithPolicy<N extends AgentName>(
  name: N,
  agent: AgentConfig,
  run: RunContext,
  cached: { entry: CacheEntry; answer: Answer<N> } | null,
  attempts: { count: number },
): Promise<AttemptResult<Answer<N>>> {
  const { input, now } = run;
  run.runSignal.throwIfAborted();
  const request = agentRequestFor(agent, input.request);
  const body = JSON.stringify(request);
  const acceptsPack = asksForWeekPack(agent.scope);
  const idempotencyKey = await agentIdempotencyKey(
    name,
    agentScopeKey(agent, input.request),
    request,
  );
  const policy = input.policyFor?.(agent, { deadlineAt: run.deadlineAt }) ?? singleAttempt;
  return await raceAbort(
    policy.execute(async (context) => {
      attempts.count++;
      const { signal } = attemptSignal({
        attemptTimeoutMs: Math.min(run.attemptTimeoutMs, agent.timeoutMs),
        deadlineAt: run.deadlineAt,
        now: now(),
        signal: context.signal,
      });
      return await attemptCall({
        url: agent.url,
        body,
        serviceKey: input.serviceKey,
        idempotencyKey,
        traceId: input.traceId,
        cached: cached?.entry.etag ? { etag: cached.entry.etag, data: cached.answer } : null,
        parseReply: (reply) => parseAnswer(name, reply, acceptsPack),
        fetch: run.fetch,
        signal,
        describeAbort: run.describeAbort,
        now,
      });
    }, run.runSignal),
    run.runSignal,
  );
}

/**
 * The signal and cache write of an answered call: a 304 renews the entry it revalidated; a
 * 200 is stored under the key of what it covers (a pack: intent + week; a single answer: the
 * intent for an intent-scoped agent, else the day), and the run gets its day's payload.
 */
function answered<N extends AgentName>(
  name: N,
  agent: AgentConfig,
  run: RunContext,
  outcome: {
    result: AttemptResult<Answer<N>>;
    revalidatedKey: string | null;
    latency_ms: number;
    attempts: number;
  },
): Settled<N> {
  const { result, latency_ms, attempts } = outcome;
  const data = answerForDay(name, result.data, run.at.day);
  if (data === null) {
    // Unreachable for a validated pack (all seven days); a failed call if it ever happens.
    throw new AgentCallError("invalid_payload", "The agent's answer has no entry for the day.", {
      status: result.status,
    });
  }
  const revalidated = result.kind === "revalidated";
  const signal: AgentSignal<N> = {
    agent: name,
    source: revalidated ? "revalidated" : "network",
    available: true,
    fresh: true,
    data,
    status: result.status,
    error_code: null,
    latency_ms,
    attempts,
  };
  if (revalidated && outcome.revalidatedKey !== null) {
    return {
      signal,
      write: {
        kind: "revalidate",
        agent: name,
        scopeKey: outcome.revalidatedKey,
        etag: result.etag,
      },
    };
  }
  const answer = result.data;
  const coverage = answerCoverage(agent.scope, answer.kind === "pack");
  const { intentId, week, day } = run.at;
  return {
    signal,
    write: {
      kind: "store",
      agent: name,
      scopeKey: coverageKey(coverage, intentId, week, day),
      etag: result.etag,
      payload: answer.kind === "pack" ? answer.pack : answer.data,
    },
  };
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
