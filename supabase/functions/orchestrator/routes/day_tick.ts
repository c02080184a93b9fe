/**
 * `POST day.tick` (service role, spec 8): pre-generates the next day's session for learners
 * whose plan is due, and reruns today's degraded sessions once their agents answer again, so a
 * learner's morning day.run is answered from the database at once. Bounded per call (batch
 * size, time budget; see tick_batch.ts). Which runs are due is `wisely.due_day_runs`
 * (migration 20260101000900): never a day after one nobody opened or completed, so the tick
 * stops for a learner who stopped; `retry` also recomposes an unopened plan a completion
 * changed. Its runs do not open the sessions they make (`opens: false`): they are `planned`.
 * A paused intent has nothing due (migration 20260101001100). Each pass also marks the sessions
 * whose local day passed without a completion `skipped` (`wisely.mark_skipped_sessions`).
 *
 * It answers within a few seconds whatever the batch does, because pg_net (Supabase Cron's
 * caller) gives up after its timeout: when the batch ends within `tick.answer_within_ms`
 * (default 3 s) the answer is 200 with every run; otherwise it is 202 with the runs ended so
 * far and `pending` > 0, and the rest of the batch finishes under `EdgeRuntime.waitUntil`,
 * logging `day.tick.finished` with the final counts.
 */
import { z } from "zod";
import { runInBackground } from "../../_shared/background.ts";
import { asService } from "../../_shared/db.ts";
import type { Route } from "../../_shared/http/app.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import { loadSettings } from "../../_shared/settings.ts";
import type { RunDayDeps } from "../run_day.ts";
import { type DueRun, startTickBatch } from "../tick_batch.ts";

const DayTickBody = z.strictObject({
  /** Runs per call of each kind; default `tick.batch_size` from wisely.settings. */
  limit: z.int().min(1).max(1000).optional(),
});

/** True when `promise` settles within `ms`; the timer is cleared either way. */
async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function dayTickRoute(deps: RunDayDeps): Route {
  return {
    method: "POST",
    path: "day.tick",
    auth: "service",
    async handle({ req, trace, log }) {
      const body = await readJson(req, DayTickBody);
      const { due, settings } = await asService(deps.sql, async (tx) => {
        const settings = await loadSettings(tx);
        const [due] = await Promise.all([
          tx<DueRun[]>`
            select user_id, intent_id, week, day, kind
            from wisely.due_day_runs(now(), ${body.limit ?? settings.tickBatchSize})
          `,
          tx`select wisely.mark_skipped_sessions(now())`,
        ]);
        return { due, settings };
      });
      const batch = startTickBatch(deps, due, {
        traceId: trace.traceId,
        log,
        timeBudgetMs: settings.tickTimeBudgetMs,
      });
      if (await settlesWithin(batch.done, settings.tickAnswerWithinMs)) {
        return json(batch.summary());
      }
      runInBackground(batch.done.then(() => {
        const { runs: _, ...counts } = batch.summary();
        log.info("day.tick.finished", { trace_id: trace.traceId, ...counts });
      }));
      return json(batch.summary(), 202);
    },
  };
}
