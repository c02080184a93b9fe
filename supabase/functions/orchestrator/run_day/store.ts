/**
 * The last step of a day run (spec 5.4): one statement stores session (insert, or the next
 * revision) and revision, and through the security definer writers of migration
 * 20260101000600 (users cannot write bookkeeping tables themselves) the cache, call log and
 * event, and releases the claim.
 */
import { isCacheHit } from "../../_shared/agents/signal.ts";
import { commitBehind, jsonb, type Tx } from "../../_shared/db.ts";
import type { ComposedPlan } from "../../_shared/plan/types.ts";
import type { EventType } from "../../_shared/events.ts";
import type { SessionRow } from "../sessions.ts";
import { signalQuality } from "../signal_quality.ts";
import type { ClaimedRun, DayRef } from "./claim.ts";
import type { FannedOut } from "./fan_out.ts";

export interface StoreDay extends DayRef {
  traceId: string;
  /** The learner is shown the session: it is stored opened. */
  opens: boolean;
}

/** Stores the run in one transaction of the user's; resolves with the stored session. */
export async function storeRun(
  day: StoreDay,
  claimed: ClaimedRun,
  { fan, composed }: FannedOut,
): Promise<SessionRow> {
  const settled = Object.values(fan.signals).filter((s) => s !== undefined);
  const cacheHits = settled.filter(isCacheHit).length;
  const record: RunRecord = {
    day,
    claimed,
    composed,
    degraded: settled.some((signal) => !signal.available),
    cacheHits,
    cacheMisses: settled.length - cacheHits,
    quality: signalQuality(fan.signals),
    ...bookkeeping(fan),
  };
  return await day.db.transaction((tx) => writeRun(tx, record));
}

/** Everything one run stores. */
interface RunRecord extends ReturnType<typeof bookkeeping> {
  day: StoreDay;
  claimed: ClaimedRun;
  composed: ComposedPlan;
  degraded: boolean;
  cacheHits: number;
  cacheMisses: number;
  quality: ReturnType<typeof signalQuality>;
}

/**
 * One statement stores everything, so the writes that were most of day.run's database time cost
 * one round trip and one plan, whatever the driver pipelines. A session that
 * exists already (force_refresh) gets the next revision. The bookkeeping writers are volatile
 * functions, so they see the session row `s` wrote (a sibling CTE's rows are otherwise
 * invisible); the materialised CTEs are joined into the final select, which makes each run
 * exactly once. It ends the transaction (COMMIT in the same round trip).
 */
async function writeRun(tx: Tx, record: RunRecord): Promise<SessionRow> {
  const { day, claimed, composed, stores, revalidations, calls } = record;
  const { userId, body } = day;
  const { intent } = claimed;
  const stored = tx<SessionRow[]>`
    with s as (
      insert into wisely.sessions as s (id, user_id, intent_id, week, day, revision, plan_md,
        plan_summary, plan, total_minutes, degraded_mode, cache_hits, cache_misses,
        signal_quality, opened_at, planned_on)
      values (${crypto.randomUUID()}, ${userId}, ${intent.id}, ${body.week}, ${body.day}, 1,
        ${composed.plan_md}, ${jsonb(tx, composed.summary)}, ${jsonb(tx, composed.plan)},
        ${composed.plan.total_minutes}, ${record.degraded}, ${record.cacheHits},
        ${record.cacheMisses}, ${jsonb(tx, record.quality)},
        case when ${day.opens}::boolean then now() end,
        ${claimed.learner.at.on}::date)
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
        wisely.record_agent_calls(s.id, ${jsonb(tx, calls)}, ${day.traceId}),
        -- The payload of EventPayloads["instructor_plan_created"] (ids, week, day, flags).
        wisely.record_event(${"instructor_plan_created" satisfies EventType},
          jsonb_build_object('session_id', s.id, 'intent_id', s.intent_id, 'week', s.week,
            'day', s.day, 'revision', s.revision, 'degraded_mode', s.degraded_mode,
            'cache_hits', s.cache_hits, 'cache_misses', s.cache_misses)),
        wisely.release_run(${intent.id}, ${body.week}, ${body.day}, ${claimed.claimId})
      from s
    )
    select s.* from s, cached, booked
  `.execute();
  // The transaction's only statement: COMMIT goes out with it.
  const [session] = await commitBehind(tx, stored);
  return session;
}

/** The fan-out's cache writes and call log, as the bookkeeping writers take them. */
function bookkeeping(fan: FannedOut["fan"]) {
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
  return { stores, revalidations, calls };
}
