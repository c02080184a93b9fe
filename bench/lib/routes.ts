/**
 * The measured routes, each as an HTTP call and as its own database step without HTTP (no JWT
 * check, no body parsing, no response serialisation): the route's exported step inside the same
 * user transaction the pipeline opens (`userDb` with the same request gate, see http/gate.ts),
 * so a change to a route's SQL changes what the benchmark runs, through postgres.js and,
 * recorded, through pgbench (pgbench.ts). The learners they run for each have an intent and day
 * 1, so day.done has a session to complete.
 */
import type { Sql, UserClaims } from "../../supabase/functions/_shared/db.ts";
import { HttpRequestGate } from "../../supabase/functions/_shared/http/gate.ts";
import { bucketForRoute } from "../../supabase/functions/_shared/http/rate_limit.ts";
import { IntentSyncBody } from "../../supabase/functions/_shared/schemas.ts";
import { userDb } from "../../supabase/functions/_shared/user_db.ts";
import { completeSession } from "../../supabase/functions/orchestrator/routes/day_done.ts";
import { syncIntent } from "../../supabase/functions/orchestrator/routes/intent_sync.ts";
import { readStatus } from "../../supabase/functions/orchestrator/routes/status.ts";
import {
  type CallResult,
  dayDoneBody,
  INTENT_BODY,
  isOk,
  type OrchestratorClient,
  weekDay,
} from "../../test/support/orchestrator_client.ts";
import type { TestUser } from "../../test/support/users.ts";
import { mapConcurrent } from "./runner.ts";

/** Each learner's day-1 session, by user id. */
export type Sessions = Map<string, string>;

export interface RouteCase {
  name: "status" | "day.done" | "intent.sync";
  http(api: OrchestratorClient, user: TestUser): Promise<CallResult>;
  /** The route's transaction on `sql` (a pool like the stack's). */
  sql(sql: Sql, user: TestUser): Promise<unknown>;
}

/** A user request's transactions as the pipeline opens them for `route` (no Idempotency-Key). */
function requestDb(sql: Sql, claims: UserClaims, route: string) {
  const gate = new HttpRequestGate({ bucket: bucketForRoute(route), idempotency: null });
  return userDb(sql, claims, gate);
}

/** Parsed as the route does (defaults filled in), once, outside the timed call. */
const INTENT = IntentSyncBody.parse(INTENT_BODY);

/** The measured routes for learners with their day-1 `sessions` (day.done completes it). */
export const routeCases = (sessions: Sessions): RouteCase[] => [{
  name: "status",
  http: (api, user) => api.call(user.token, "GET", "status"),
  sql: (sql, user) => requestDb(sql, user.claims, "status").transaction(readStatus),
}, {
  name: "day.done",
  http: (api, user) =>
    api.call(user.token, "POST", "day.done", dayDoneBody(sessions.get(user.id)!, 1)),
  sql: (sql, { claims, id }) =>
    requestDb(sql, claims, "day.done")
      .transaction((tx) => completeSession(tx, claims.sub, dayDoneBody(sessions.get(id)!, 1))),
}, {
  name: "intent.sync",
  http: (api, user) => api.call(user.token, "POST", "intent.sync", INTENT_BODY),
  sql: (sql, { claims }) =>
    requestDb(sql, claims, "intent.sync").transaction((tx) => syncIntent(tx, claims.sub, INTENT)),
}];

/** A real run: learning day `n`, which the user has not run yet. */
export const dayRun = (api: OrchestratorClient, user: TestUser, n: number) =>
  api.call(user.token, "POST", "day.run", weekDay(n));

/** intent.sync and day 1 for every user (agents without faults); throws on a non-2xx answer. */
export async function setUpLearners(api: OrchestratorClient, users: TestUser[]): Promise<Sessions> {
  const sessions: Sessions = new Map();
  const must = (what: string, answer: CallResult) => {
    if (isOk(answer)) return answer;
    throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  };
  await mapConcurrent(users, 16, async (user) => {
    must("intent.sync", await api.call(user.token, "POST", "intent.sync", INTENT_BODY));
    const run = must("day.run", await dayRun(api, user, 1));
    sessions.set(user.id, run.body.session_id);
  });
  return sessions;
}
