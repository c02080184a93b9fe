/**
 * Running one learning day (spec 5.4).
 *
 * 1. One transaction loads the intent and the day's session; when a run is needed it claims the
 *    (intent, week, day) in `wisely.run_claims` (`wisely.claim_run`, which fixes the claim's
 *    expiry) and loads agents, settings, history and cache.
 *    Concurrent identical requests find the claim and wait for the session instead (single
 *    flight across isolates).
 * 2. The agents are called with no database connection held.
 * 3. One statement stores session (insert, or the next revision) and revision, and through
 *    the security definer writers of migration 20260101000600 (users cannot write bookkeeping
 *    tables themselves) the cache, call log and event, and releases the claim.
 */
import { type CacheEntry, pickCacheEntries } from "../_shared/agents/cache.ts";
import { fanOut } from "../_shared/agents/client.ts";
import { sleep } from "../_shared/agents/deadline.ts";
import type { AgentPolicies } from "../_shared/agents/policies.ts";
import type { AgentRequest } from "../_shared/agents/protocol.ts";
import { type AgentConfig, parseAgentRows } from "../_shared/agents/registry.ts";
import { AGENT_SCOPES, scopeKey } from "../_shared/agents/scope.ts";
import { type AgentSignal, isCacheHit } from "../_shared/agents/signal.ts";
import { runInBackground } from "../_shared/background.ts";
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
import { learnerModel, type LoadedLearner, loadLearner } from "../_shared/memory/learner.ts";
import { decideDay } from "../_shared/plan/adaptation.ts";
import { composePlan } from "../_shared/plan/compose.ts";
import type { PreviousCompletion } from "../_shared/plan/types.ts";
import type { DayRunBody } from "../_shared/schemas.ts";
import { loadSettings, type Settings } from "../_shared/settings.ts";
import type { IntentRow } from "./intents.ts";
import { composeProvisional, type ProvisionalRun, type WaitingRun } from "./provisional.ts";
import { signalQuality } from "./signal_quality.ts";
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
   * The learner is shown the session (their own day.run): it is marked opened. day.tick's
   * pre-generation passes false. @default true
   */
  opens?: boolean;
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
  /** The learner model of the day (memory/learner.ts). */
  learner: LoadedLearner;
  cache: Map<AgentConfig["name"], CacheEntry>;
}

/** What the first transaction found. */
type Loaded =
  | { kind: "no_intent" }
  | { kind: "existing"; session: SessionRow }
  | { kind: "busy"; expiresAt: Date; waiting: WaitingRun }
  | { kind: "run"; context: RunContext };

/**
 * `stale`: a session nobody opened yet whose inputs changed since it was composed (a
 * completion marked it, or it was planned for an earlier local date): composed again instead
 * of returned (migration 20260101000900).
 */
type StoredSession = SessionRow & { opened_at: Date | null; stale: boolean };

function sessionQuery(tx: Tx, userId: string, body: DayRunBody) {
  return tx<StoredSession[]>`
    select s.*, (s.opened_at is null and (s.inputs_changed_at is not null
      or s.planned_on < (now() at time zone i.user_tz)::date)) as stale
    from wisely.sessions s
    join wisely.intents i on i.id = s.intent_id
    where i.user_id = ${userId} and i.active and s.week = ${body.week} and s.day = ${body.day}
  `;
}

/**
 * Returns the stored session, marking it opened when the learner is the one shown it (its
 * `state` follows: a trigger of migration 20260101001100 keeps it true to opened_at, planned_on
 * and the completion; day.tick's runs, `opens: false`, leave it `planned`).
 */
async function returnExisting(tx: Tx, session: StoredSession, opens: boolean): Promise<Loaded> {
  if (opens && session.opened_at === null) {
    await tx`update wisely.sessions set opened_at = now() where id = ${session.id}`;
  }
  return { kind: "existing", session };
}

async function load(
  tx: Tx,
  userId: string,
  body: DayRunBody,
  edgeBaseUrl: string,
  opens: boolean,
): Promise<Loaded> {
  const [[intent], [existing]] = await Promise.all([
    tx<IntentRow[]>`select * from wisely.intents where user_id = ${userId} and active`,
    sessionQuery(tx, userId, body),
  ]);
  if (!intent) return { kind: "no_intent" };
  if (existing && !body.force_refresh && !existing.stale) {
    return await returnExisting(tx, existing, opens);
  }

  const scopeKeys = AGENT_SCOPES.map((scope) => scopeKey(scope, intent.id, body.week, body.day));
  // Pipelined: the claim, a second look at the session, and everything a run needs. Each
  // statement sees what committed before it started, so the second look catches a run that
  // finished between the first look and the claim.
  const loaded = await Promise.all([
    // The claim lasts the run's deadline plus a grace period (the function reads both): long
    // enough for any run that is still alive, short enough that a crashed one does not block
    // the day for long. A null claim_id: another run holds the day until expires_at.
    tx<{ claim_id: string | null; expires_at: Date }[]>`
      select claim_id, expires_at
      from wisely.claim_run(${intent.id}, ${body.week}, ${body.day}, ${body.research})
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
    loadLearner(tx, intent.id, body.week, body.day),
  ]);
  const [[claim], [finished], agentRows, settings, [history], cacheRows, learner] = loaded;

  const agents = parseAgentRows(agentRows, edgeBaseUrl);
  const cache = cacheEntries(agents, cacheRows, intent.id, body);
  if (!claim?.claim_id) {
    // What a provisional answer needs if the other run outlasts this request's deadline.
    const waiting: WaitingRun = {
      intent,
      agents,
      settings,
      cache,
      request: agentRequest(userId, intent, body, history, learner),
      previous: previousCompletion(history),
      learner: learner.state,
    };
    return { kind: "busy", expiresAt: claim?.expires_at ?? new Date(), waiting };
  }
  if (finished && !body.force_refresh && !finished.stale) {
    await releaseClaim(tx, intent.id, body, claim.claim_id);
    return await returnExisting(tx, finished, opens);
  }
  return {
    kind: "run",
    context: { intent, claimId: claim.claim_id, agents, settings, history, learner, cache },
  };
}

/**
 * The cache entry each agent is served from: only one that covers this day (a week pack, the
 * day's own single answer, or the intent's answer; spec 6.1, `pickCacheEntries`).
 */
function cacheEntries(
  agents: AgentConfig[],
  rows: CacheRow[],
  intentId: string,
  body: DayRunBody,
): Map<AgentConfig["name"], CacheEntry> {
  return pickCacheEntries(agents, rows, { intentId, week: body.week, day: body.day });
}

function releaseClaim(tx: Tx, intentId: string, body: DayRunBody, claimId: string) {
  return tx`select wisely.release_run(${intentId}, ${body.week}, ${body.day}, ${claimId})`;
}

/** How a wait for another request's run of the day ended. */
type Waited =
  | { kind: "session"; session: SessionRow }
  /** The claim expired or vanished without a session: the caller may claim the day. */
  | { kind: "free" }
  /** This request's own deadline came first: it answers provisionally (provisional.ts). */
  | { kind: "deadline" };

/**
 * When a request waiting on another run must stop waiting (`performance.now()` clock): its own
 * deadline, counted from its arrival, less what composing and sending the answer may take
 * (a transaction's time now, twice, and at least WRITE_RESERVE_MIN_MS).
 */
function waitEndsAt(sql: Sql, body: DayRunBody, settings: Settings, receivedAt: number) {
  const deadlineMs = body.research ? settings.researchDeadlineMs : settings.deadlineMs;
  const reserve = Math.max(
    WRITE_RESERVE_MIN_MS,
    recentTransactionMs(sql) * WRITE_RESERVE_LOAD_FACTOR,
  );
  return receivedAt + deadlineMs - reserve;
}

/**
 * Waits while another request runs the day, polling until its claim is released (its session,
 * or `free`), or until `endsAt` (`deadline`): a waiting request never outlives its own
 * deadline, whatever the other run's is.
 */
async function waitForClaimedRun(
  sql: Sql,
  input: RunDayInput,
  intentId: string,
  expiresAt: Date,
  endsAt: number,
): Promise<Waited> {
  let delay = WAIT_POLL_FIRST_MS;
  while (Date.now() < expiresAt.getTime()) {
    const left = endsAt - performance.now();
    if (left <= 0) return { kind: "deadline" };
    await sleep(Math.min(delay, left));
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
    if (claim.length === 0) {
      return session[0] ? { kind: "session", session: session[0] } : { kind: "free" };
    }
  }
  return { kind: "free" };
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

/** What the agents are asked (spec 6.2), with the learner model and today's decision. */
function agentRequest(
  userId: string,
  intent: IntentRow,
  body: DayRunBody,
  history: History,
  learner: LoadedLearner,
): AgentRequest {
  return {
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
    learner: learnerModel(learner, decideDay(learner.state, intent.time_per_day_min)),
  };
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
    const request = agentRequest(userId, intent, body, history, context.learner);
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
      serviceKey: config.edgeServiceKey,
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
      learner: context.learner.state,
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
      // A session that exists already (force_refresh) gets the next revision. The bookkeeping
      // writers are volatile functions, so they see the session row `s` wrote (a sibling
      // CTE's rows are otherwise invisible); the materialised CTEs are joined into the final
      // select, which makes each run exactly once.
      const [session] = await tx<SessionRow[]>`
        with s as (
          insert into wisely.sessions as s (id, user_id, intent_id, week, day, revision, plan_md,
            plan_summary, plan, total_minutes, degraded_mode, cache_hits, cache_misses,
            signal_quality, opened_at, planned_on)
          values (${crypto.randomUUID()}, ${userId}, ${intent.id}, ${body.week}, ${body.day}, 1,
            ${composed.plan_md}, ${jsonb(tx, composed.summary)}, ${jsonb(tx, composed.plan)},
            ${composed.plan.total_minutes}, ${degraded}, ${cacheHits}, ${cacheMisses},
            ${jsonb(tx, quality)},
            case when ${input.opens !== false}::boolean then now() end,
            ${context.learner.at.on}::date)
          on conflict (intent_id, week, day) do update set
            revision = s.revision + 1, plan_md = excluded.plan_md,
            plan_summary = excluded.plan_summary, plan = excluded.plan,
            total_minutes = excluded.total_minutes, degraded_mode = excluded.degraded_mode,
            cache_hits = excluded.cache_hits, cache_misses = excluded.cache_misses,
            signal_quality = excluded.signal_quality, updated_at = now(),
            -- Composed again: current, and opened if it was or is now shown.
            opened_at = coalesce(s.opened_at, excluded.opened_at),
            planned_on = excluded.planned_on, inputs_changed_at = null
          returning *
        ),
        revision as (
          insert into wisely.plan_revisions (session_id, user_id, revision, plan_md,
            plan_summary, plan, degraded_mode, cache_hits, cache_misses, signal_quality)
          select id, user_id, revision, plan_md, plan_summary, plan, degraded_mode, cache_hits,
            cache_misses, signal_quality
          from s
        ),
        cached as materialized (
          select wisely.store_agent_cache(${jsonb(tx, stores)}, ${jsonb(tx, revalidations)})
        ),
        booked as materialized (
          select
            wisely.record_agent_calls(s.id, ${jsonb(tx, calls)}, ${input.traceId}),
            -- The payload of EventPayloads["instructor_plan_created"] (ids, week, day, flags).
            wisely.record_event(${"instructor_plan_created" satisfies EventType},
              jsonb_build_object('session_id', s.id, 'intent_id', s.intent_id, 'week', s.week,
                'day', s.day, 'revision', s.revision, 'degraded_mode', s.degraded_mode,
                'cache_hits', s.cache_hits, 'cache_misses', s.cache_misses)),
            wisely.release_run(${intent.id}, ${body.week}, ${body.day}, ${context.claimId})
          from s
        )
        select s.* from s, cached, booked
      `;
      return { session: sessionView(session), created: session.revision === 1, ran: true };
    });
  } catch (error) {
    // Let waiting requests take over now rather than when the claim expires; not awaited, so
    // the caller gets its error (a 503 when the database is down) at once.
    runInBackground(releaseAfterFailure(sql, input, context));
    throw error;
  }
}

/**
 * Runs the day's session for the user's active intent, or returns it when it exists (or when a
 * concurrent identical request creates it). A request that waits on another run of the day
 * until its own deadline answers with a provisional plan instead (provisional.ts).
 */
export async function runDay(
  deps: RunDayDeps,
  input: RunDayInput,
): Promise<RunDayResult | ProvisionalRun> {
  const { sql, config } = deps;
  const receivedAt = input.receivedAt ?? performance.now();
  for (let round = 1;; round++) {
    const loadStarted = performance.now();
    const loaded = await asUser(
      sql,
      input.claims,
      (tx) => load(tx, input.userId, input.body, config.edgeBaseUrl, input.opens !== false),
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
        const { waiting, expiresAt } = loaded;
        const endsAt = waitEndsAt(sql, input.body, waiting.settings, receivedAt);
        const waited = await waitForClaimedRun(sql, input, waiting.intent.id, expiresAt, endsAt);
        if (waited.kind === "session") {
          return { session: sessionView(waited.session), created: false, ran: false };
        }
        // Out of time (or of rounds, when runs keep ending without a session): answer now.
        if (
          waited.kind === "deadline" || performance.now() >= endsAt || round >= MAX_CLAIM_ROUNDS
        ) {
          return await composeProvisional({
            waiting,
            claimExpiresAt: expiresAt,
            traceId: input.traceId,
            onAgentSettled: input.onAgentSettled,
          });
        }
      }
    }
  }
}
