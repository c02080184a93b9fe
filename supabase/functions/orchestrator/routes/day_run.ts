/**
 * `POST day.run` (spec 5.4): the day's plan, created once per (intent, week, day).
 *
 * With `Accept: text/event-stream` the same run streams progress: one `agent` event per agent
 * as it settles, then a `plan` event carrying the JSON body. Errors that happen before the
 * first event (validation, no intent) are ordinary JSON error responses; a later failure is an
 * `error` event. A client that disconnects does not cancel the run: the session is stored.
 */
import type { AgentSignal } from "../../_shared/agents/signal.ts";
import { runInBackground } from "../../_shared/background.ts";
import { ApiError } from "../../_shared/errors.ts";
import type { RequestContext, Route, UserRequestContext } from "../../_shared/http/app.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import { createEventStream, wantsEventStream } from "../../_shared/http/sse.ts";
import { DayRunBody } from "../../_shared/schemas.ts";
import type { ProvisionalRun } from "../provisional.ts";
import { runDay, type RunDayDeps, type RunDayResult } from "../run_day.ts";

function agentEvent(signal: AgentSignal) {
  return {
    agent: signal.agent,
    source: signal.source,
    available: signal.available,
    fresh: signal.fresh,
    latency_ms: Math.round(signal.latency_ms),
  };
}

/** Logs the answer's counts and flags; returns the body (the session, or the provisional plan). */
function logResult(ctx: RequestContext, result: RunDayResult | ProvisionalRun) {
  const body = "provisional" in result ? result.provisional : result.session;
  ctx.logFields.cache_hits = body.cache_hits;
  ctx.logFields.cache_misses = body.cache_misses;
  ctx.logFields.degraded_mode = body.degraded_mode;
  if ("provisional" in result) ctx.logFields.provisional = true;
  return body;
}

async function stream(
  deps: RunDayDeps,
  ctx: UserRequestContext,
  body: DayRunBody,
): Promise<Response> {
  const events = createEventStream();
  const firstEvent = Promise.withResolvers<void>();

  const run = runDay(deps, {
    userId: ctx.principal.userId,
    db: ctx.db,
    body,
    traceId: ctx.trace.traceId,
    receivedAt: ctx.receivedAt,
    onAgentSettled: (signal) => {
      events.send("agent", agentEvent(signal));
      firstEvent.resolve();
    },
  });

  // Until something has been streamed, a failure can still be a normal error response.
  const outcome = await Promise.race([
    run.then((result) => ({ kind: "done" as const, result })),
    firstEvent.promise.then(() => ({ kind: "streaming" as const })),
  ]);
  if (outcome.kind === "done") {
    events.send("plan", logResult(ctx, outcome.result));
    events.close();
    return events.response;
  }

  // The rest of the run outlives this response: under EdgeRuntime.waitUntil where it exists.
  runInBackground(
    run.then(
      (result) => {
        events.send("plan", logResult(ctx, result));
      },
      (error: unknown) => {
        const apiError = error instanceof ApiError ? error : null;
        ctx.log.error("day.run.stream_failed", {
          trace_id: ctx.trace.traceId,
          error_name: error instanceof Error ? error.name : typeof error,
        });
        events.send("error", {
          error: apiError?.message ?? "Something went wrong on our side.",
          code: apiError?.code ?? "INTERNAL",
        });
      },
    ).finally(() => events.close()),
  );
  return events.response;
}

export function dayRunRoute(deps: RunDayDeps): Route {
  return {
    method: "POST",
    path: "day.run",
    auth: "user",
    async handle(ctx) {
      const body = await readJson(ctx.req, DayRunBody);
      if (wantsEventStream(ctx.req)) return await stream(deps, ctx, body);
      const result = await runDay(deps, {
        userId: ctx.principal.userId,
        db: ctx.db,
        body,
        traceId: ctx.trace.traceId,
        receivedAt: ctx.receivedAt,
      });
      const answer = logResult(ctx, result);
      if ("provisional" in result) {
        // Another request still runs this day: a plan now, the stored one later (202).
        return json(answer, 202, { "Retry-After": String(result.provisional.retry_after_s) });
      }
      return json(answer, result.created ? 201 : 200);
    },
  };
}
