/**
 * A learner driven through days of the programme over real HTTP on a served stack: day.run,
 * then day.done with the completion a script gives, with the learner's calendar moved on
 * between days by ageing their stored timestamps as the database superuser (no real waiting,
 * and the stack's own clock, `now()`, stays the only clock). Shared by the learning-days e2e
 * tests and the sample runs (`bench/sample_runs.ts`).
 */
import type postgres from "postgres";
import { OrchestratorClient, weekDay } from "./orchestrator_client.ts";
import type { TestStack } from "./stack.ts";

// deno-lint-ignore no-explicit-any
export type Json = Record<string, any>;

export interface Reply {
  status: number;
  body: Json;
}

export type Call = (method: "GET" | "POST", route: string, body?: unknown) => Promise<Reply>;

/** Calls the orchestrator with `token` as the bearer (no answer at all is an error). */
export function orchestratorCaller(stack: Pick<TestStack, "functionsUrl">, token: string): Call {
  const client = new OrchestratorClient(stack.functionsUrl);
  return async (method, route, body) => {
    const result = await client.call(token, method, route, body);
    if (result.status === 0) throw new Error(`${method} ${route}: no answer (${result.code})`);
    return { status: result.status, body: result.body ?? {} };
  };
}

/**
 * Moves `userId`'s calendar `days` days on: every stored timestamp of theirs (intent, sessions,
 * completions, reviews, memory, agent cache and calls, rate-limit buckets) goes `days` days into
 * the past.
 */
export async function ageLearner(sql: postgres.Sql, userId: string, days: number) {
  const by = `${days} days`;
  await sql.begin(async (tx) => {
    await tx`
      update wisely.intents set created_at = created_at - ${by}::interval,
        updated_at = updated_at - ${by}::interval
      where user_id = ${userId}
    `;
    await tx`
      update wisely.sessions set created_at = created_at - ${by}::interval,
        updated_at = updated_at - ${by}::interval, opened_at = opened_at - ${by}::interval,
        inputs_changed_at = inputs_changed_at - ${by}::interval,
        planned_on = planned_on - ${days}::int
      where user_id = ${userId}
    `;
    await tx`
      update wisely.completions set completed_at = completed_at - ${by}::interval,
        updated_at = updated_at - ${by}::interval
      where user_id = ${userId}
    `;
    await tx`
      update wisely.objective_reviews set reviewed_at = reviewed_at - ${by}::interval
      where user_id = ${userId}
    `;
    await tx`
      update wisely.objective_memory set last_reviewed_at = last_reviewed_at - ${by}::interval,
        updated_at = updated_at - ${by}::interval
      where user_id = ${userId}
    `;
    await tx`
      update wisely.agent_cache set fetched_at = fetched_at - ${by}::interval,
        validated_at = validated_at - ${by}::interval
      where user_id = ${userId}
    `;
    await tx`
      update wisely.agent_calls set created_at = created_at - ${by}::interval
      where user_id = ${userId}
    `;
    // A day later the learner's rate-limit buckets have refilled, as they would have.
    await tx`
      update wisely.rate_limits set updated_at = updated_at - ${by}::interval
      where user_id = ${userId}
    `;
  });
}

/** What the learner reports for a day. */
export interface Completion {
  completion_time_min: number;
  confidence: number;
  objective_ratings?: { objective: string; rating: "again" | "hard" | "good" | "easy" }[];
}

export interface LearnerScript {
  /** The intent synced first. */
  intent: {
    topic: string;
    depth: "surface" | "informed" | "deep" | "expert";
    end_goal: string;
    time_per_day_min: number;
    user_tz?: string;
  };
  /** Learning days to run. */
  days: number;
  /** The completion of the n-th learning day (1-based) and its plan. */
  complete: (n: number, plan: Json) => Completion;
  /** Calendar days to stay away after the n-th learning day (default 0: back the next day). */
  awayAfter?: (n: number) => number;
}

/** One learning day as the learner lived it. */
export interface DayLog {
  n: number;
  week: number;
  day: number;
  plan: Json;
  completion: Completion;
  done: Json;
  /** Calendar days away before this day (0 when the learner came back the next day). */
  away_before: number;
}

/** Runs `script` for a new user of `stack`; throws on any non-2xx answer. */
export async function runLearner(stack: TestStack, script: LearnerScript): Promise<{
  userId: string;
  call: Call;
  log: DayLog[];
}> {
  const userId = await stack.createUser();
  const call = orchestratorCaller(stack, await stack.userToken(userId));
  const synced = await call("POST", "intent.sync", { user_tz: "UTC", ...script.intent });
  expectOk(synced, "intent.sync");
  const log: DayLog[] = [];
  let awayBefore = 0;
  for (let n = 1; n <= script.days; n++) {
    const { week, day } = weekDay(n);
    const run = await call("POST", "day.run", { week, day });
    expectOk(run, `day.run ${week}/${day}`);
    const completion = script.complete(n, run.body);
    const done = await call("POST", "day.done", { session_id: run.body.session_id, ...completion });
    expectOk(done, `day.done ${week}/${day}`);
    log.push({
      n,
      week,
      day,
      plan: run.body,
      completion,
      done: done.body,
      away_before: awayBefore,
    });
    awayBefore = script.awayAfter?.(n) ?? 0;
    await ageLearner(stack.sql, userId, 1 + awayBefore);
  }
  return { userId, call, log };
}

function expectOk(reply: Reply, what: string) {
  if (reply.status < 200 || reply.status > 299) {
    throw new Error(`${what} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
}

/** The review lines of a plan: `[objective, "Week W, Day D"]` per item of its review block. */
export function reviewItems(planMd: string): { objective: string; from: string }[] {
  const out: { objective: string; from: string }[] = [];
  for (const match of planMd.matchAll(/^- Review: (.+) \((Week \d+, Day \d)\) — /gm)) {
    out.push({ objective: match[1], from: match[2] });
  }
  return out;
}
