/**
 * End to end over real HTTP against the served stack (gateway + orchestrator + reference
 * agents), on embedded PGlite and, when TEST_DATABASE_URL is set, on a real Postgres.
 */
import assert from "node:assert/strict";
import { createClient, FunctionsHttpError } from "@supabase/supabase-js";
import { mintUserJwt } from "../../dev/jwt.ts";
import {
  DayDoneResponse,
  DayRunResponse,
  ErrorResponse,
  IntentResponse,
  StatusResponse,
} from "../../supabase/functions/_shared/responses.ts";
import { startTestStack, testBackends } from "../support/stack.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const AGENTS = ["clo", "alex", "ta", "socratic"];

const INTENT = {
  topic: "Machine Learning",
  depth: "informed",
  end_goal: "Build production ML models",
  time_per_day_min: 60,
  user_tz: "America/New_York",
  meta: { learning_style: "project-first", plan_time: "07:30" },
};

type Stack = Awaited<ReturnType<typeof startTestStack>>;

/** A parsed JSON body, read by assertions (its shape is checked against the response schemas). */
// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

interface Caller {
  (
    method: "GET" | "POST",
    route: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<
    { status: number; body: Json; headers: Headers }
  >;
}

function caller(stack: Stack, token: string | null): Caller {
  return async (method, route, body, headers = {}) => {
    const h: Record<string, string> = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (body !== undefined) h["content-type"] ??= "application/json";
    const response = await fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text ? JSON.parse(text) : {},
      headers: response.headers,
    };
  };
}

function assertError(
  result: { status: number; body: Json; headers: Headers },
  status: number,
  code: string,
) {
  assert.equal(result.status, status, JSON.stringify(result.body));
  ErrorResponse.parse(result.body);
  assert.equal(result.body.code, code);
  assert.equal(typeof result.body.error, "string");
  assert.equal(result.headers.get("access-control-allow-origin"), "*");
}

async function count(stack: Stack, table: string, userId: string): Promise<number> {
  const [row] = await stack.sql`
    select count(*)::int as n from ${stack.sql("wisely")}.${stack.sql(table)}
    where user_id = ${userId}
  `;
  return row.n;
}

for (const backend of testBackends()) {
  Deno.test(`[${backend}] the reference flow, errors and isolation over HTTP`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      const alice = await stack.createUser();
      const bob = await stack.createUser();
      const asAlice = caller(stack, await stack.userToken(alice));
      const asBob = caller(stack, await stack.userToken(bob));
      const serviceToken = await stack.serviceToken();
      const asService = caller(stack, serviceToken);
      const anonymous = caller(stack, null);
      let sessionId = "";
      let intentId = "";

      await t.step("health needs no token", async () => {
        const result = await anonymous("GET", "health");
        assert.equal(result.status, 200);
        assert.deepEqual(result.body, { ok: true, db: "up" });
      });

      await t.step("status with no intent: nulls and zeros", async () => {
        const { status, body } = await asAlice("GET", "status");
        assert.equal(status, 200);
        StatusResponse.parse(body);
        assert.equal(body.user_id, alice);
        assert.equal(body.active_intent, null);
        assert.equal(body.latest_session, null);
        assert.equal(body.next_scheduled_run, null);
        assert.deepEqual(body.learning_stats, {
          total_sessions: 0,
          completed_sessions: 0,
          total_time_min: 0,
          average_confidence: null,
          current_streak_days: 0,
        });
      });

      await t.step("day.run before any intent is 409 NO_ACTIVE_INTENT", async () => {
        assertError(await asAlice("POST", "day.run", { week: 1, day: 1 }), 409, "NO_ACTIVE_INTENT");
      });

      await t.step("intent.sync creates (201), same topic updates in place (200)", async () => {
        const created = await asAlice("POST", "intent.sync", INTENT);
        assert.equal(created.status, 201, JSON.stringify(created.body));
        IntentResponse.parse(created.body);
        const body = created.body;
        assert.match(body.intent_id, UUID);
        assert.equal(body.active, true);
        assert.equal(body.topic, "Machine Learning");
        assert.equal(body.depth, "informed");
        assert.equal(body.end_goal, INTENT.end_goal);
        assert.equal(body.time_per_day_min, 60);
        assert.equal(body.user_tz, "America/New_York");
        assert.match(body.created_at, ISO);
        assert.deepEqual(body.meta, INTENT.meta);
        intentId = body.intent_id;

        const updated = await asAlice("POST", "intent.sync", {
          ...INTENT,
          topic: "  machine LEARNING ",
          time_per_day_min: 45,
        });
        assert.equal(updated.status, 200);
        assert.equal(updated.body.intent_id, intentId);
        assert.equal(updated.body.time_per_day_min, 45);
        assert.equal(updated.body.created_at, body.created_at);

        const replaced = await asAlice("POST", "intent.sync", { ...INTENT, topic: "Rust" });
        assert.equal(replaced.status, 201);
        assert.notEqual(replaced.body.intent_id, intentId);
        const rows = await stack.sql`
          select id, active from wisely.intents where user_id = ${alice} order by created_at
        `;
        assert.deepEqual(rows.map((r) => r.active), [false, true]);

        // Back to a 60-minute Machine Learning intent for the rest of the flow.
        const back = await asAlice("POST", "intent.sync", INTENT);
        assert.equal(back.status, 201);
        intentId = back.body.intent_id;
        assert.equal(await count(stack, "events", alice), 4);
      });

      await t.step("day.run creates the session (201) with the reference shape", async () => {
        const { status, body } = await asAlice("POST", "day.run", { week: 1, day: 1 });
        assert.equal(status, 201, JSON.stringify(body));
        DayRunResponse.parse(body);
        assert.match(body.session_id, UUID);
        assert.match(body.plan_md, /^# Daily Learning Plan — Week 1, Day 1\n/);
        assert.match(body.plan_md, /## Today's Focus: /);
        assert.equal(typeof body.plan_json_summary.title, "string");
        assert.equal(typeof body.plan_json_summary.description, "string");
        assert.ok(
          Array.isArray(body.plan_json_summary.steps) && body.plan_json_summary.steps.length > 0,
        );
        assert.ok(body.plan_json_summary.steps.every((s: unknown) => typeof s === "string"));
        assert.equal(body.degraded_mode, false);
        assert.equal(body.cache_hits, 0);
        assert.equal(body.cache_misses, 4);
        assert.deepEqual(Object.keys(body.signal_quality).sort(), [...AGENTS].sort());
        for (const agent of AGENTS) {
          assert.equal(body.signal_quality[agent].available, true);
          assert.equal(body.signal_quality[agent].fresh, true);
          assert.equal(body.signal_quality[agent].source, "network");
        }
        assert.equal(body.week, 1);
        assert.equal(body.day, 1);
        assert.equal(body.revision, 1);
        sessionId = body.session_id;

        const [stored] = await stack.sql`
          select total_minutes, plan from wisely.sessions where id = ${sessionId}
        `;
        assert.equal(stored.total_minutes, 60);
        const minutes = stored.plan.sections.reduce(
          (sum: number, s: { minutes: number }) => sum + s.minutes,
          0,
        );
        assert.equal(minutes, 60);
        assert.equal(await count(stack, "agent_calls", alice), 4);
        assert.equal(await count(stack, "agent_cache", alice), 4);
        assert.equal(await count(stack, "plan_revisions", alice), 1);
      });

      await t.step("day.run again returns the same session without calling agents", async () => {
        const { status, body } = await asAlice("POST", "day.run", { week: 1, day: 1 });
        assert.equal(status, 200);
        assert.equal(body.session_id, sessionId);
        assert.equal(body.revision, 1);
        assert.equal(await count(stack, "agent_calls", alice), 4);
      });

      await t.step("the next day reuses the intent- and week-scoped cache", async () => {
        const { status, body } = await asAlice("POST", "day.run", { week: 1, day: 2 });
        assert.equal(status, 201);
        // Day 1 cached week packs of clo, ta and socratic and alex's intent-wide answer: day 2
        // is served from its own pack entries (spec 6.1).
        assert.equal(body.cache_hits, 4);
        assert.equal(body.cache_misses, 0);
        for (const agent of AGENTS) assert.equal(body.signal_quality[agent].source, "cache");
        assert.match(body.plan_json_summary.title, /how it works/, "day 2's own focus");
      });

      await t.step(
        "day.done records the completion; again updates without a second event",
        async () => {
          const first = await asAlice("POST", "day.done", {
            session_id: sessionId,
            completion_time_min: 45,
            confidence: 7,
            notes: "Struggled with backpropagation",
          });
          assert.equal(first.status, 200, JSON.stringify(first.body));
          DayDoneResponse.parse(first.body);
          assert.equal(first.body.ok, true);
          assert.match(first.body.next_day_hint, /Day 2/);
          assert.deepEqual(
            { ...first.body.completion_summary, completed_at: undefined },
            {
              session_id: sessionId,
              completion_time_min: 45,
              confidence: 7,
              notes: "Struggled with backpropagation",
              completed_at: undefined,
            },
          );
          assert.match(first.body.completion_summary.completed_at, ISO);

          const again = await asAlice("POST", "day.done", {
            session_id: sessionId,
            completion_time_min: 55,
            confidence: 8,
          });
          assert.equal(again.status, 200);
          assert.equal(
            again.body.completion_summary.completed_at,
            first.body.completion_summary.completed_at,
          );
          assert.equal(again.body.completion_summary.completion_time_min, 55);
          const events = await stack.sql`
          select type from wisely.events where user_id = ${alice} and type = 'day_completed'
        `;
          assert.equal(events.length, 1);
        },
      );

      await t.step(
        "status reports the session, completion, freshness, next run and stats",
        async () => {
          const { status, body } = await asAlice("GET", "status");
          assert.equal(status, 200);
          assert.equal(body.user_id, alice);
          assert.equal(body.active_intent.id, intentId);
          assert.equal(body.active_intent.topic, "Machine Learning");
          assert.equal(body.latest_session.week, 1);
          assert.equal(body.latest_session.day, 2);
          assert.equal(body.latest_session.completion, null);
          for (const agent of AGENTS) {
            assert.equal(body.signal_freshness[agent].available, true);
            assert.equal(body.signal_freshness[agent].fresh, true);
            assert.match(body.signal_freshness[agent].last_updated, ISO);
          }
          assert.equal(body.next_scheduled_run.week, 1);
          assert.equal(body.next_scheduled_run.day, 3);
          assert.equal(body.next_scheduled_run.timezone, "America/New_York");
          assert.ok(Date.parse(body.next_scheduled_run.estimated_time) > Date.now());
          assert.deepEqual(body.learning_stats, {
            total_sessions: 2,
            completed_sessions: 1,
            total_time_min: 55,
            average_confidence: 8,
            current_streak_days: 1,
          });
        },
      );

      await t.step(
        "another user's session is 404, never 403; their status is their own",
        async () => {
          const result = await asBob("POST", "day.done", {
            session_id: sessionId,
            completion_time_min: 10,
            confidence: 1,
          });
          assertError(result, 404, "SESSION_NOT_FOUND");
          assertError(
            await asAlice("POST", "day.done", {
              session_id: crypto.randomUUID(),
              completion_time_min: 10,
              confidence: 1,
            }),
            404,
            "SESSION_NOT_FOUND",
          );
          const bobStatus = await asBob("GET", "status");
          assert.equal(bobStatus.body.user_id, bob);
          assert.equal(bobStatus.body.active_intent, null);
          assert.equal(bobStatus.body.learning_stats.total_sessions, 0);
          const [completion] = await stack.sql`
          select completion_time_min from wisely.completions where session_id = ${sessionId}
        `;
          assert.equal(completion.completion_time_min, 55);
        },
      );

      await t.step(
        "service role acts for X-User-ID; without it 400; users cannot borrow it",
        async () => {
          const status = await asService("GET", "status", undefined, { "x-user-id": alice });
          assert.equal(status.status, 200);
          assert.equal(status.body.user_id, alice);
          assertError(await asService("GET", "status"), 400, "INVALID_REQUEST");
          assertError(
            await asService("GET", "status", undefined, { "x-user-id": "x" }),
            400,
            "INVALID_REQUEST",
          );
          assertError(
            await asBob("GET", "status", undefined, { "x-user-id": alice }),
            403,
            "FORBIDDEN",
          );
        },
      );

      await t.step("authentication failures are 401", async () => {
        assertError(await anonymous("GET", "status"), 401, "UNAUTHORIZED");
        assertError(await caller(stack, "forged.token.here")("GET", "status"), 401, "UNAUTHORIZED");
        assertError(
          await caller(stack, await stack.anonToken())("GET", "status"),
          401,
          "UNAUTHORIZED",
        );
        const expired = await mintUserJwt({
          secret: stack.config.jwtSecret!,
          userId: alice,
          expiresIn: "-5m",
        });
        assertError(await caller(stack, expired)("GET", "status"), 401, "UNAUTHORIZED");
      });

      await t.step("every other error code these routes produce", async () => {
        assertError(await asAlice("GET", "nope"), 404, "NOT_FOUND");
        assertError(await asAlice("GET", "day.run"), 405, "METHOD_NOT_ALLOWED");
        assertError(await asAlice("POST", "day.run", "{oops"), 400, "INVALID_REQUEST");
        const invalid = await asAlice("POST", "day.run", { week: 0, day: 9 });
        assertError(invalid, 400, "INVALID_REQUEST");
        assert.deepEqual(invalid.body.details.map((d: { path: string[] }) => d.path[0]).sort(), [
          "day",
          "week",
        ]);
        assertError(
          await asAlice("POST", "intent.sync", { ...INTENT, depth: "bottomless" }),
          400,
          "INVALID_REQUEST",
        );
        assertError(await asAlice("POST", "day.done", { session_id: "x" }), 400, "INVALID_REQUEST");
        assertError(
          await asAlice("POST", "intent.sync", JSON.stringify(INTENT), {
            "content-type": "text/plain",
          }),
          415,
          "UNSUPPORTED_MEDIA_TYPE",
        );
        assertError(
          await asAlice("POST", "intent.sync", { ...INTENT, meta: { pad: "x".repeat(70_000) } }),
          413,
          "PAYLOAD_TOO_LARGE",
        );
        const preflight = await fetch(`${stack.functionsUrl}/orchestrator/day.run`, {
          method: "OPTIONS",
        });
        assert.equal(preflight.status, 204);
        await preflight.body?.cancel();
      });

      await t.step("bad input changes nothing stored", async () => {
        const before = await stack.sql`
          select id, topic, time_per_day_min, updated_at from wisely.intents where user_id = ${alice}
        `;
        const eventsBefore = await count(stack, "events", alice);
        assertError(
          await asAlice("POST", "intent.sync", { ...INTENT, time_per_day_min: 481 }),
          400,
          "INVALID_REQUEST",
        );
        assertError(
          await asAlice("POST", "intent.sync", { ...INTENT, user_tz: "Mars/Base" }),
          400,
          "INVALID_REQUEST",
        );
        assertError(
          await asAlice("POST", "day.done", {
            session_id: sessionId,
            completion_time_min: 2000,
            confidence: 5,
          }),
          400,
          "INVALID_REQUEST",
        );
        const after = await stack.sql`
          select id, topic, time_per_day_min, updated_at from wisely.intents where user_id = ${alice}
        `;
        assert.deepEqual(after, before);
        assert.equal(await count(stack, "events", alice), eventsBefore);
      });

      await t.step(
        "each step wrote its event and broadcast it to the user's topic only",
        async () => {
          const events = await stack.sql`
          select type, payload from wisely.events where user_id = ${alice} order by id
        `;
          assert.deepEqual(events.map((e) => e.type), [
            "intent_synced",
            "intent_synced",
            "intent_synced",
            "intent_synced",
            "instructor_plan_created",
            "instructor_plan_created",
            "day_completed",
          ]);
          const planEvent = events.find((e) => e.type === "instructor_plan_created");
          assert.deepEqual(Object.keys(planEvent?.payload ?? {}).sort(), [
            "cache_hits",
            "cache_misses",
            "day",
            "degraded_mode",
            "intent_id",
            "revision",
            "session_id",
            "week",
          ]);
          const text = JSON.stringify(events);
          assert.ok(!text.includes("Machine Learning") && !text.includes("backpropagation"));
          const messages = await stack.sql`
          select topic, event, private from realtime.messages
          where topic = ${"wisely.events:" + alice} order by inserted_at
        `;
          assert.equal(messages.length, events.length);
          assert.ok(messages.every((m) => m.private === true));
          const [{ n }] = await stack.sql`
          select count(*)::int as n from realtime.messages where topic = ${"wisely.events:" + bob}
        `;
          assert.equal(n, 0);
        },
      );

      await t.step("supabase-js functions.invoke works for GET and POST routes", async () => {
        const carol = await stack.createUser();
        const anonKey = await stack.anonToken();
        const client = createClient(stack.url, anonKey, {
          global: { headers: { Authorization: `Bearer ${await stack.userToken(carol)}` } },
          auth: { persistSession: false, autoRefreshToken: false },
        });
        const status = await client.functions.invoke("orchestrator/status", { method: "GET" });
        assert.equal(status.error, null);
        assert.equal(status.data.user_id, carol);

        const synced = await client.functions.invoke("orchestrator/intent.sync", {
          body: { ...INTENT, topic: "Distributed systems" },
        });
        assert.equal(synced.error, null);
        assert.equal(synced.data.topic, "Distributed systems");

        const run = await client.functions.invoke("orchestrator/day.run", {
          body: { week: 1, day: 1 },
        });
        assert.equal(run.error, null);
        assert.match(run.data.session_id, UUID);

        const done = await client.functions.invoke("orchestrator/day.done", {
          body: { session_id: run.data.session_id, completion_time_min: 30, confidence: 9 },
        });
        assert.equal(done.error, null);
        assert.equal(done.data.ok, true);

        const failed = await client.functions.invoke("orchestrator/day.done", {
          body: { session_id: sessionId, completion_time_min: 30, confidence: 9 },
        });
        assert.ok(failed.error instanceof FunctionsHttpError);
        const response: Response = failed.error.context;
        assert.equal(response.status, 404);
        assert.equal((await response.json()).code, "SESSION_NOT_FOUND");
      });
    } finally {
      await stack.stop();
    }
  });
}

for (const backend of testBackends()) {
  Deno.test(`[${backend}] status answers POST with no body or {} (spec 5.6)`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      const dana = await stack.createUser();
      const token = await stack.userToken(dana);
      const asDana = caller(stack, token);
      const viaGet = await asDana("GET", "status");
      assert.equal(viaGet.status, 200, JSON.stringify(viaGet.body));
      StatusResponse.parse(viaGet.body);
      assert.equal(viaGet.body.user_id, dana);

      await t.step("POST with no body and with {} answers as GET does", async () => {
        const noBody = await asDana("POST", "status");
        assert.equal(noBody.status, 200, JSON.stringify(noBody.body));
        StatusResponse.parse(noBody.body);
        assert.deepEqual(noBody.body, viaGet.body);
        const empty = await asDana("POST", "status", {});
        assert.equal(empty.status, 200, JSON.stringify(empty.body));
        assert.deepEqual(empty.body, viaGet.body);
      });

      await t.step("any other POST body is 400 INVALID_REQUEST", async () => {
        const extra = await asDana("POST", "status", { x: 1 });
        assertError(extra, 400, "INVALID_REQUEST");
        assert.ok(Array.isArray(extra.body.details) && extra.body.details.length > 0);
        assertError(await asDana("POST", "status", "{oops"), 400, "INVALID_REQUEST");
        assertError(await asDana("POST", "status", []), 400, "INVALID_REQUEST");
        assertError(await asDana("POST", "status", null), 400, "INVALID_REQUEST");
        assertError(await caller(stack, null)("POST", "status"), 401, "UNAUTHORIZED");
        const put = await fetch(`${stack.functionsUrl}/orchestrator/status`, {
          method: "PUT",
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(put.status, 405);
        const allow = (put.headers.get("allow") ?? "").split(",").map((m) => m.trim());
        assert.ok(allow.includes("GET") && allow.includes("POST"), allow.join());
        await put.body?.cancel();
      });

      await t.step("supabase-js functions.invoke with no method (POST) reads it", async () => {
        const client = createClient(stack.url, await stack.anonToken(), {
          global: { headers: { Authorization: `Bearer ${token}` } },
          auth: { persistSession: false, autoRefreshToken: false },
        });
        const status = await client.functions.invoke("orchestrator/status");
        assert.equal(status.error, null);
        StatusResponse.parse(status.data);
        assert.deepEqual(status.data, viaGet.body);
        const withEmpty = await client.functions.invoke("orchestrator/status", { body: {} });
        assert.equal(withEmpty.error, null);
        assert.equal(withEmpty.data.user_id, dana);
        const refused = await client.functions.invoke("orchestrator/status", { body: { x: 1 } });
        assert.ok(refused.error instanceof FunctionsHttpError);
        const response: Response = refused.error.context;
        assert.equal(response.status, 400);
        assert.equal((await response.json()).code, "INVALID_REQUEST");
      });

      await t.step("POST status is a read: an Idempotency-Key does not replay it", async () => {
        const key = { "idempotency-key": "status-read-1" };
        const before = await asDana("POST", "status", {}, key);
        assert.equal(before.body.active_intent, null);
        const synced = await asDana("POST", "intent.sync", INTENT);
        assert.equal(synced.status, 201, JSON.stringify(synced.body));
        const after = await asDana("POST", "status", {}, key);
        assert.equal(after.status, 200, JSON.stringify(after.body));
        assert.equal(after.headers.get("idempotent-replayed"), null);
        assert.equal(after.body.active_intent?.id, synced.body.intent_id, "a fresh read");
      });
    } finally {
      await stack.stop();
    }
  });
}
