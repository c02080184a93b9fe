/**
 * One day.tick batch (spec 8): the due runs, at most TICK_CONCURRENCY at once, each through the
 * same single-flight day.run as a learner's own request. The batch is a value that can be
 * read while it runs, so the route can answer with what is done so far and let the rest finish
 * after the response. No run starts once the batch's time budget is spent; those are left due
 * for the next tick, so a batch ends well inside the function's wall clock.
 */
import type { Logger } from "../_shared/log.ts";
import { newSpanId } from "../_shared/http/trace.ts";
import { userDb } from "../_shared/user_db.ts";
import { runDay, type RunDayDeps } from "./run_day.ts";

/** Runs at once: the agents are shared by every learner, the tick must not crowd them. */
export const TICK_CONCURRENCY = 4;

export interface DueRun {
  user_id: string;
  intent_id: string;
  week: number;
  day: number;
  kind: "next" | "retry";
}

export interface TickOutcome {
  user_id: string;
  week: number;
  day: number;
  kind: DueRun["kind"];
  session_id: string | null;
  degraded_mode: boolean | null;
  /** A session was stored for it (false: failed, or another request still ran that day). */
  ok: boolean;
}

export interface TickBatchOptions {
  traceId: string;
  log: Logger;
  /** No run starts after this many milliseconds. */
  timeBudgetMs: number;
  /** @default TICK_CONCURRENCY */
  concurrency?: number;
}

export interface TickBatch {
  /** Settles when every run has ended or been left for the next tick; never rejects. */
  done: Promise<void>;
  /** The body of the tick's answer as of now (see responses.ts `DayTickResponse`). */
  summary(): TickSummary;
}

export interface TickSummary {
  due: number;
  generated: number;
  retried: number;
  failed: number;
  /** Started or waiting, not ended yet (0 once the batch is done). */
  pending: number;
  /** Not started within the time budget: still due, for the next tick. */
  deferred: number;
  /** The ended runs, in the order they were due. */
  runs: TickOutcome[];
}

async function runOne(deps: RunDayDeps, run: DueRun, options: TickBatchOptions) {
  const base = { user_id: run.user_id, week: run.week, day: run.day, kind: run.kind };
  try {
    const result = await runDay(deps, {
      userId: run.user_id,
      db: userDb(deps.sql, {
        sub: run.user_id,
        role: "authenticated",
        acting_role: "service_role",
      }),
      body: { week: run.week, day: run.day, force_refresh: run.kind === "retry", research: false },
      traceId: options.traceId,
      // Pre-generated: the learner has not seen it yet.
      opens: false,
    });
    if ("provisional" in result) {
      // The learner (or another tick) still runs this day; it stores the session.
      options.log.info("day.tick.run_busy", { user_id: run.user_id, trace_id: options.traceId });
      return { ...base, session_id: null, degraded_mode: null, ok: false };
    }
    const { session } = result;
    return {
      ...base,
      session_id: session.session_id,
      degraded_mode: session.degraded_mode,
      ok: true,
    };
  } catch (error) {
    // One learner's failure must not stop the others; the next tick tries again.
    options.log.warn("day.tick.run_failed", {
      user_id: run.user_id,
      trace_id: options.traceId,
      span_id: newSpanId(),
      error_name: error instanceof Error ? error.name : typeof error,
    });
    return { ...base, session_id: null, degraded_mode: null, ok: false };
  }
}

export function startTickBatch(
  deps: RunDayDeps,
  due: DueRun[],
  options: TickBatchOptions,
): TickBatch {
  const startedAt = performance.now();
  const outcomes: (TickOutcome | undefined)[] = new Array(due.length);
  let next = 0;
  let deferred = 0;
  const worker = async () => {
    while (next < due.length) {
      if (performance.now() - startedAt >= options.timeBudgetMs) {
        deferred += due.length - next;
        next = due.length;
        return;
      }
      const index = next++;
      outcomes[index] = await runOne(deps, due[index], options);
    }
  };
  const workers = Math.min(options.concurrency ?? TICK_CONCURRENCY, due.length);
  const done = Promise.all(Array.from({ length: workers }, worker)).then(() => {});
  return {
    done,
    summary() {
      const runs = outcomes.filter((o) => o !== undefined);
      return {
        due: due.length,
        generated: runs.filter((o) => o.ok && o.kind === "next").length,
        retried: runs.filter((o) => o.ok && o.kind === "retry").length,
        failed: runs.filter((o) => !o.ok).length,
        pending: due.length - runs.length - deferred,
        deferred,
        runs,
      };
    },
  };
}
