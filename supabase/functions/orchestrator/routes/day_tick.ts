/**
 * `POST day.tick` (service role, spec 8): pre-generates the next day's session for learners
 * whose plan is due, and reruns today's degraded sessions once their agents answer again, so a
 * learner's morning day.run is answered from the database at once. Bounded per call; each run
 * goes through the same single-flight day.run as the learner's own request.
 */
import { z } from "zod";
import { asService } from "../../_shared/db.ts";
import type { Route } from "../../_shared/http/app.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import { newSpanId } from "../../_shared/http/trace.ts";
import { loadSettings } from "../../_shared/settings.ts";
import { runDay, type RunDayDeps } from "../run_day.ts";

const DayTickBody = z.strictObject({
  /** Runs per call of each kind; default `tick.batch_size` from wisely.settings. */
  limit: z.int().min(1).max(1000).optional(),
});

/** Runs at once: the agents are shared by every learner, the tick must not crowd them. */
const TICK_CONCURRENCY = 4;

interface DueRun {
  user_id: string;
  intent_id: string;
  week: number;
  day: number;
  kind: "next" | "retry";
}

interface TickOutcome {
  user_id: string;
  week: number;
  day: number;
  kind: DueRun["kind"];
  session_id: string | null;
  degraded_mode: boolean | null;
  ok: boolean;
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the input order. */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function dayTickRoute(deps: RunDayDeps): Route {
  return {
    method: "POST",
    path: "day.tick",
    auth: "service",
    async handle({ req, trace, log }) {
      const body = await readJson(req, DayTickBody);
      const due = await asService(deps.sql, async (tx) => {
        const limit = body.limit ?? (await loadSettings(tx)).tickBatchSize;
        return await tx<DueRun[]>`
          select user_id, intent_id, week, day, kind
          from wisely.due_day_runs(now(), ${limit})
        `;
      });
      const outcomes = await mapLimited(
        due,
        TICK_CONCURRENCY,
        async (run): Promise<TickOutcome> => {
          const base = { user_id: run.user_id, week: run.week, day: run.day, kind: run.kind };
          try {
            const result = await runDay(deps, {
              userId: run.user_id,
              claims: { sub: run.user_id, role: "authenticated", acting_role: "service_role" },
              body: {
                week: run.week,
                day: run.day,
                force_refresh: run.kind === "retry",
                research: false,
              },
              traceId: trace.traceId,
            });
            return {
              ...base,
              session_id: result.session.session_id,
              degraded_mode: result.session.degraded_mode,
              ok: true,
            };
          } catch (error) {
            // One learner's failure must not stop the others; the next tick tries again.
            log.warn("day.tick.run_failed", {
              user_id: run.user_id,
              trace_id: trace.traceId,
              span_id: newSpanId(),
              error_name: error instanceof Error ? error.name : typeof error,
            });
            return { ...base, session_id: null, degraded_mode: null, ok: false };
          }
        },
      );
      return json({
        due: due.length,
        generated: outcomes.filter((o) => o.ok && o.kind === "next").length,
        retried: outcomes.filter((o) => o.ok && o.kind === "retry").length,
        failed: outcomes.filter((o) => !o.ok).length,
        runs: outcomes,
      });
    },
  };
}
