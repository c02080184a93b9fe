/**
 * One agent's logical call in a fan-out (spec 6.3), from the cache decision to its signal and
 * cache write: a fresh entry answers at once; otherwise the attempts run under the agent's
 * policy (with `If-None-Match` when the entry has an ETag), and a failure is served from the
 * entry while it is within the stale window, else as the planner's fallback.
 */
import { attemptCall, type AttemptResult } from "./attempt.ts";
import {
  type CacheClass,
  type CacheWrite,
  classify,
  type RunPosition,
  servesOnFailure,
  type UsableEntry,
  usableEntry,
} from "./cache.ts";
import { AgentCallError, type AgentErrorCode } from "./call_error.ts";
import { agentRequestFor, agentScopeKey } from "./agent_request.ts";
import type { FanOutInput } from "./client.ts";
import { attemptSignal, raceAbort } from "./deadline.ts";
import { agentIdempotencyKey } from "./idempotency.ts";
import { type Answer, answerForDay, parseAnswer } from "./payload.ts";
import { singleAttempt } from "./policy.ts";
import type { AgentDataMap, AgentName } from "./protocol.ts";
import type { AgentConfig } from "./registry.ts";
import { answerCoverage, asksForWeekPack, coverageKey } from "./scope.ts";
import type { AgentSignal } from "./signal.ts";

/** One fan-out as every agent's call sees it: its input with the defaults applied. */
export interface FanOutRun {
  input: FanOutInput;
  now: () => number;
  deadlineAt: number;
  /** Aborts at the run's deadline or when the caller cancels. */
  runSignal: AbortSignal;
  fetch: typeof fetch;
  at: RunPosition;
  attemptTimeoutMs: number;
  staleFactor: number;
  describeAbort: () => AgentErrorCode;
}

export interface Settled<N extends AgentName> {
  signal: AgentSignal<N>;
  write: CacheWrite | null;
}

/** One logical call. Never rejects: even a bug in here settles as a fallback (`unexpected`). */
export async function callAgent<N extends AgentName>(
  name: N,
  agent: AgentConfig,
  run: FanOutRun,
): Promise<Settled<N>> {
  const startedAt = run.now();
  try {
    return await settleAgent(name, agent, run, startedAt);
  } catch (error) {
    const spent = { latency_ms: elapsed(run.now, startedAt), attempts: 0 };
    return { signal: failedSignal(name, asCallError(error, run), null, spent), write: null };
  }
}

/** Cache decision, attempts under the agent's policy, then the signal. */
async function settleAgent<N extends AgentName>(
  name: N,
  agent: AgentConfig,
  run: FanOutRun,
  startedAt: number,
): Promise<Settled<N>> {
  const cached = usableEntry(name, agent, run.input.cache.get(name), run.at);
  const cacheClass = cacheClassOf(cached, agent, run, startedAt);
  if (cached && cacheClass === "fresh") {
    return { signal: cacheHit(name, cached.data, elapsed(run.now, startedAt)), write: null };
  }
  const attempts = { count: 0 };
  try {
    const result = await callWithPolicy(name, agent, run, cached, attempts);
    return answered(name, agent, run, {
      result,
      revalidatedKey: cached?.entry.scopeKey ?? null,
      latency_ms: elapsed(run.now, startedAt),
      attempts: attempts.count,
    });
  } catch (error) {
    // A failed call falls back to the cached answer for the day while it is within the stale
    // window, else to the planner's fallback (degraded).
    const spent = { latency_ms: elapsed(run.now, startedAt), attempts: attempts.count };
    const backup = servesOnFailure(cacheClass) ? cached : null;
    return { signal: failedSignal(name, asCallError(error, run), backup, spent), write: null };
  }
}

function cacheClassOf(
  cached: UsableEntry<AgentName> | null,
  agent: AgentConfig,
  run: FanOutRun,
  startedAt: number,
): CacheClass {
  return classify(cached?.entry, {
    now: startedAt,
    freshnessS: agent.freshnessS,
    staleFactor: run.staleFactor,
    forceRefresh: run.input.forceRefresh,
  });
}

/** A fresh cache entry answered: no call made. */
function cacheHit<N extends AgentName>(
  name: N,
  data: AgentDataMap[N],
  latency_ms: number,
): AgentSignal<N> {
  return {
    agent: name,
    status: null,
    error_code: null,
    source: "cache",
    available: true,
    fresh: true,
    data,
    latency_ms,
    attempts: 0,
  };
}

/** A failed call: served `stale` from `backup` when there is one, else as `fallback`. */
function failedSignal<N extends AgentName>(
  name: N,
  failure: AgentCallError,
  backup: UsableEntry<N> | null,
  spent: { latency_ms: number; attempts: number },
): AgentSignal<N> {
  const failed = { agent: name, status: failure.status, error_code: failure.code, ...spent };
  return backup
    ? { ...failed, source: "stale", available: true, fresh: false, data: backup.data }
    : { ...failed, source: "fallback", available: false, fresh: false, data: null };
}

/**
 * The attempts of one logical call under the agent's policy. Resolves with the validated
 * answer (a pack only from an agent asked for one); `attempts.count` counts the HTTP attempts
 * made.
 */
async function callWithPolicy<N extends AgentName>(
  name: N,
  agent: AgentConfig,
  run: FanOutRun,
  cached: UsableEntry<N> | null,
  attempts: { count: number },
): Promise<AttemptResult<Answer<N>>> {
  run.runSignal.throwIfAborted();
  const attempt = attemptFor(name, agent, run, cached);
  const policy = run.input.policyFor?.(agent, { deadlineAt: run.deadlineAt }) ?? singleAttempt;
  return await raceAbort(
    policy.execute(async (context) => {
      attempts.count++;
      return await attempt(context.signal);
    }, run.runSignal),
    run.runSignal,
  );
}

/**
 * One HTTP attempt of the call, under the policy's signal, with `If-None-Match` when the
 * cached entry has an ETag. The body and idempotency key are the same for every attempt.
 */
function attemptFor<N extends AgentName>(
  name: N,
  agent: AgentConfig,
  run: FanOutRun,
  cached: UsableEntry<N> | null,
): (policySignal: AbortSignal) => Promise<AttemptResult<Answer<N>>> {
  const { input, now } = run;
  const request = agentRequestFor(agent, input.request);
  const body = JSON.stringify(request);
  const acceptsPack = asksForWeekPack(agent.scope);
  const scope = agentScopeKey(agent, input.request);
  const idempotencyKey = agentIdempotencyKey(name, scope, request);
  return async (policySignal) => {
    const { signal } = attemptSignal({
      attemptTimeoutMs: Math.min(run.attemptTimeoutMs, agent.timeoutMs),
      deadlineAt: run.deadlineAt,
      now: now(),
      signal: policySignal,
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
  };
}

/** The signal and cache write of an answered call; the run gets its day's payload. */
function answered<N extends AgentName>(
  name: N,
  agent: AgentConfig,
  run: FanOutRun,
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
  const signal: AgentSignal<N> = {
    agent: name,
    source: result.kind === "revalidated" ? "revalidated" : "network",
    available: true,
    fresh: true,
    data,
    status: result.status,
    error_code: null,
    latency_ms,
    attempts,
  };
  return { signal, write: cacheWriteOf(name, agent, run.at, result, outcome.revalidatedKey) };
}

/**
 * A 304 renews the entry it revalidated; a 200 is stored under the key of what it covers (a
 * pack: intent + week; a single answer: the intent for an intent-scoped agent, else the day).
 */
function cacheWriteOf<N extends AgentName>(
  name: N,
  agent: AgentConfig,
  at: RunPosition,
  result: AttemptResult<Answer<N>>,
  revalidatedKey: string | null,
): CacheWrite {
  if (result.kind === "revalidated" && revalidatedKey !== null) {
    return { kind: "revalidate", agent: name, scopeKey: revalidatedKey, etag: result.etag };
  }
  const answer = result.data;
  const coverage = answerCoverage(agent.scope, answer.kind === "pack");
  return {
    kind: "store",
    agent: name,
    scopeKey: coverageKey(coverage, at.intentId, at.week, at.day),
    etag: result.etag,
    payload: answer.kind === "pack" ? answer.pack : answer.data,
  };
}

/** Whatever escaped the policy, as an `AgentCallError` (the original kept as `cause`). */
function asCallError(error: unknown, run: FanOutRun): AgentCallError {
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
