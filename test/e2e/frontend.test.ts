/**
 * The local stack as a frontend sees it (issue 7): the real `@supabase/supabase-js` against
 * the served stack — sign-up, sign-in, refresh, sign-out, `functions.invoke` for every route,
 * the learner's own events over Realtime and none of another's, anonymous learners, and an
 * admin delete that takes the learner's rows with it. On PGlite and on Postgres.
 */
import assert from "node:assert/strict";
import { FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import { LOCAL_SERVICE_ROLE_KEY } from "../../dev/keys.ts";
import { startTestStack, testBackends, type TestStack } from "../support/stack.ts";
import {
  closeClient,
  type EventCollector,
  frontendClient,
  serverClient,
  subscribe,
} from "../support/supabase_clients.ts";

const INTENT = {
  topic: "Rust ownership",
  depth: "informed",
  end_goal: "Write a safe CLI tool",
  time_per_day_min: 30,
  user_tz: "Europe/Berlin",
};

/** Realtime must deliver a learner's event within a second of the change (issue 7). */
const EVENT_WITHIN_MS = 1_000;

interface Learner {
  client: SupabaseClient;
  id: string;
  events: EventCollector;
}

async function signUp(stack: TestStack, name: string): Promise<Learner> {
  const client = frontendClient(stack);
  const email = `${name}-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const { data, error } = await client.auth.signUp({ email, password: "correct horse 42" });
  assert.equal(error, null);
  assert.ok(data.session, "sign-up is confirmed at once and returns a session");
  assert.equal(data.user?.email, email);
  const id = data.user!.id;
  const events = await subscribe(client, `wisely.events:${id}`);
  return { client, id, events };
}

async function invoke(
  learner: Learner,
  route: string,
  options: { method?: "GET" | "POST"; body?: unknown; headers?: Record<string, string> } = {},
) {
  const { data, error } = await learner.client.functions.invoke(`orchestrator/${route}`, {
    method: options.method,
    body: options.body as Record<string, unknown> | undefined,
    headers: options.headers,
  });
  if (error) {
    const detail = error instanceof FunctionsHttpError ? await error.context.text() : error.message;
    assert.fail(`${route}: ${detail}`);
  }
  return data;
}

/** Intent, plan, completion: the three events of a learner's day, each awaited over Realtime. */
async function learnOneDay(learner: Learner) {
  const intent = await invoke(learner, "intent.sync", { body: INTENT });
  assert.equal(intent.topic, INTENT.topic);
  await learner.events.waitFor(
    (e) => e.event === "intent_synced" && e.payload.intent_id === intent.intent_id,
    EVENT_WITHIN_MS,
    "intent_synced",
  );

  const plan = await invoke(learner, "day.run", { body: { week: 1, day: 1 } });
  assert.match(plan.plan_md, /^# Daily Learning Plan — Week 1, Day 1/);
  await learner.events.waitFor(
    (e) => e.event === "instructor_plan_created" && e.payload.session_id === plan.session_id,
    EVENT_WITHIN_MS,
    "instructor_plan_created",
  );

  const done = await invoke(learner, "day.done", {
    body: { session_id: plan.session_id, completion_time_min: 25, confidence: 8 },
  });
  assert.equal(done.ok, true);
  await learner.events.waitFor(
    (e) => e.event === "day_completed" && e.payload.session_id === plan.session_id,
    EVENT_WITHIN_MS,
    "day_completed",
  );
  return { intent, plan };
}

function eventUsers(learner: Learner): Set<unknown> {
  return new Set(learner.events.events.map((e) => e.payload.user_id));
}

for (const backend of testBackends()) {
  Deno.test(`frontend (${backend}): two learners through Auth, Functions and Realtime`, async (t) => {
    const stack = await startTestStack(backend);
    const clients: SupabaseClient[] = [];
    try {
      const ada = await signUp(stack, "ada");
      const bob = await signUp(stack, "bob");
      clients.push(ada.client, bob.client);

      await t.step("each learner gets their own events, and none of the other's", async () => {
        const adaDay = await learnOneDay(ada);
        await learnOneDay(bob);
        assert.deepEqual(eventUsers(ada), new Set([ada.id]));
        assert.deepEqual(eventUsers(bob), new Set([bob.id]));
        // Event payloads carry ids and flags, never what the learner wrote.
        const texts = JSON.stringify(ada.events.events);
        assert.ok(!texts.includes(INTENT.topic) && !texts.includes(INTENT.end_goal));
        assert.ok(adaDay.plan.session_id);
      });

      await t.step("functions.invoke reaches every user route", async () => {
        const status = await invoke(ada, "status"); // POST with no body, as the document's class
        assert.equal(status.active_intent.topic, INTENT.topic);
        assert.equal(status.learning_stats.completed_sessions, 1);
        const statusGet = await invoke(ada, "status", { method: "GET" });
        assert.deepEqual(statusGet.active_intent, status.active_intent);
        const sessions = await invoke(ada, "sessions?limit=5", { method: "GET" });
        assert.equal(sessions.sessions.length, 1);
        const csv = await invoke(ada, "sessions", {
          method: "GET",
          headers: { accept: "text/csv" },
        });
        assert.equal(typeof csv, "string");
        assert.equal(csv.trim().split("\r\n").length, 2, "a header and one session");
        const health = await invoke(ada, "health", { method: "GET" });
        assert.equal(health.ok, true);
        const openapi = await invoke(ada, "openapi.json", { method: "GET" });
        assert.equal(openapi.openapi, "3.1.0");
        const stream = await invoke(ada, "day.run", {
          body: { week: 1, day: 2 },
          headers: { accept: "text/event-stream" },
        });
        assert.ok(stream instanceof Response, "an SSE answer is handed over as the Response");
        const text = await stream.text();
        assert.equal(text.match(/^event: agent$/gm)?.length, 4);
        assert.equal(text.match(/^event: plan$/gm)?.length, 1);
      });

      await t.step(
        "a failed call surfaces as FunctionsHttpError with the spec's body",
        async () => {
          const { error } = await ada.client.functions.invoke("orchestrator/day.done", {
            body: { session_id: crypto.randomUUID(), completion_time_min: 10, confidence: 5 },
          });
          assert.ok(error instanceof FunctionsHttpError);
          assert.equal(error.context.status, 404);
          assert.equal((await error.context.json()).code, "SESSION_NOT_FOUND");
        },
      );

      await t.step("service routes through a server client", async () => {
        const server = serverClient(stack, LOCAL_SERVICE_ROLE_KEY);
        clients.push(server);
        const tick = await server.functions.invoke("orchestrator/day.tick", { body: {} });
        assert.equal(tick.error, null);
        const metrics = await server.functions.invoke("orchestrator/metrics", { method: "GET" });
        assert.equal(metrics.error, null);
        assert.ok(metrics.data.agents.length >= 4);
        const denied = await ada.client.functions.invoke("orchestrator/metrics", { method: "GET" });
        assert.ok(denied.error instanceof FunctionsHttpError);
        assert.equal(denied.error.context.status, 403);
        await denied.error.context.body?.cancel();
      });

      await t.step("joining another learner's private topic is refused", async () => {
        await assert.rejects(subscribe(ada.client, `wisely.events:${bob.id}`), /CHANNEL_ERROR/);
      });

      await t.step("sign out, sign in, refresh", async () => {
        const email = (await ada.client.auth.getUser()).data.user!.email!;
        assert.equal((await ada.client.auth.signOut()).error, null);
        const again = await ada.client.auth.signInWithPassword({
          email,
          password: "correct horse 42",
        });
        assert.equal(again.error, null);
        const before = again.data.session!;
        const refreshed = await ada.client.auth.refreshSession();
        assert.equal(refreshed.error, null);
        assert.notEqual(refreshed.data.session!.refresh_token, before.refresh_token);
        const status = await invoke(ada, "status", { method: "GET" });
        assert.equal(status.active_intent.topic, INTENT.topic, "same learner, same data");
      });

      await t.step("an anonymous learner works end to end", async () => {
        const client = frontendClient(stack);
        clients.push(client);
        const { data, error } = await client.auth.signInAnonymously();
        assert.equal(error, null);
        assert.equal(data.user!.is_anonymous, true);
        const anon = {
          client,
          id: data.user!.id,
          events: await subscribe(client, `wisely.events:${data.user!.id}`),
        };
        await learnOneDay(anon);
        const status = await invoke(anon, "status", { method: "GET" });
        assert.equal(status.learning_stats.completed_sessions, 1);
      });

      await t.step("an admin delete takes the learner's rows with it", async () => {
        const admin = serverClient(stack);
        clients.push(admin);
        const token = (await bob.client.auth.getSession()).data.session!.access_token;
        const { error } = await admin.auth.admin.deleteUser(bob.id);
        assert.equal(error, null);
        const [left] = await stack.sql`
          select (select count(*) from wisely.intents where user_id = ${bob.id})::int as intents,
                 (select count(*) from wisely.sessions where user_id = ${bob.id})::int as sessions,
                 (select count(*) from wisely.events where user_id = ${bob.id})::int as events
        `;
        assert.deepEqual({ ...left }, { intents: 0, sessions: 0, events: 0 });
        const res = await fetch(`${stack.functionsUrl}/orchestrator/status`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(res.status, 401, "a deleted learner's token is refused");
        await res.body?.cancel();
      });
    } finally {
      await Promise.all(clients.map(closeClient));
      await stack.stop();
    }
  });
}
