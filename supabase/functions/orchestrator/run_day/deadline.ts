/**
 * How a day run spends its deadline (spec 6.3): the agents get what is left since the request
 * arrived, less a reserve for storing, so the answer, not just the fan-out, meets the deadline;
 * a request waiting on another run of the day stops waiting in time to answer provisionally.
 */
import type { Sql } from "../../_shared/db.ts";
import type { DayRunBody } from "../../_shared/schemas.ts";
import type { Settings } from "../../_shared/settings.ts";
import { recentTransactionMs } from "../../_shared/transaction_latency.ts";

/**
 * Of the run's deadline, this share (at least WRITE_RESERVE_MIN_MS, and at least
 * WRITE_RESERVE_LOAD_FACTOR times what a transaction takes now, waiting for a pooled connection
 * included) is kept back from the agents for storing.
 */
const WRITE_RESERVE_SHARE = 0.1;
const WRITE_RESERVE_MIN_MS = 500;
const WRITE_RESERVE_LOAD_FACTOR = 2;
/** The agents always get at least this long, however late the run started. */
const MIN_FAN_OUT_MS = 1_000;

/** The run's whole deadline: the research one when the learner asked for research. */
export function runDeadlineMs(body: DayRunBody, settings: Settings): number {
  return body.research ? settings.researchDeadlineMs : settings.deadlineMs;
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

/**
 * When a request waiting on another run must stop waiting (`performance.now()` clock): its own
 * deadline, counted from its arrival, less what composing and sending the answer may take
 * (a transaction's time now, twice, and at least WRITE_RESERVE_MIN_MS).
 */
export function waitEndsAt(
  sql: Sql,
  body: DayRunBody,
  settings: Settings,
  receivedAt: number,
): number {
  const reserve = Math.max(
    WRITE_RESERVE_MIN_MS,
    recentTransactionMs(sql) * WRITE_RESERVE_LOAD_FACTOR,
  );
  return receivedAt + runDeadlineMs(body, settings) - reserve;
}
