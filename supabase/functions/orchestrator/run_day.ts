/**
 * Running one learning day (spec 5.4): load what the run needs in one transaction, fan out to
 * the agents with no database connection held, compose the plan, then store session, revision,
 * cache, call log and event in a second transaction.
 */
import type { AgentRequest } from "../_shared/agents/protocol.ts";
import type { CacheEntry, CacheWrite } from "../_shared/agents/cache.ts";
import { type CallRecord, fanOut } from "../_shared/agents/client.ts";
import { type AgentConfig, parseAgentRows } from "../_shared/agents/registry.ts";
import { scopeKey } from "../_shared/agents/scope.ts";
import { type AgentSignal, isCacheHit, type Signals } from "../_shared/agents/signal.ts";
import type { Config } from "../_shared/config.ts";
import { asUser, jsonb, type Sql, type Tx, type UserClaims } from "../_shared/db.ts";
import { noActiveIntent } from "../_shared/errors.ts";
import { recordEvent } from "../_shared/events.ts";
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
}

export interface RunDayInput {
  userId: string;
  claims: UserClaims;
  body: DayRunBody;
  traceId: string;
  /** Called as each agent settles (SSE progress). */
  onAgentSettled?: (signal: AgentSignal) => void;
  signal?: AbortSignal;
}

export interface RunDayResult {
  session: SessionView;
  /** True when this call created the session (201). */
  created: boolean;
  /** False when an existing session was returned without calling agents. */
  ran: boolean;
}

interface History {
  completed_sessions: number;
  last_confidence: number | null;
  last_completion_time_min: number | null;
  last_hint: string | null;
  last_week: number | null;
  last_day: number | null;
  last_planned_minutes: number | null;
}

interface RunContext {
  intent: IntentRow;
  agents: AgentConfig[];
  settings: Settings;
  history: History;
  cache: Map<AgentConfig["name"], CacheEntry>;
}

/** What the first transaction found: no intent, a session to return as is, or a run to do. */
type Loaded =
  | { kind: "no_intent" }
  | { kind: "existing"; session: SessionRow }
  | { kind: "run"; context: RunContext };

async function load(
  tx: Tx,
  userId: string,
  body: DayRunBody,
  edgeBaseUrl: string,
): Promise<Loaded> {
  const [intent] = await tx<IntentRow[]>`
    select * from wisely.intents where user_id = ${userId} and active
  `;
  if (!intent) return { kind: "no_intent" };
  if (!body.force_refresh) {
    const [existing] = await tx<SessionRow[]>`
      select * from wisely.sessions
      where intent_id = ${intent.id} and week = ${body.week} and day = ${body.day}
    `;
    if (existing) return { kind: "existing", session: existing };
  }
  const agents = parseAgentRows(await tx`select * from wisely.agents`, edgeBaseUrl);
  const settings = await loadSettings(tx);
  const [history] = await tx<History[]>`
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
      select c.confidence, c.completion_time_min, c.next_day_hint, s.week, s.day, s.total_minutes
      from wisely.completions c join wisely.sessions s on s.id = c.session_id
      where s.intent_id = ${intent.id}
        and (s.week, s.day) < (${body.week}::int, ${body.day}::int)
      order by s.week desc, s.day desc
      limit 1
    ) last on true
  `;
  const keys = new Map(
    agents.map((agent) => [agent.name, scopeKey(agent.scope, intent.id, body.week, body.day)]),
  );
  const rows = await tx<CacheRow[]>`
    select agent, scope_key, etag, payload, fetched_at, validated_at
    from wisely.agent_cache where user_id = ${userId} and scope_key = any(${[...keys.values()]})
  `;
  const cache = new Map<AgentConfig["name"], CacheEntry>();
  for (const row of rows) {
    const agent = agents.find((a) => a.name === row.agent);
    if (!agent || keys.get(agent.name) !== row.scope_key) continue;
    cache.set(agent.name, {
      agent: agent.name,
      scopeKey: row.scope_key,
      etag: row.etag,
      payload: row.payload,
      fetchedAt: row.fetched_at,
      validatedAt: row.validated_at,
    });
  }
  return { kind: "run", context: { intent, agents, settings, history, cache } };
}

interface CacheRow {
  agent: string;
  scope_key: string;
  etag: string | null;
  payload: unknown;
  fetched_at: Date;
  validated_at: Date;
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

async function applyCacheWrites(tx: Tx, userId: string, writes: CacheWrite[]) {
  for (const write of writes) {
    if (write.kind === "store") {
      await tx`
        insert into wisely.agent_cache
          (user_id, agent, scope_key, etag, payload, fetched_at, validated_at)
        values (${userId}, ${write.agent}, ${write.scopeKey}, ${write.etag},
          ${jsonb(tx, write.payload)}, now(), now())
        on conflict (user_id, agent, scope_key) do update set
          etag = excluded.etag, payload = excluded.payload,
          fetched_at = excluded.fetched_at, validated_at = excluded.validated_at
      `;
    } else {
      await tx`
        update wisely.agent_cache set validated_at = now(), etag = coalesce(${write.etag}, etag)
        where user_id = ${userId} and agent = ${write.agent} and scope_key = ${write.scopeKey}
      `;
    }
  }
}

async function recordCalls(
  tx: Tx,
  userId: string,
  sessionId: string | null,
  traceId: string,
  calls: CallRecord[],
) {
  if (calls.length === 0) return;
  const rows = calls.map((call) => ({
    user_id: userId,
    session_id: sessionId,
    agent: call.agent,
    outcome: call.outcome,
    status: call.status,
    error_code: call.errorCode,
    attempts: call.attempts,
    latency_ms: Math.max(0, Math.round(call.latencyMs)),
    trace_id: traceId,
  }));
  await tx`insert into wisely.agent_calls ${tx(rows)}`;
}

/** Runs (or returns) the day's session for the user's active intent. */
export async function runDay(deps: RunDayDeps, input: RunDayInput): Promise<RunDayResult> {
  const { sql, config } = deps;
  const { userId, claims, body } = input;
  const loaded = await asUser(sql, claims, (tx) => load(tx, userId, body, config.edgeBaseUrl));
  if (loaded.kind === "no_intent") throw noActiveIntent();
  if (loaded.kind === "existing") {
    return { session: sessionView(loaded.session), created: false, ran: false };
  }
  const { context } = loaded;

  const { intent, history, settings } = context;
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
    deadlineMs: body.research ? settings.researchDeadlineMs : settings.deadlineMs,
    attemptTimeoutMs: settings.attemptTimeoutMs,
    staleFactor: settings.staleFactor,
    serviceJwt: config.edgeServiceJwt,
    traceId: input.traceId,
    fetch: deps.fetch,
    signal: input.signal,
    onSettle: input.onAgentSettled,
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
  const plan = {
    plan_md: composed.plan_md,
    plan_summary: composed.summary,
    plan: composed.plan,
    total_minutes: composed.plan.total_minutes,
    degraded_mode: settled.some((signal) => !signal.available),
    cache_hits: cacheHits,
    cache_misses: settled.length - cacheHits,
    signal_quality: signalQuality(fan.signals),
  };

  return await asUser(sql, claims, async (tx) => {
    await applyCacheWrites(tx, userId, fan.cacheWrites);
    const [inserted] = await tx<SessionRow[]>`
      insert into wisely.sessions (user_id, intent_id, week, day, revision, plan_md,
        plan_summary, plan, total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality)
      values (${userId}, ${intent.id}, ${body.week}, ${body.day}, 1, ${plan.plan_md},
        ${jsonb(tx, plan.plan_summary)}, ${jsonb(tx, plan.plan)},
        ${plan.total_minutes}, ${plan.degraded_mode}, ${plan.cache_hits}, ${plan.cache_misses},
        ${jsonb(tx, plan.signal_quality)})
      on conflict (intent_id, week, day) do nothing
      returning *
    `;
    let session = inserted;
    if (!session) {
      if (!body.force_refresh) {
        // Another request created it while we were asking the agents: theirs stands.
        const [winner] = await tx<SessionRow[]>`
          select * from wisely.sessions
          where intent_id = ${intent.id} and week = ${body.week} and day = ${body.day}
        `;
        await recordCalls(tx, userId, winner.id, input.traceId, fan.calls);
        return { session: sessionView(winner), created: false, ran: true };
      }
      [session] = await tx<SessionRow[]>`
        update wisely.sessions set revision = revision + 1, plan_md = ${plan.plan_md},
          plan_summary = ${jsonb(tx, plan.plan_summary)},
          plan = ${jsonb(tx, plan.plan)}, total_minutes = ${plan.total_minutes},
          degraded_mode = ${plan.degraded_mode}, cache_hits = ${plan.cache_hits},
          cache_misses = ${plan.cache_misses},
          signal_quality = ${jsonb(tx, plan.signal_quality)}, updated_at = now()
        where intent_id = ${intent.id} and week = ${body.week} and day = ${body.day}
        returning *
      `;
    }
    await tx`
      insert into wisely.plan_revisions (session_id, user_id, revision, plan_md, plan_summary,
        plan, degraded_mode, cache_hits, cache_misses, signal_quality)
      values (${session.id}, ${userId}, ${session.revision}, ${session.plan_md},
        ${jsonb(tx, session.plan_summary)}, ${jsonb(tx, session.plan)},
        ${session.degraded_mode}, ${session.cache_hits}, ${session.cache_misses},
        ${jsonb(tx, session.signal_quality)})
    `;
    await recordCalls(tx, userId, session.id, input.traceId, fan.calls);
    await recordEvent(tx, userId, "instructor_plan_created", {
      session_id: session.id,
      intent_id: intent.id,
      week: session.week,
      day: session.day,
      revision: session.revision,
      degraded_mode: session.degraded_mode,
      cache_hits: session.cache_hits,
      cache_misses: session.cache_misses,
    });
    return { session: sessionView(session), created: session.revision === 1, ran: true };
  });
}
