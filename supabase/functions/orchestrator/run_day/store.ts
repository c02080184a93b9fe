/**
 * The last step of a day run (spec 5.4): one call of `wisely.store_run` stores session (insert,
 * or the next revision) and revision, and through the security definer writers of migration
 * 20260101000600 (users cannot write bookkeeping tables themselves) the cache, call log and
 * event, and releases the claim.
 */
import { isCacheHit } from "../../_shared/agents/signal.ts";
import { commitBehind, jsonb, type Tx } from "../../_shared/db.ts";
import type { ComposedPlan } from "../../_shared/plan/types.ts";
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
 * One call of `wisely.store_run` (migration 20260101001800) stores everything: one round trip,
 * and its plans kept across runs. A session that exists already (force_refresh) gets the next
 * revision. It ends the transaction (COMMIT in the same round trip).
 */
async function writeRun(tx: Tx, record: RunRecord): Promise<SessionRow> {
  const { day, claimed, composed, stores, revalidations, calls } = record;
  const { userId, body } = day;
  const stored = tx<SessionRow[]>`
    select * from wisely.store_run(${crypto.randomUUID()}, ${userId}, ${claimed.intent.id},
      ${body.week}, ${body.day}, ${composed.plan_md}, ${jsonb(tx, composed.summary)},
      ${jsonb(tx, composed.plan)}, ${composed.plan.total_minutes}, ${record.degraded},
      ${record.cacheHits}, ${record.cacheMisses}, ${jsonb(tx, record.quality)}, ${day.opens},
      ${claimed.learner.at.on}::date, ${jsonb(tx, stores)}, ${jsonb(tx, revalidations)},
      ${jsonb(tx, calls)}, ${day.traceId}, ${claimed.claimId})
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
