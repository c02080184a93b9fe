/**
 * The measured routes, each as an HTTP call and as its own database step without HTTP (no JWT
 * check, no body parsing, no response serialisation): the route's exported step inside the same
 * user transaction the pipeline opens (`userDb` with the same request gate, see http/gate.ts),
 * so a change to a route's SQL changes what the benchmark runs, through postgres.js and,
 * recorded, through pgbench (pgbench.ts). The learners they run for each have an intent and day
 * 1, so day.done has a session to complete (again: the set-up completes it once).
 */
import type { Sql, Tx } from "../../supabase/functions/_shared/db.ts";
import { HttpRequestGate } from "../../supabase/functions/_shared/http/gate.ts";
import { bucketForRoute } from "../../supabase/functions/_shared/http/rate_limit.ts";
import { IntentSyncBody } from "../../supabase/functions/_shared/schemas.ts";
import { userDb } from "../../supabase/functions/_shared/user_db.ts";
import { completeSession } from "../../supabase/functions/orchestrator/routes/day_done.ts";
import { syncIntent } from "../../supabase/functions/orchestrator/routes/intent_sync.ts";
import { readStatus } from "../../supabase/functions/orchestrator/routes/status.ts";
import {
  dayDoneBody,
  INTENT_BODY,
  type OrchestratorClient,
} from "../../test/support/orchestrator_client.ts";
import type { TestUser } from "../../test/support/users.ts";
import { ROUTES, runFlow } from "./flow.ts";

export interface RouteCase {
  name: "status" | "day.done" | "intent.sync";
  /** `user`'s request body; none: a GET. */
  body?: (user: TestUser) => unknown;
  /** The route's database step, as its handler runs it for `user`. */
  step: (tx: Tx, user: TestUser) => Promise<unknown>;
}

export const request = (api: OrchestratorClient, route: RouteCase, user: TestUser) =>
  api.call(user.token, route.body ? "POST" : "GET", route.name, route.body?.(user));

/** `route`'s transaction on `sql` (a pool like the stack's) as the pipeline opens it for `user`. */
export function transaction(sql: Sql, route: RouteCase, user: TestUser) {
  const gate = new HttpRequestGate({ bucket: bucketForRoute(route.name), idempotency: null });
  return userDb(sql, user.claims, gate).transaction((tx) => route.step(tx, user));
}

/** Parsed as the route does (defaults filled in), once, outside the timed call. */
const INTENT = IntentSyncBody.parse(INTENT_BODY);

/** The measured routes for learners with their day-1 session by user id (day.done's). */
export function routeCases(sessions: Map<string, string>): RouteCase[] {
  const done = (user: TestUser) => dayDoneBody(sessions.get(user.id)!, 1);
  return [
    { name: "status", step: readStatus },
    { name: "day.done", body: done, step: (tx, user) => completeSession(tx, user.id, done(user)) },
    { name: "intent.sync", body: () => INTENT_BODY, step: (tx, u) => syncIntent(tx, u.id, INTENT) },
  ];
}

/** intent.sync and day 1 (flow.ts) for every user, agents without faults; throws on a non-2xx. */
export async function setUpLearners(api: OrchestratorClient, users: TestUser[]) {
  const run = await runFlow(api, users, { days: [1], concurrency: 16 });
  const outcomes = ROUTES.map((route) => `${route} ${run.recorders.get(route)!.outcomeText()}`);
  if (run.errors) throw new Error(`setting up the learners: ${outcomes.join("; ")}`);
  return new Map(run.runs.map(({ user, result }) => [user.id, result.body.session_id as string]));
}
