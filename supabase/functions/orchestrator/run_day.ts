/**
 * Running one learning day (spec 5.4).
 *
 * 1. One transaction loads the intent and the day's session; when a run is needed it claims the
 *    (intent, week, day) in `wisely.run_claims` and loads agents, settings, history and cache.
 *    Concurrent identical requests find the claim and wait for the session instead (single
 *    flight across isolates).
 * 2. The agents are called with no database connection held.
 * 3. One transaction stores cache, session (insert, or the next revision), revision, call log
 *    and event, and releases the claim. Independent statements are pipelined, so the call log
 *    and the event add no round trip.
 */
import type { CacheEntry } from "../_shared/agents/cache.ts";
import { fanOut } from "../_shared/agents/client.ts";
import { sleep } from "../_shared/agents/deadline.ts";
import type { AgentPolicies } from "../_shared/agents/policies.ts";
import type { AgentRequest } from "../_shared/agents/protocol.ts";
import { type AgentConfig, parseAgentRows } from "../_shared/agents/registry.ts";
import { AGENT_SCOPES, scopeKey } from "../_shared/agents/scope.ts";
import { type AgentSignal, isCacheHit, type Signals } from "../_shared/agents/signal.ts";
import type { Config } from "../_shared/config.ts";
import {
  asUser,
  jsonb,
  recentTransactionMs,
  type Sql,
  type Tx,
  type UserClaims,
} from "../_shared/db.ts";
import { noActiveIntent } from "../_shared/errors.ts";
import type { EventType } from "../_shared/events.ts";
import { composePlan } from "../_shared/plan/compose.ts";
import type { PreviousCompletion } from "../_shared/plan/types.ts";
import type { DayRunBody } from "../_shared/schemas.ts";
import { loadSettings, type Settings } from "../_shared/settings.ts";
import type { IntentRow } from "./intents.ts";
import { type SessionRow, type SessionView, sessionView } from "./sessions.ts";

export interface RunDayDeps {
  sql: Sql;
  config: Config;
  /** The HTTP client for agent calls. Default: global fetch. */
  fetch?: typeof fetch;
  /** Retries, breakers, bulkheads and retry budgets (per isolate). Default: one attempt per call. */
  policies?: AgentPolicies;
}

export interface RunDayInput {
  userId: string;
  claims: UserClaims;
  body: DayRunBody;
  traceId: string;
  /** Called as each agent settles (SSE progress). */
  onAgentSettled?: (signal: AgentSignal) => void;
  /** Cancels the agent calls (not the write of what they returned). */
  signal?: AbortSignal;
  /**
   * `performance.now()` when the request arrived; the run's deadline counts from here, so time
   * spent queueing for a database connection is inside it. Default: when runDay is called.
   */
  receivedAt?: number;
}

export interface RunDayResult {
  session: SessionView;
  /** True when this call created the session (201). */
  created: boolean;
  /** False when an existing session was returned without calling agents. */
  ran: boolean;
}

/** A claim outlives its run's deadline by this much (time to store the result). */
const CLAIM_GRACE_MS = 5_000;
/**
 * Of the run's deadline, this share (at least WRITE_RESERVE_MIN_MS, and at least
 * WRITE_RESERVE_LOAD_FACTOR times what a transaction takes now, waiting for a pooled connection
 * included) is kept back from the agents for storing, so the answer, not just the fan-out,
 * meets the deadline.
 */
const WRITE_RESERVE_SHARE = 0.1;
const WRITE_RESERVE_MIN_MS = 500;
const WRITE_RESERVE_LOAD_FACTOR = 2;
/** The agents always get at least this long, however late the run started. */
const MIN_FAN_OUT_MS = 1_000;
/** A claim whose release failed (database gone) is retried this often, then left to expire. */
const RELEASE_RETRY_MS = 1_000;
const RELEASE_ATTEMPTS = 5;
/** How often a waiting request looks for the claimed run's session: starts fast, backs off. */
const WAIT_POLL_FIRST_MS = 25;
const WAIT_POLL_MAX_MS = 250;
/** Load → wait → load cycles before giving up on a day whose runs keep failing. */
const MAX_CLAIM_ROUNDS = 5;

interface History {
  completed_sessions: number;
  last_confidence: number | null;
  last_completion_time_min: number | null;
  last_hint: string | null;
  last_week: number | null;
  last_day: number | null;
  last_planned_minutes: number | null;
}

interface CacheRow {
  agent: string;
  scope_key: string;
  etag: string | null;
  payload: unknown;
  fetched_at: Date;
  validated_at: Date;
}

interface RunContext {
  intent: IntentRow;
  claimId: string;
  agents: AgentConfig[];
  settings: Settings;
  history: History;
  cache: Map<AgentConfig["name"], CacheEntry>;
}

/** What the first transaction found. */
type Loaded =
  | { kind: "no_intent" }
  | { kind: "existing"; session: SessionRow }
  | { kind: "busy"; intentId: string; expiresAt: Date }
  | { kind: "run"; context: RunContext };

function sessionQuery(tx: Tx, userId: string, body: DayRunBody) {
  return tx<SessionRow[]>`
    select s.* from wisely.sessions s
    join wisely.intents i on i.id = s.intent_id
    where i.user_id = ${userId} and i.active and s.week = ${body.week} and s.day = ${body.day}
  `;
}

async function load(
  tx: Tx,
  userId: string,
  body: DayRunBody,
  edgeBaseUrl: string,
): Promise<Loaded> {
  const [[intent], [existing]] = await Promise.all([
    tx<IntentRow[]>`select * from wisely.intents where user_id = ${userId} and active`,
    sessionQuery(tx, userId, body),
  ]);
  if (!intent) return { kind: "no_intent" };
  if (existing && !body.force_refresh) return { kind: "existing", session: existing };

  // The claim lasts the run's deadline plus a grace period: long enough for any run that is
  // still alive, short enough that a crashed one does not block the day for long.
  const deadlineKey = body.research ? "run.research_deadline_ms" : "run.deadline_ms";
  const deadlineDefault = body.research ? 30_000 : 12_000;
  const scopeKeys = AGENT_SCOPES.map((scope) => scopeKey(scope, intent.id, body.week, body.day));
  // Pipelined: the claim, a second look at the session, and everything a run needs. Each
  // statement sees what committed before it started, so the second look catches a run that
  // finished between the first look and the claim.
  const [[claim], [finished], agentRows, settings, [history], cacheRows] = await Promise.all([
    tx<{ claim_id: string | null; expires_at: Date }[]>`
      with taken as (
        insert into wisely.run_claims as c (intent_id, week, day, user_id, expires_at)
        values (${intent.id}, ${body.week}, ${body.day}, ${userId}, now() + make_interval(
          secs => (coalesce(
            (select value::numeric from wisely.settings
              where key = ${deadlineKey} and jsonb_typeof(value) = 'number'),
            ${deadlineDefault}) + ${CLAIM_GRACE_MS}) / 1000.0))
        on conflict (intent_id, week, day) do update set
          claim_id = gen_random_uuid(), claimed_at = now(), expires_at = excluded.expires_at
          where c.expires_at < now()
        returning claim_id, expires_at
      )
      select claim_id, expires_at from taken
      union all
      select null, expires_at from wisely.run_claims
      where intent_id = ${intent.id} and week = ${body.week} and day = ${body.day}
        and not exists (select 1 from taken)
    `,
    sessionQuery(tx, userId, body),
    tx`select * from wisely.agents order by sort_order, name`,
    loadSettings(tx),
    tx<History[]>`
      select
        (select count(*)::int from wisely.completions c
          join wisely.sessions s on s.id = c.session_id
          where s.intent_id = ${intent.id}) as completed_sessions,
        last.confidence as last_confidence,
        last.completion_time_min as last_completion_time_min,
        last.next_day_hint as last_hint,
        last.week as last_week,
        last.day as last_day,
        last.total_minutes as last_planned_minutes
      from (select 1) one
      left join lateral (
        select c.confidence, c.completion_time_min, c.next_day_hint, s.week, s.day,
          s.total_minutes
        from wisely.completions c join wisely.sessions s on s.id = c.session_id
        where s.intent_id = ${intent.id}
          and (s.week, s.day) < (${body.week}::int, ${body.day}::int)
        order by s.week desc, s.day desc
        limit 1
      ) last on true
    `,
    tx<CacheRow[]>`
      select agent, scope_key, etag, payload, fetched_at, validated_at
      from wisely.agent_cache
      where user_id = ${userId} and scope_key = any(${scopeKeys})
    `,
  ]);

  if (!claim?.claim_id) {
    return { kind: "busy", intentId: intent.id, expiresAt: claim?.expires_at ?? new Date() };
  }
  if (finished && !body.force_refresh) {
    await releaseClaim(tx, intent.id, body, claim.claim_id);
    return { kind: "existing", session: finished };
  }

  const agents = parseAgentRows(agentRows, edgeBaseUrl);
  const cache = new Map<AgentConfig["name"], CacheEntry>();
  for (const agent of agents) {
    const key = scopeKey(agent.scope, intent.id, body.week, body.day);
    const row = cacheRows.find((r) => r.agent === agent.name && r.scope_key === key);
    if (!row) continue;
    cache.set(agent.name, {
      agent: agent.name,
      scopeKey: key,
      etag: row.etag,
      payload: row.payload,
      fetchedAt: row.fetched_at,
      validatedAt: row.validated_at,
    });
  }
  return {
    kind: "run",
    context: { intent, claimId: claim.claim_id, agents, settings, history, cache },
  };
}

function releaseClaim(tx: Tx, intentId: string, body: DayRunBody, claimId: string) {
  return tx`
    delete from wisely.run_claims
    where intent_id = ${intentId} and week = ${body.week} and day = ${body.day}
      and claim_id = ${claimId}
  `;
}

/**
 * Waits while another request runs the day: returns its session once the claim is released,
 * or null when the claim expired or vanished without a session (the caller then tries again).
 */
async function waitForClaimedRun(
  sql: Sql,
  input: RunDayInput,
  intentId: string,
  expiresAt: Date,
): Promise<SessionRow | null> {
  let delay = WAIT_POLL_FIRST_MS;
  while (Date.now() < expiresAt.getTime()) {
    await sleep(delay);
    delay = Math.min(delay * 2, WAIT_POLL_MAX_MS);
    const [claim, session] = await asUser(sql, input.claims, (tx) =>
      Promise.all([
        tx`
          select 1 from wisely.run_claims
          where intent_id = ${intentId} and week = ${input.body.week}
            and day = ${input.body.day} and expires_at > now()
        `,
        sessionQuery(tx, input.userId, input.body),
      ]));
    if (claim.length === 0) return session[0] ?? null;
  }
  return null;
}

function previousCompletion(history: History): PreviousCompletion | null {
  if (
    history.last_week === null || history.last_day === null ||
    history.last_confidence === null || history.last_completion_time_min === null ||
    history.last_planned_minutes === null
  ) return null;
  return {
    week: history.last_week,
    day: history.last_day,
    confidence: history.last_confidence,
    completion_time_min: history.last_completion_time_min,
    planned_minutes: history.last_planned_minutes,
  };
}

function signalQuality(signals: Signals) {
  const quality: Record<string, unknown> = {};
  for (const signal of Object.values(signals)) {
    if (!signal) continue;
    quality[signal.agent] = {
      available: signal.available,
      fresh: signal.fresh,
      source: signal.source,
      latency_ms: Math.round(signal.latency_ms),
      attempts: signal.attempts,
    };
  }
  return quality;
}

/**
 * Releases a claim after a failed run, retrying for a few seconds when the database itself is
 * what failed, so waiting requests can take over before the claim expires. Never throws.
 */
async function releaseAfterFailure(sql: Sql, input: RunDayInput, context: RunContext) {
  for (let attempt = 1; attempt <= RELEASE_ATTEMPTS; attempt++) {
    try {
      await asUser(
        sql,
        input.claims,
        (tx) => releaseClaim(tx, context.intent.id, input.body, context.claimId),
      );
      return;
    } catch {
      if (attempt < RELEASE_ATTEMPTS) await sleep(RELEASE_RETRY_MS);
    }
  }
}

/**
 * The agents' share of the run deadline: what is left since the request arrived, less the write
 * reserve. `storeEstimateMs` is what a transaction takes now (this run's load, or what the
 * pool's transactions took lately, whichever is longer): under a queue for connections the
 * store faces it too.
 */
export function fanOutDeadlineMs(
  deadlineMs: number,
  elapsedMs: number,
  storeEstimateMs: number,
): number {
  const reserve = Math.max(
    WRITE_RESERVE_MIN_MS,
    deadlineMs * WRITE_RESERVE_SHARE,
    storeEstimateMs * WRITE_RESERVE_LOAD_FACTOR,
  );
  return Math.max(MIN_FAN_OUT_MS, Math.round(deadlineMs - elapsedMs - reserve));
}

/** Calls the agents, composes the plan and stores everything; the claim is released either way. */
async function execute(
  deps: RunDayDeps,
  input: RunDayInput,
  context: RunContext,
  timing: { receivedAt: number; loadMs: number },
): Promise<RunDayResult> {
  const { sql, config } = deps;
  const { userId, claims, body } = input;
  const { intent, history, settings } = context;
  try {
    const request: AgentRequest = {
      user_id: userId,
      intent: {
        id: intent.id,
        topic: intent.topic,
        depth: intent.depth,
        end_goal: intent.end_goal,
        time_per_day_min: intent.time_per_day_min,
        user_tz: intent.user_tz,
      },
      week: body.week,
      day: body.day,
      research: body.research,
      history: {
        completed_sessions: history.completed_sessions,
        last_confidence: history.last_confidence,
        last_completion_time_min: history.last_completion_time_min,
        last_hint: history.last_hint,
      },
    };
    const fan = await fanOut({
      request,
      agents: context.agents.filter((agent) => agent.enabled),
      cache: context.cache,
      forceRefresh: body.force_refresh,
      deadlineMs: fanOutDeadlineMs(
        body.research ? settings.researchDeadlineMs : settings.deadlineMs,
        performance.now() - timing.receivedAt,
        Math.max(timing.loadMs, recentTransactionMs(sql)),
      ),
      attemptTimeoutMs: settings.attemptTimeoutMs,
      staleFactor: settings.staleFactor,
      serviceJwt: config.edgeServiceJwt,
      traceId: input.traceId,
      fetch: deps.fetch,
      signal: input.signal,
      onSettle: input.onAgentSettled,
      policyFor: deps.policies?.forRun(settings),
    });

    const composed = composePlan({
      intent: {
        topic: intent.topic,
        depth: intent.depth,
        end_goal: intent.end_goal,
        time_per_day_min: intent.time_per_day_min,
      },
      week: body.week,
      day: body.day,
      signals: fan.signals,
      previous: previousCompletion(history),
    });
    const settled = Object.values(fan.signals).filter((s) => s !== undefined);
    const cacheHits = settled.filter(isCacheHit).length;
    const cacheMisses = settled.length - cacheHits;
    const degraded = settled.some((signal) => !signal.available);
    const quality = signalQuality(fan.signals);

    const stores = fan.cacheWrites.filter((w) => w.kind === "store").map((w) => ({
      agent: w.agent,
      scope_key: w.scopeKey,
      etag: w.etag,
      payload: w.payload,
    }));
    const revalidations = fan.cacheWrites.filter((w) => w.kind === "revalidate").map((w) => ({
      agent: w.agent,
      scope_key: w.scopeKey,
      etag: w.etag,
    }));
    const calls = fan.calls.map((call) => ({
      agent: call.agent,
      outcome: call.outcome,
      status: call.status,
      error_code: call.errorCode,
      attempts: call.attempts,
      latency_ms: Math.max(0, Math.round(call.latencyMs)),
    }));
    return await asUser(sql, claims, async (tx) => {
      // One statement stores everything: with `prepare: false` every parameterised statement
      // costs a describe round trip, and these writes were most of day.run's database time.
      // A session that exists already (force_refresh) gets the next revision.
      const [session] = await tx<SessionRow[]>`
        with s as (
          insert into wisely.sessions as s (id, user_id, intent_id, week, day, revision, plan_md,
            plan_summary, plan, total_minutes, degraded_mode, cache_hits, cache_misses,
            signal_quality)
          values (${crypto.randomUUID()}, ${userId}, ${intent.id}, ${body.week}, ${body.day}, 1,
            ${composed.plan_md}, ${jsonb(tx, composed.summary)}, ${jsonb(tx, composed.plan)},
            ${composed.plan.total_minutes}, ${degraded}, ${cacheHits}, ${cacheMisses},
            ${jsonb(tx, quality)})
          on conflict (intent_id, week, day) do update set
            revision = s.revision + 1, plan_md = excluded.plan_md,
            plan_summary = excluded.plan_summary, plan = excluded.plan,
            total_minutes = excluded.total_minutes, degraded_mode = excluded.degraded_mode,
            cache_hits = excluded.cache_hits, cache_misses = excluded.cache_misses,
            signal_quality = excluded.signal_quality, updated_at = now()
          returning *
        ),
        revision as (
          insert into wisely.plan_revisions (session_id, user_id, revision, plan_md,
            plan_summary, plan, degraded_mode, cache_hits, cache_misses, signal_quality)
          select id, user_id, revision, plan_md, plan_summary, plan, degraded_mode, cache_hits,
            cache_misses, signal_quality
          from s
        ),
        call_log as (
          insert into wisely.agent_calls (user_id, session_id, agent, outcome, status,
            error_code, attempts, latency_ms, trace_id)
          select s.user_id, s.id, c.agent, c.outcome, c.status, c.error_code, c.attempts,
            c.latency_ms, ${input.traceId}
          from s cross join jsonb_to_recordset(${jsonb(tx, calls)}) as c (agent text,
            outcome text, status integer, error_code text, attempts integer, latency_ms integer)
        ),
        stored as (
          insert into wisely.agent_cache
            (user_id, agent, scope_key, etag, payload, fetched_at, validated_at)
          select ${userId}, w.agent, w.scope_key, w.etag, w.payload, now(), now()
          from jsonb_to_recordset(${jsonb(tx, stores)}) as w (agent text, scope_key text,
            etag text, payload jsonb)
          on conflict (user_id, agent, scope_key) do update set
            etag = excluded.etag, payload = excluded.payload,
            fetched_at = excluded.fetched_at, validated_at = excluded.validated_at
        ),
        revalidated as (
          update wisely.agent_cache c set validated_at = now(), etag = coalesce(w.etag, c.etag)
          from jsonb_to_recordset(${jsonb(tx, revalidations)}) as w (agent text,
            scope_key text, etag text)
          where c.user_id = ${userId} and c.agent = w.agent and c.scope_key = w.scope_key
        ),
        event as (
          insert into wisely.events (user_id, type, payload)
          -- The payload of EventPayloads["instructor_plan_created"] (ids, week, day, flags).
          select s.user_id, ${"instructor_plan_created" satisfies EventType}, jsonb_build_object(
              'session_id', s.id, 'intent_id', s.intent_id, 'week', s.week, 'day', s.day,
              'revision', s.revision, 'degraded_mode', s.degraded_mode,
              'cache_hits', s.cache_hits, 'cache_misses', s.cache_misses)
          from s
        ),
        released as (
          delete from wisely.run_claims
          where intent_id = ${intent.id} and week = ${body.week} and day = ${body.day}
            and claim_id = ${context.claimId}
        )
        select * from s
      `;
      return { session: sessionView(session), created: session.revision === 1, ran: true };
    });
  } catch (error) {
    // Let waiting requests take over now rather than when the claim expires; not awaited, so
    // the caller gets its error (a 503 when the database is down) at once.
    releaseAfterFailure(sql, input, context);
    throw error;
  }
}

/**
 * Runs the day's session for the user's active intent, or returns it when it exists (or when a
 * concurrent identical request creates it).
 */
export async function runDay(deps: RunDayDeps, input: RunDayInput): Promise<RunDayResult> {
  const { sql, config } = deps;
  const receivedAt = input.receivedAt ?? performance.now();
  for (let round = 1;; round++) {
    const loadStarted = performance.now();
    const loaded = await asUser(
      sql,
      input.claims,
      (tx) => load(tx, input.userId, input.body, config.edgeBaseUrl),
    );
    switch (loaded.kind) {
      case "no_intent":
        throw noActiveIntent();
      case "existing":
        return { session: sessionView(loaded.session), created: false, ran: false };
      case "run":
        return await execute(deps, input, loaded.context, {
          receivedAt,
          loadMs: performance.now() - loadStarted,
        });
      case "busy": {
        const session = await waitForClaimedRun(sql, input, loaded.intentId, loaded.expiresAt);
        if (session) return { session: sessionView(session), created: false, ran: false };
        if (round >= MAX_CLAIM_ROUNDS) {
          throw new Error("day.run: the claimed run ended without a session, repeatedly");
        }
      }
    }
  }
}
