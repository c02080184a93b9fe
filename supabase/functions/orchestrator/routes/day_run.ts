/** `POST day.run` (spec 5.4): the day's plan, created once per (intent, week, day). */
import type { Route } from "../../_shared/http/app.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import { DayRunBody } from "../../_shared/schemas.ts";
import { runDay, type RunDayDeps } from "../run_day.ts";

export function dayRunRoute(deps: RunDayDeps): Route {
  return {
    method: "POST",
    path: "day.run",
    auth: "user",
    async handle({ req, principal, trace, logFields }) {
      const body = await readJson(req, DayRunBody);
      const result = await runDay(deps, {
        userId: principal.userId,
        claims: principal.claims,
        body,
        traceId: trace.traceId,
      });
      logFields.cache_hits = result.session.cache_hits;
      logFields.cache_misses = result.session.cache_misses;
      logFields.degraded_mode = result.session.degraded_mode;
      return json(result.session, result.created ? 201 : 200);
    },
  };
}
