/**
 * The measured routes, each as an HTTP call and as its own database step (route_sql.ts), and the
 * learners they run for: each with an intent and day 1, so day.done has a session to complete.
 */
import postgres from "postgres";
import {
  type CallResult,
  dayDoneBody,
  INTENT_BODY,
  type OrchestratorClient,
  weekDay,
} from "../../test/support/orchestrator_client.ts";
import type { TestUser } from "../../test/support/users.ts";
import { dayDoneSql, intentBody, intentSyncSql, statusSql } from "./route_sql.ts";
import { mapConcurrent } from "./runner.ts";
import type { World } from "./world.ts";

export interface Learners {
  /** Each user's day-1 session. */
  sessionOf: Map<string, string>;
  /** The next learning day each user has not run. */
  nextDay: Map<string, number>;
}

export interface RouteCase {
  name: "status" | "day.done" | "intent.sync";
  http(api: OrchestratorClient, user: TestUser, learners: Learners): Promise<CallResult>;
  /** The route's transaction on `sql` (a pool like the stack's), no HTTP. */
  sql(sql: postgres.Sql, user: TestUser, learners: Learners): Promise<unknown>;
}

const parsedIntent = intentBody(INTENT_BODY);

const STATUS: RouteCase = {
  name: "status",
  http: (api, user) => api.call(user.token, "GET", "status"),
  sql: (sql, user) => statusSql(sql, user.claims),
};

const DAY_DONE: RouteCase = {
  name: "day.done",
  http: (api, user, { sessionOf }) =>
    api.call(user.token, "POST", "day.done", dayDoneBody(sessionOf.get(user.id)!, 1)),
  sql: (sql, user, { sessionOf }) =>
    dayDoneSql(sql, user.claims, dayDoneBody(sessionOf.get(user.id)!, 1)),
};

const INTENT_SYNC: RouteCase = {
  name: "intent.sync",
  http: (api, user) => api.call(user.token, "POST", "intent.sync", INTENT_BODY),
  sql: (sql, user) => intentSyncSql(sql, user.claims, parsedIntent),
};

export const ROUTE_CASES = {
  timed: [STATUS, DAY_DONE, INTENT_SYNC],
  /** A real run: learning day `n`, which the user has not run yet. */
  dayRun: (api: OrchestratorClient, user: TestUser, n: number) =>
    api.call(user.token, "POST", "day.run", weekDay(n)),
};

async function must(result: Promise<CallResult>, what: string): Promise<CallResult> {
  const answer = await result;
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  }
  return answer;
}

/** intent.sync and day 1 for every user (agents without faults). */
export async function setUpLearners(world: World, users: TestUser[]): Promise<Learners> {
  const learners: Learners = { sessionOf: new Map(), nextDay: new Map() };
  await mapConcurrent(users, 16, async (user) => {
    await must(world.api.call(user.token, "POST", "intent.sync", INTENT_BODY), "intent.sync");
    const run = await must(ROUTE_CASES.dayRun(world.api, user, 1), "day.run");
    learners.sessionOf.set(user.id, run.body.session_id);
    learners.nextDay.set(user.id, 2);
  });
  return learners;
}
