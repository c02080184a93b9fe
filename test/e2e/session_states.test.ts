/**
 * Session states across a fortnight (spec 12) on the served stack, on PGlite and Postgres:
 * day.tick's plans are `planned`, the learner's own day.run makes them `opened`, day.done
 * `completed`; a day that passed without a completion is `skipped` in `sessions` (JSON and CSV)
 * and in status as soon as it passed, before any tick marked it, and stored so by the next tick;
 * the plan after the gap says how many planned days were skipped. Time moves by ageing the
 * learner's stored rows a day at a time (test/support/learning_days.ts); the tick runs daily.
 */
import assert from "node:assert/strict";
import { SessionsResponse } from "../../supabase/functions/_shared/responses.ts";
import { ageLearner, type Call, orchestratorCaller } from "../support/learning_days.ts";
import { startTestStack, testBackends, type TestStack } from "../support/stack.ts";

const INTENT = {
  topic: "Linear algebra",
  depth: "informed" as const,
  end_goal: "Understand PCA",
  time_per_day_min: 30,
  user_tz: "UTC",
  // Due at local midnight: the tick finds the next day due on every new local day.
  meta: { plan_time: "00:00" },
};
const DONE = { completion_time_min: 30, confidence: 7 };

type Label = `${number}/${number}`;

/** `week/day` → state, from the JSON list. */
async function statesJson(call: Call): Promise<Record<Label, string>> {
  const { status, body } = await call("GET", "sessions?limit=100");
  assert.equal(status, 200);
  const page = SessionsResponse.parse(body);
  return Object.fromEntries(page.sessions.map((s) => [`${s.week}/${s.day}`, s.state]));
}

/** `week/day` → state, from the CSV list (state and planned_on are its last two columns). */
async function statesCsv(stack: TestStack, token: string): Promise<Record<Label, string>> {
  const response = await fetch(`${stack.functionsUrl}/orchestrator/sessions?limit=100`, {
    headers: { authorization: `Bearer ${token}`, accept: "text/csv" },
  });
  assert.equal(response.status, 200);
  const [header, ...rows] = (await response.text()).trim().split(/\r?\n/);
  const columns = header.split(",");
  assert.deepEqual(columns.slice(-2), ["state", "planned_on"]);
  const week = columns.indexOf("week");
  return Object.fromEntries(rows.map((line) => {
    const fields = line.split(",");
    // plan_title may hold quoted commas, but only after week and day.
    return [`${fields[week]}/${fields[week + 1]}`, fields.at(-2)!];
  }));
}

async function storedState(stack: TestStack, userId: string, week: number, day: number) {
  const [row] = await stack.sql`
    select state from wisely.sessions where user_id = ${userId} and week = ${week} and day = ${day}
  `;
  return row?.state;
}

/** day.tick's runs for `userId` as `week/day`. */
async function tickFor(service: Call, userId: string): Promise<Label[]> {
  const { status, body } = await service("POST", "day.tick", {});
  assert.equal(status, 200, JSON.stringify(body));
  return body.runs.filter((r: { user_id: string; ok: boolean }) => r.user_id === userId && r.ok)
    .map((r: { week: number; day: number }) => `${r.week}/${r.day}`);
}

/** day.run then, when `complete`, day.done; returns the day.run body. */
async function learn(call: Call, week: number, day: number, complete: boolean) {
  const run = await call("POST", "day.run", { week, day });
  assert.ok(run.status === 200 || run.status === 201, JSON.stringify(run.body));
  if (complete) {
    const done = await call("POST", "day.done", { session_id: run.body.session_id, ...DONE });
    assert.equal(done.status, 200, JSON.stringify(done.body));
  }
  return run.body;
}

for (const backend of testBackends()) {
  Deno.test(`[${backend}] session states across a fortnight with skipped days`, async (t) => {
    const stack = await startTestStack(backend);
    await stack.sql`update wisely.settings set value = '60000' where key = 'tick.answer_within_ms'`;
    try {
      const userId = await stack.createUser();
      const token = await stack.userToken(userId);
      const call = orchestratorCaller(stack, token);
      const service = orchestratorCaller(stack, await stack.serviceToken());
      const nextDay = () => ageLearner(stack.sql, userId, 1);
      assert.equal((await call("POST", "intent.sync", INTENT)).status, 201);

      await t.step("day 1: planned by the tick, opened by day.run, completed", async () => {
        assert.deepEqual(await tickFor(service, userId), ["1/1"]);
        assert.deepEqual(await statesJson(call), { "1/1": "planned" });
        const plan = await learn(call, 1, 1, false);
        assert.deepEqual(await statesJson(call), { "1/1": "opened" });
        await call("POST", "day.done", { session_id: plan.session_id, ...DONE });
        assert.deepEqual(await statesJson(call), { "1/1": "completed" });
        await nextDay();
      });

      await t.step("day 2: opened, not completed", async () => {
        assert.deepEqual(await tickFor(service, userId), ["1/2"]);
        await learn(call, 1, 2, false);
        assert.equal((await statesJson(call))["1/2"], "opened");
        await nextDay();
      });

      await t.step(
        "day 3: yesterday reads skipped before any tick; the tick stores it",
        async () => {
          assert.equal(await storedState(stack, userId, 1, 2), "opened");
          assert.equal((await statesJson(call))["1/2"], "skipped");
          assert.equal((await statesCsv(stack, token))["1/2"], "skipped");
          // An opened day a day old: the tick goes on once, then stops for a learner away.
          assert.deepEqual(await tickFor(service, userId), ["1/3"]);
          assert.equal(await storedState(stack, userId, 1, 2), "skipped");
          assert.equal((await statesJson(call))["1/3"], "planned");
          await nextDay();
        },
      );

      await t.step("day 4: away; the unopened plan is skipped, nothing more is made", async () => {
        assert.deepEqual(await tickFor(service, userId), []);
        assert.equal(await storedState(stack, userId, 1, 3), "skipped");
        await nextDay();
      });

      await t.step(
        "day 5: back; the plan says what was skipped and opens with review",
        async () => {
          assert.deepEqual(await tickFor(service, userId), []);
          const plan = await learn(call, 1, 3, false);
          assert.equal(plan.revision, 2, "composed again for today");
          assert.match(
            plan.plan_md,
            /You were away 3 days since your last session and skipped 2 planned days\./,
          );
          assert.match(plan.plan_md, /opens with a refresher/);
          assert.equal((await statesJson(call))["1/3"], "opened");
          await call("POST", "day.done", { session_id: plan.session_id, ...DONE });
          await nextDay();
        },
      );

      await t.step("days 6–13: a day each, the tick's plan opened and completed", async () => {
        for (
          const [week, day] of [[1, 4], [1, 5], [1, 6], [1, 7], [2, 1], [2, 2], [2, 3], [2, 4]]
        ) {
          assert.deepEqual(await tickFor(service, userId), [`${week}/${day}`]);
          const plan = await learn(call, week, day, true);
          assert.equal(plan.revision, 1, "the pre-generated plan, as the tick made it");
          await nextDay();
        }
      });

      await t.step("day 14: JSON and CSV agree on every state", async () => {
        assert.deepEqual(await tickFor(service, userId), ["2/5"]);
        const expected: Record<string, string> = {
          "1/1": "completed",
          "1/2": "skipped",
          "1/3": "completed",
          "1/4": "completed",
          "1/5": "completed",
          "1/6": "completed",
          "1/7": "completed",
          "2/1": "completed",
          "2/2": "completed",
          "2/3": "completed",
          "2/4": "completed",
          "2/5": "planned",
        };
        assert.deepEqual(await statesJson(call), expected);
        assert.deepEqual(await statesCsv(stack, token), expected);
        const status = await call("GET", "status");
        assert.deepEqual(
          [status.body.latest_session.week, status.body.latest_session.day],
          [2, 5],
        );
        assert.equal(status.body.latest_session.state, "planned");
      });

      await t.step("another learner sees none of these sessions", async () => {
        const other = await stack.createUser();
        const otherCall = orchestratorCaller(stack, await stack.userToken(other));
        assert.deepEqual(await statesJson(otherCall), {});
      });
    } finally {
      await stack.stop();
    }
  });
}
