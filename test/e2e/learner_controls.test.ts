/**
 * Pause, resume and cancel (spec 12) on the served stack, on PGlite and Postgres, with the SDK
 * and raw HTTP: a 3-day streak survives a week's pause (no plan pre-generated meanwhile) and
 * grows to 4 with the first completion after it; status shows the pause; the events reach
 * their learner only; a cancelled intent keeps its history and the next intent.sync starts a
 * new one; nobody acts on another learner's intent; bad input is a 400 with the spec's body.
 * Time moves by ageing the learner's stored rows (test/support/learning_days.ts), pauses too.
 */
import assert from "node:assert/strict";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { z } from "zod";
import { LearningOrchestrator, OrchestratorError } from "../../sdk/mod.mjs";
import { LearnerEvent } from "../../supabase/functions/_shared/event_schemas.ts";
import { openApiDocument } from "../../supabase/functions/_shared/openapi.ts";
import {
  IntentControlResponse,
  StatusResponse,
} from "../../supabase/functions/_shared/responses.ts";
import { ageLearner, type Call, orchestratorCaller } from "../support/learning_days.ts";
import { startTestStack, testBackends, type TestStack } from "../support/stack.ts";
import {
  closeClient,
  type EventCollector,
  frontendClient,
  subscribe,
} from "../support/supabase_clients.ts";

const INTENT = {
  topic: "Distributed systems",
  depth: "informed" as const,
  end_goal: "Design a replicated log",
  time_per_day_min: 30,
  user_tz: "UTC",
  // Due at local midnight: every tick after a new local day finds the next day due.
  meta: { plan_time: "00:00" },
};
const EVENT_WITHIN_MS = 5_000;

interface Learner {
  id: string;
  client: SupabaseClient;
  sdk: LearningOrchestrator;
  call: Call;
  events: EventCollector;
}

async function signUp(stack: TestStack, name: string): Promise<Learner> {
  const client = frontendClient(stack);
  const email = `${name}-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const { data, error } = await client.auth.signUp({ email, password: "correct horse 42" });
  assert.equal(error, null);
  const id = data.user!.id;
  return {
    id,
    client,
    sdk: new LearningOrchestrator(client),
    call: orchestratorCaller(stack, data.session!.access_token),
    events: await subscribe(client, `wisely.events:${id}`),
  };
}

/** ageLearner, and the rows it does not know: pause windows and cancellations. */
async function age(stack: TestStack, userId: string, days: number) {
  await ageLearner(stack.sql, userId, days);
  const by = `${days} days`;
  await stack.sql`
    update wisely.intent_pauses set starts_on = starts_on - ${days}::int,
      ends_on = ends_on - ${days}::int, resumed_on = resumed_on - ${days}::int,
      resumed_at = resumed_at - ${by}::interval, created_at = created_at - ${by}::interval,
      updated_at = updated_at - ${by}::interval
    where user_id = ${userId}
  `;
  await stack.sql`
    update wisely.intents set cancelled_at = cancelled_at - ${by}::interval
    where user_id = ${userId}
  `;
}

function tick(stack: TestStack) {
  return stack.serviceToken().then((token) =>
    orchestratorCaller(stack, token)("POST", "day.tick", {})
  );
}

async function status(learner: Learner): Promise<z.output<typeof StatusResponse>> {
  return StatusResponse.parse(await learner.sdk.getStatus());
}

/** The local (UTC) date `days` after today, by the stack's own clock. */
async function todayPlus(stack: TestStack, days: number): Promise<string> {
  const [row] = await stack.sql`
    select to_char((now() at time zone 'UTC')::date + ${days}::int, 'YYYY-MM-DD') as d
  `;
  return row.d;
}

/** The learner's events of `type` for `intentId`, parsed with the API's schema. */
function eventsOf(learner: Learner, type: string, intentId: string) {
  return learner.events.events.filter((e) => e.event === type).map((e) =>
    LearnerEvent.parse(e.payload)
  )
    .filter((e) => "intent_id" in e && e.intent_id === intentId);
}

async function rejectsWith(call: Promise<unknown>, status: number, code: string) {
  await assert.rejects(call, (error) => {
    assert.ok(error instanceof OrchestratorError, String(error));
    assert.deepEqual([error.status, error.code], [status, code], error.message);
    return true;
  });
}

/** Three learning days, one a day: the learner's streak is 3 the day after. */
async function threeDays(stack: TestStack, learner: Learner) {
  for (let day = 1; day <= 3; day++) {
    const plan = await learner.sdk.generateDayPlan(1, day);
    assert.ok(plan.session_id);
    await learner.sdk.completeDay(plan.session_id, { completion_time_min: 30, confidence: 7 });
    await age(stack, learner.id, 1);
  }
  assert.equal((await status(learner)).learning_stats.current_streak_days, 3);
}

for (const backend of testBackends()) {
  Deno.test(`[${backend}] pause, resume and cancel`, async (t) => {
    const stack = await startTestStack(backend);
    await stack.sql`update wisely.settings set value = '60000' where key = 'tick.answer_within_ms'`;
    const ada = await signUp(stack, "ada");
    const bob = await signUp(stack, "bob");
    try {
      await t.step(
        "without an intent: 409 NO_ACTIVE_INTENT; the routes are documented",
        async () => {
          await rejectsWith(bob.sdk.pauseIntent(), 409, "NO_ACTIVE_INTENT");
          await rejectsWith(bob.sdk.resumeIntent(), 409, "NO_ACTIVE_INTENT");
          await rejectsWith(bob.sdk.cancelIntent(), 409, "NO_ACTIVE_INTENT");
          const paths = openApiDocument("/").paths as Record<string, { post?: unknown }>;
          for (const path of ["/intent.pause", "/intent.resume", "/intent.cancel"]) {
            assert.ok(paths[path]?.post, path);
          }
        },
      );

      let adaIntent = "";
      let bobIntent = "";
      await t.step("a 3-day streak; bob's controls act on bob's intent only", async () => {
        adaIntent = (await ada.sdk.createIntent(INTENT)).intent_id;
        bobIntent = (await bob.sdk.createIntent(INTENT)).intent_id;
        await threeDays(stack, ada);
        const paused = IntentControlResponse.parse(await bob.sdk.pauseIntent({}));
        assert.equal(paused.intent_id, bobIntent);
        const cancelled = IntentControlResponse.parse(await bob.sdk.cancelIntent());
        assert.deepEqual([cancelled.intent_id, cancelled.state], [bobIntent, "cancelled"]);
        const adaNow = await status(ada);
        assert.deepEqual(
          [
            adaNow.active_intent?.id,
            adaNow.active_intent?.state,
            adaNow.active_intent?.paused_until,
          ],
          [adaIntent, "active", null],
        );
      });

      await t.step("bad pauses are 400 with the spec's body", async () => {
        for (
          const body of [
            { until: await todayPlus(stack, -1) },
            { until: await todayPlus(stack, 61) },
            { until: "2026-02-30" },
            { until: "tomorrow" },
            { days: 3 },
          ]
        ) {
          const reply = await ada.call("POST", "intent.pause", body);
          assert.equal(reply.status, 400, JSON.stringify(body));
          assert.equal(reply.body.code, "INVALID_REQUEST");
          assert.equal(typeof reply.body.error, "string");
          assert.ok(Array.isArray(reply.body.details) && reply.body.details.length > 0);
        }
        assert.equal((await ada.call("POST", "intent.resume", { now: true })).status, 400);
        assert.equal((await status(ada)).active_intent?.state, "active");
      });

      await t.step("pause: status shows it, the event reaches ada only", async () => {
        const paused = IntentControlResponse.parse(await ada.sdk.pauseIntent());
        assert.deepEqual([paused.state, paused.paused_until, paused.changed], [
          "paused",
          await todayPlus(stack, 60),
          true,
        ]);
        const again = await ada.sdk.pauseIntent({ until: await todayPlus(stack, 60) });
        assert.equal(again.changed, false, "pausing again with the same day is a no-op");
        const shown = await status(ada);
        assert.deepEqual([shown.active_intent?.state, shown.active_intent?.paused_until], [
          "paused",
          await todayPlus(stack, 60),
        ]);
        // The next plan is due at plan_time on the first day after the pause.
        assert.equal(
          shown.next_scheduled_run?.estimated_time,
          `${await todayPlus(stack, 61)}T00:00:00.000Z`,
        );
        await ada.events.waitFor(
          (e) => e.event === "intent_paused" && e.payload.intent_id === adaIntent,
          EVENT_WITHIN_MS,
          "intent_paused",
        );
        assert.deepEqual(
          eventsOf(ada, "intent_paused", adaIntent).map((e) =>
            "paused_until" in e && e.paused_until
          ),
          [await todayPlus(stack, 60)],
        );
      });

      await t.step("a week paused: no plan is pre-generated, the streak stands", async () => {
        for (let day = 1; day <= 7; day++) {
          const { status: code, body } = await tick(stack);
          assert.equal(code, 200, JSON.stringify(body));
          assert.deepEqual(body.runs.filter((r: { user_id: string }) => r.user_id === ada.id), []);
          const shown = await status(ada);
          assert.equal(shown.active_intent?.state, "paused");
          assert.equal(shown.learning_stats.current_streak_days, 3, `paused day ${day}`);
          await age(stack, ada.id, 1);
        }
        const [{ n }] = await stack.sql`
          select count(*)::int as n from wisely.sessions where user_id = ${ada.id}
        `;
        assert.equal(n, 3);
      });

      await t.step("resume, complete the next day: streak 4", async () => {
        const resumed = IntentControlResponse.parse(await ada.sdk.resumeIntent());
        assert.deepEqual([resumed.intent_id, resumed.state, resumed.changed], [
          adaIntent,
          "active",
          true,
        ]);
        assert.equal((await ada.sdk.resumeIntent()).changed, false, "resuming again: no-op");
        await ada.events.waitFor(
          (e) => e.event === "intent_resumed" && e.payload.intent_id === adaIntent,
          EVENT_WITHIN_MS,
          "intent_resumed",
        );
        assert.equal(eventsOf(ada, "intent_resumed", adaIntent).length, 1);
        const { body } = await tick(stack);
        const mine = body.runs.filter((r: { user_id: string }) => r.user_id === ada.id);
        assert.deepEqual(mine.map((r: { week: number; day: number }) => [r.week, r.day]), [[1, 4]]);
        const plan = await ada.sdk.generateDayPlan(1, 4);
        assert.equal(plan.session_id, mine[0].session_id);
        await ada.sdk.completeDay(plan.session_id!, { completion_time_min: 30, confidence: 7 });
        const shown = await status(ada);
        assert.deepEqual([shown.active_intent?.state, shown.active_intent?.paused_until], [
          "active",
          null,
        ]);
        assert.equal(shown.learning_stats.current_streak_days, 4);
      });

      await t.step("a pause with an end is over by itself once that day has passed", async () => {
        await ada.sdk.pauseIntent({ until: await todayPlus(stack, 1) });
        await age(stack, ada.id, 1);
        assert.equal((await status(ada)).active_intent?.paused_until, await todayPlus(stack, 0));
        await age(stack, ada.id, 1);
        assert.deepEqual((await status(ada)).active_intent?.state, "active");
      });

      await t.step("cancel ends the intent and keeps its history", async () => {
        const cancelled = IntentControlResponse.parse(await ada.sdk.cancelIntent());
        assert.deepEqual([cancelled.intent_id, cancelled.state], [adaIntent, "cancelled"]);
        await ada.events.waitFor(
          (e) => e.event === "intent_cancelled" && e.payload.intent_id === adaIntent,
          EVENT_WITHIN_MS,
          "intent_cancelled",
        );
        const shown = await status(ada);
        assert.equal(shown.active_intent, null);
        assert.equal(shown.learning_stats.completed_sessions, 4);
        const { sessions } = await ada.sdk.listSessions();
        assert.equal(sessions.length, 4);
        assert.ok(sessions.every((s) => s.intent_id === adaIntent && s.completion !== null));
        await rejectsWith(ada.sdk.cancelIntent(), 409, "NO_ACTIVE_INTENT");
        await rejectsWith(ada.sdk.generateDayPlan(1, 5), 409, "NO_ACTIVE_INTENT");
        const fresh = await ada.sdk.createIntent(INTENT);
        assert.notEqual(fresh.intent_id, adaIntent);
        const after = await status(ada);
        assert.deepEqual([after.active_intent?.id, after.active_intent?.state], [
          fresh.intent_id,
          "active",
        ]);
      });

      await t.step("the events went to their own learner only", () => {
        assert.deepEqual(eventsOf(bob, "intent_paused", adaIntent), []);
        assert.deepEqual(eventsOf(bob, "intent_resumed", adaIntent), []);
        assert.deepEqual(eventsOf(bob, "intent_cancelled", adaIntent), []);
        assert.equal(eventsOf(bob, "intent_cancelled", bobIntent).length, 1);
        assert.deepEqual(eventsOf(ada, "intent_cancelled", bobIntent), []);
        assert.deepEqual(eventsOf(ada, "intent_paused", bobIntent), []);
      });
    } finally {
      await closeClient(ada.client);
      await closeClient(bob.client);
      await stack.stop();
    }
  });
}
