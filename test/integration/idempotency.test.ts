/**
 * Idempotency-Key (spec 5.7) on a real database: over HTTP against the served stack (replays,
 * 422 on another body, 409 while in flight, what is not stored, expiry, abandonment, per-user
 * keys, SSE), then through the pipeline with routes made for the purpose (a handler that fails
 * with a 5xx, a slow handler hit concurrently, SSE streams) and the claim's fencing in SQL.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import type { TokenVerifier } from "../../supabase/functions/_shared/auth.ts";
import { createApp, json, type Route } from "../../supabase/functions/_shared/http/app.ts";
import { claimKey, finishKey } from "../../supabase/functions/_shared/http/idempotency_store.ts";
import { requestHash } from "../../supabase/functions/_shared/http/request_hash.ts";
import { createEventStream } from "../../supabase/functions/_shared/http/sse.ts";
import { silentLogger } from "../../supabase/functions/_shared/log.ts";
import { createUser, freshDatabase } from "../support/db.ts";
import { startTestStack, testBackends } from "../support/stack.ts";

type Stack = Awaited<ReturnType<typeof startTestStack>>;

interface Result {
  status: number;
  text: string;
  body: Record<string, unknown>;
  headers: Headers;
}

function caller(stack: Stack, token: string) {
  return async (
    method: "GET" | "POST",
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Result> => {
    const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
    if (body !== undefined) h["content-type"] ??= "application/json";
    const response = await fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = {};
    }
    return { status: response.status, text, body: parsed, headers: response.headers };
  };
}

const INTENT = {
  topic: "Machine Learning",
  depth: "informed",
  end_goal: "Build production ML models",
  time_per_day_min: 60,
  user_tz: "UTC",
  meta: { plan_time: "07:30" },
};

/** The same JSON value as INTENT, written differently: other key order and whitespace. */
const INTENT_REWRITTEN = `{
  "meta": {"plan_time": "07:30"}, "user_tz": "UTC", "time_per_day_min": 60,
  "end_goal": "Build production ML models", "depth": "informed", "topic": "Machine Learning"
}`;

const key = () => `key-${crypto.randomUUID()}`;
const withKey = (value: string, extra: Record<string, string> = {}) => ({
  "idempotency-key": value,
  ...extra,
});

async function counts(sql: postgres.Sql, user: string) {
  const [row] = await sql`
    select
      (select count(*)::int from wisely.intents where user_id = ${user}) as intents,
      (select count(*)::int from wisely.sessions where user_id = ${user}) as sessions,
      (select count(*)::int from wisely.plan_revisions where user_id = ${user}) as revisions,
      (select count(*)::int from wisely.completions where user_id = ${user}) as completions,
      (select count(*)::int from wisely.events where user_id = ${user}) as events,
      (select count(*)::int from wisely.agent_calls where user_id = ${user}) as calls
  `;
  return { ...row };
}

async function keyRow(sql: postgres.Sql, user: string, value: string) {
  const [row] = await sql`
    select key, route, request_hash, state, response_status, response_body, created_at,
      expires_at
    from wisely.idempotency_keys where user_id = ${user} and key = ${value}
  `;
  return row ?? null;
}

function assertError(result: Result, status: number, code: string) {
  assert.equal(result.status, status, result.text);
  assert.equal(result.body.code, code);
  assert.equal(typeof result.body.error, "string");
  assert.equal(result.headers.get("access-control-allow-origin"), "*");
  assert.equal(result.headers.get("idempotent-replayed"), null);
}

function assertReplay(replay: Result, first: Result) {
  assert.equal(replay.status, first.status);
  assert.equal(replay.text, first.text, "the very same bytes");
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  assert.match(replay.headers.get("content-type") ?? "", /^application\/json; charset=utf-8$/);
  assert.equal(replay.headers.get("access-control-allow-origin"), "*");
  assert.equal(first.headers.get("idempotent-replayed"), null);
}

async function waitFor<T>(
  probe: () => Promise<T | null> | T | null,
  what: string,
  ms = 10_000,
): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const value = await probe();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const backend of testBackends()) {
  Deno.test(`[${backend}] Idempotency-Key over HTTP`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      const newUser = async () => {
        const id = await stack.createUser();
        return { id, call: caller(stack, await stack.userToken(id)) };
      };
      const alice = await newUser();
      const intentKey = key();
      let intent: Result;

      await t.step(
        "intent.sync: a replay returns the stored response and runs nothing",
        async () => {
          intent = await alice.call("POST", "intent.sync", INTENT, withKey(intentKey));
          assert.equal(intent.status, 201, intent.text);
          const before = await counts(stack.sql, alice.id);
          assert.deepEqual(before, { ...before, intents: 1, events: 1 });

          const replay = await alice.call(
            "POST",
            "intent.sync",
            INTENT_REWRITTEN,
            withKey(intentKey),
          );
          assertReplay(replay, intent);
          assert.deepEqual(await counts(stack.sql, alice.id), before);
          const row = await keyRow(stack.sql, alice.id, intentKey);
          assert.equal(row.state, "done");
          assert.equal(row.route, "intent.sync");
          assert.equal(row.response_status, 201);
          assert.equal(row.response_body, intent.text);
          const ttlHours = (row.expires_at.getTime() - row.created_at.getTime()) / 3_600_000;
          assert.equal(ttlHours, 24);
        },
      );

      await t.step("the same key with another body: 422, nothing runs", async () => {
        const before = await counts(stack.sql, alice.id);
        const other = await alice.call(
          "POST",
          "intent.sync",
          { ...INTENT, topic: "Rust" },
          withKey(intentKey),
        );
        assertError(other, 422, "IDEMPOTENCY_KEY_REUSED");
        assertError(
          await alice.call("POST", "day.run", { week: 1, day: 1 }, withKey(intentKey)),
          422,
          "IDEMPOTENCY_KEY_REUSED",
        );
        assert.deepEqual(await counts(stack.sql, alice.id), before);
        // The stored response is still there for the original request.
        assertReplay(await alice.call("POST", "intent.sync", INTENT, withKey(intentKey)), intent);
      });

      let session: Result;
      await t.step("day.run: one session, one event, one set of agent calls", async () => {
        const runKey = key();
        session = await alice.call("POST", "day.run", { week: 1, day: 1 }, withKey(runKey));
        assert.equal(session.status, 201, session.text);
        const before = await counts(stack.sql, alice.id);
        assert.equal(before.sessions, 1);
        const replay = await alice.call("POST", "day.run", { day: 1, week: 1 }, withKey(runKey));
        assertReplay(replay, session);
        assert.deepEqual(await counts(stack.sql, alice.id), before);
        assertError(
          await alice.call(
            "POST",
            "day.run",
            { week: 1, day: 1, force_refresh: true },
            withKey(runKey),
          ),
          422,
          "IDEMPOTENCY_KEY_REUSED",
        );
        assert.deepEqual(await counts(stack.sql, alice.id), before);
      });

      await t.step("day.done: the stored completion is replayed, not rewritten", async () => {
        const doneKey = key();
        const body = {
          session_id: session.body.session_id,
          completion_time_min: 45,
          confidence: 7,
        };
        const done = await alice.call("POST", "day.done", body, withKey(doneKey));
        assert.equal(done.status, 200, done.text);
        const before = await counts(stack.sql, alice.id);
        const replay = await alice.call("POST", "day.done", body, withKey(doneKey));
        assertReplay(replay, done);
        assert.deepEqual(await counts(stack.sql, alice.id), before);
      });

      await t.step("the handler's own 4xx outcome is stored (404 SESSION_NOT_FOUND)", async () => {
        const notFoundKey = key();
        const body = { session_id: crypto.randomUUID(), completion_time_min: 5, confidence: 5 };
        const first = await alice.call("POST", "day.done", body, withKey(notFoundKey));
        assertError(first, 404, "SESSION_NOT_FOUND");
        assertReplay(await alice.call("POST", "day.done", body, withKey(notFoundKey)), first);
      });

      await t.step("400, 415 and 413 are not stored: the key stays free", async () => {
        const bob = await newUser();
        const k = key();
        assertError(
          await bob.call("POST", "intent.sync", { ...INTENT, depth: "bottomless" }, withKey(k)),
          400,
          "INVALID_REQUEST",
        );
        assertError(
          await bob.call("POST", "intent.sync", JSON.stringify(INTENT), {
            ...withKey(k),
            "content-type": "text/plain",
          }),
          415,
          "UNSUPPORTED_MEDIA_TYPE",
        );
        assertError(
          await bob.call(
            "POST",
            "intent.sync",
            { ...INTENT, meta: { pad: "x".repeat(70_000) } },
            withKey(k),
          ),
          413,
          "PAYLOAD_TOO_LARGE",
        );
        assert.equal(await keyRow(stack.sql, bob.id, k), null);
        const ok = await bob.call("POST", "intent.sync", INTENT, withKey(k));
        assert.equal(ok.status, 201, ok.text);
        assert.equal((await keyRow(stack.sql, bob.id, k)).state, "done");
      });

      await t.step("a malformed key is 400; GET routes ignore the header", async () => {
        for (const bad of ["", "x".repeat(256), "caf\u00e9"]) {
          const result = await alice.call("POST", "day.run", { week: 1, day: 1 }, withKey(bad));
          assertError(result, 400, "INVALID_REQUEST");
          const [detail] = result.body.details as { path: unknown }[];
          assert.deepEqual(detail.path, ["headers", "idempotency-key"]);
        }
        const k = key();
        const status = await alice.call("GET", "status", undefined, withKey(k));
        assert.equal(status.status, 200);
        assert.equal(status.headers.get("idempotent-replayed"), null);
        assert.equal(await keyRow(stack.sql, alice.id, k), null);
      });

      await t.step(
        "in flight: 409 IDEMPOTENCY_KEY_IN_USE; abandoned after the timeout",
        async () => {
          const carol = await newUser();
          const k = key();
          const hash = await requestHash(
            "POST",
            "intent.sync",
            new TextEncoder().encode(JSON.stringify(INTENT)),
          );
          // As another isolate would leave it while it runs.
          await stack.sql`
          insert into wisely.idempotency_keys (user_id, key, route, request_hash)
          values (${carol.id}, ${k}, 'intent.sync', ${hash})
        `;
          const busy = await carol.call("POST", "intent.sync", INTENT, withKey(k));
          assertError(busy, 409, "IDEMPOTENCY_KEY_IN_USE");
          assert.equal(busy.headers.get("retry-after"), "1");
          assertError(
            await carol.call("POST", "intent.sync", { ...INTENT, topic: "Go" }, withKey(k)),
            422,
            "IDEMPOTENCY_KEY_REUSED",
          );
          assert.equal((await counts(stack.sql, carol.id)).intents, 0);

          // Its isolate died: past idempotency.in_flight_timeout_s the key is claimed anew.
          await stack.sql`
          update wisely.idempotency_keys set created_at = now() - interval '11 minutes'
          where user_id = ${carol.id} and key = ${k}
        `;
          const taken = await carol.call("POST", "intent.sync", INTENT, withKey(k));
          assert.equal(taken.status, 201, taken.text);
          assertReplay(await carol.call("POST", "intent.sync", INTENT, withKey(k)), taken);

          // The timeout is a setting.
          const k2 = key();
          await stack.sql`
          insert into wisely.idempotency_keys (user_id, key, route, request_hash, created_at)
          values (${carol.id}, ${k2}, 'intent.sync', ${hash}, now() - interval '3 seconds')
        `;
          assertError(
            await carol.call("POST", "intent.sync", INTENT, withKey(k2)),
            409,
            "IDEMPOTENCY_KEY_IN_USE",
          );
          await stack.sql`
          update wisely.settings set value = '2' where key = 'idempotency.in_flight_timeout_s'
        `;
          try {
            assert.equal(
              (await carol.call("POST", "intent.sync", INTENT, withKey(k2))).status,
              200,
            );
          } finally {
            await stack.sql`
            update wisely.settings set value = '600' where key = 'idempotency.in_flight_timeout_s'
          `;
          }
        },
      );

      if (backend === "postgres") {
        await t.step("409 while the first request really is still running", async () => {
          const dave = await newUser();
          assert.equal((await dave.call("POST", "intent.sync", INTENT)).status, 201);
          const k = key();
          const update = { ...INTENT, time_per_day_min: 45 };
          // Another transaction holds dave's intent: the keyed update waits on it.
          const held = Promise.withResolvers<void>();
          const locked = Promise.withResolvers<void>();
          const holder = stack.sql.begin(async (tx) => {
            await tx`select id from wisely.intents where user_id = ${dave.id} for update`;
            locked.resolve();
            await held.promise;
          });
          await locked.promise;
          let first: Promise<Result> | null = null;
          try {
            first = dave.call("POST", "intent.sync", update, withKey(k));
            await waitFor(
              async () => (await keyRow(stack.sql, dave.id, k))?.state === "in_flight" || null,
              "the first request's claim",
            );
            const second = await dave.call("POST", "intent.sync", update, withKey(k));
            assertError(second, 409, "IDEMPOTENCY_KEY_IN_USE");
          } finally {
            held.resolve();
            await holder;
          }
          const done = await first!;
          assert.equal(done.status, 200, done.text);
          assert.equal(done.body.time_per_day_min, 45);
          assertReplay(await dave.call("POST", "intent.sync", update, withKey(k)), done);
          assert.equal((await counts(stack.sql, dave.id)).events, 2);
        });
      }

      await t.step("an expired key is claimed anew, whatever the body", async () => {
        const erin = await newUser();
        const k = key();
        assert.equal((await erin.call("POST", "intent.sync", INTENT, withKey(k))).status, 201);
        await stack.sql`
          update wisely.idempotency_keys
          set created_at = now() - interval '25 hours', expires_at = now() - interval '1 hour'
          where user_id = ${erin.id} and key = ${k}
        `;
        const again = await erin.call(
          "POST",
          "intent.sync",
          { ...INTENT, topic: "Go" },
          withKey(k),
        );
        assert.equal(again.status, 201, again.text);
        assert.equal(again.body.topic, "Go");
        const row = await keyRow(stack.sql, erin.id, k);
        assert.equal(row.state, "done");
        assert.ok(row.expires_at.getTime() > Date.now() + 23 * 3_600_000);
        assert.equal(row.response_body, again.text);
      });

      await t.step(
        "keys are per user; the service role acting for a user uses theirs",
        async () => {
          const frank = await newUser();
          const grace = await newUser();
          const k = key();
          const first = await frank.call("POST", "intent.sync", INTENT, withKey(k));
          assert.equal(first.status, 201);
          const other = await grace.call(
            "POST",
            "intent.sync",
            { ...INTENT, topic: "Go" },
            withKey(k),
          );
          assert.equal(other.status, 201, "grace's key is her own");
          assert.equal(other.headers.get("idempotent-replayed"), null);
          const service = caller(stack, await stack.serviceToken());
          const viaService = await service(
            "POST",
            "intent.sync",
            INTENT,
            withKey(k, { "x-user-id": frank.id }),
          );
          assertReplay(viaService, first);
          assertError(
            await service("POST", "intent.sync", INTENT, withKey(k, { "x-user-id": grace.id })),
            422,
            "IDEMPOTENCY_KEY_REUSED",
          );
        },
      );

      await t.step("SSE: the run streams; the replay is the plan as JSON", async () => {
        const heidi = await newUser();
        assert.equal((await heidi.call("POST", "intent.sync", INTENT)).status, 201);
        const k = key();
        const sse = { accept: "text/event-stream" };
        const streamed = await heidi.call("POST", "day.run", { week: 1, day: 1 }, withKey(k, sse));
        assert.equal(streamed.status, 200);
        assert.match(streamed.headers.get("content-type") ?? "", /^text\/event-stream/);
        const events = streamed.text.trim().split("\n\n");
        const plan = events.at(-1)!;
        assert.match(plan, /^event: plan\ndata: /);
        const planJson = plan.slice(plan.indexOf("data: ") + 6);

        const row = await waitFor(async () => {
          const found = await keyRow(stack.sql, heidi.id, k);
          return found?.state === "done" ? found : null;
        }, "the stored SSE response");
        assert.equal(row.response_status, 200);
        assert.equal(row.response_body, planJson);

        const before = await counts(stack.sql, heidi.id);
        for (const headers of [sse, {}]) {
          const replay = await heidi.call(
            "POST",
            "day.run",
            { week: 1, day: 1 },
            withKey(k, headers),
          );
          assert.equal(replay.status, 200);
          assert.equal(replay.text, planJson);
          assert.equal(replay.headers.get("idempotent-replayed"), "true");
          assert.match(replay.headers.get("content-type") ?? "", /^application\/json/);
        }
        assert.deepEqual(await counts(stack.sql, heidi.id), before);
        assert.equal(before.sessions, 1);
      });

      await t.step("a 409 NO_ACTIVE_INTENT is the handler's answer: stored", async () => {
        const ivan = await newUser();
        const k = key();
        const first = await ivan.call("POST", "day.run", { week: 1, day: 1 }, withKey(k));
        assertError(first, 409, "NO_ACTIVE_INTENT");
        assertReplay(await ivan.call("POST", "day.run", { week: 1, day: 1 }, withKey(k)), first);
      });

      await t.step("429 is not stored: the key stays free", async () => {
        const judy = await newUser();
        await stack.sql`
          update wisely.settings set value = '{"burst": 1, "refill_per_s": 0.001}'
          where key = 'rate.default'
        `;
        try {
          assert.equal((await judy.call("GET", "status")).status, 200);
          const k = key();
          const limited = await judy.call("POST", "intent.sync", INTENT, withKey(k));
          assertError(limited, 429, "RATE_LIMITED");
          assert.equal(await keyRow(stack.sql, judy.id, k), null);
          await stack.sql`
            update wisely.settings set value = '{"burst": 60, "refill_per_s": 1}'
            where key = 'rate.default'
          `;
          await stack.sql`delete from wisely.rate_limits where user_id = ${judy.id}`;
          assert.equal((await judy.call("POST", "intent.sync", INTENT, withKey(k))).status, 201);
        } finally {
          await stack.sql`
            update wisely.settings set value = '{"burst": 60, "refill_per_s": 1}'
            where key = 'rate.default'
          `;
        }
      });
    } finally {
      await stack.stop();
    }
  });
}

/** Tokens are user ids: these tests are about the pipeline, not about JWTs. */
const trustingVerifier: TokenVerifier = {
  verify: (token) =>
    Promise.resolve({ role: "authenticated", claims: { sub: token, role: "authenticated" } }),
};

Deno.test("Idempotency-Key through the pipeline: 5xx, concurrency, SSE, fencing", async (t) => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const runs = new Map<string, number>();
    const ran = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);
    const gate = Promise.withResolvers<void>();
    let sseEnding: "plan" | "error" = "plan";

    const routes: Route[] = [
      {
        method: "POST",
        path: "fails",
        auth: "user",
        async handle(ctx) {
          ran("fails");
          await ctx.db.transaction((tx) => tx`select 1`);
          throw new Error("the agents' reply could not be parsed");
        },
      },
      {
        method: "POST",
        path: "slow",
        auth: "user",
        async handle(ctx) {
          await ctx.db.transaction((tx) => tx`select 1`);
          ran("slow");
          await gate.promise;
          return json({ ok: true, n: runs.get("slow") }, 201);
        },
      },
      {
        method: "POST",
        path: "stream",
        auth: "user",
        async handle(ctx) {
          await ctx.db.transaction((tx) => tx`select 1`);
          ran("stream");
          const events = createEventStream();
          events.send("agent", { agent: "clo" });
          setTimeout(() => {
            if (sseEnding === "plan") events.send("plan", { z: 1, a: [1, 2] });
            else events.send("error", { error: "x", code: "INTERNAL" });
            events.close();
          }, 20);
          return events.response;
        },
      },
    ];
    const app = createApp({
      functionName: "orchestrator",
      routes,
      verifier: trustingVerifier,
      log: silentLogger,
      sql,
    });
    const user = await createUser(sql);
    const post = (path: string, k: string, body: unknown = {}) =>
      app.fetch(
        new Request(`http://local/orchestrator/${path}`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${user}`,
            "content-type": "application/json",
            "idempotency-key": k,
          },
          body: JSON.stringify(body),
        }),
      );

    await t.step("a 5xx releases the key: the retry runs the handler again", async () => {
      const k = key();
      const first = await post("fails", k);
      assert.equal(first.status, 500);
      await first.body?.cancel();
      assert.equal(await keyRow(sql, user, k), null);
      const retry = await post("fails", k);
      assert.equal(retry.status, 500);
      await retry.body?.cancel();
      assert.equal(runs.get("fails"), 2);
    });

    await t.step("concurrent requests with one key: the handler runs once", async () => {
      const k = key();
      const first = post("slow", k);
      await waitFor(() => runs.get("slow") === 1 || null, "the first request");
      const others = await Promise.all(Array.from({ length: 5 }, () => post("slow", k)));
      for (const response of others) {
        assert.equal(response.status, 409);
        assert.equal((await response.json()).code, "IDEMPOTENCY_KEY_IN_USE");
      }
      gate.resolve();
      const done = await first;
      const text = await done.text();
      assert.equal(done.status, 201);
      const replay = await post("slow", k);
      assert.equal(replay.status, 201);
      assert.equal(await replay.text(), text);
      assert.equal(replay.headers.get("idempotent-replayed"), "true");
      assert.equal(runs.get("slow"), 1);
    });

    await t.step("SSE: stored as its last event; an error event releases the key", async () => {
      const k = key();
      const streamed = await post("stream", k);
      assert.match(streamed.headers.get("content-type") ?? "", /^text\/event-stream/);
      assert.equal(
        await streamed.text(),
        'event: agent\ndata: {"agent":"clo"}\n\nevent: plan\ndata: {"z":1,"a":[1,2]}\n\n',
      );
      await waitFor(async () => (await keyRow(sql, user, k))?.state === "done" || null, "store");
      const replay = await post("stream", k);
      assert.equal(replay.status, 200);
      assert.equal(await replay.text(), '{"z":1,"a":[1,2]}');
      assert.equal(runs.get("stream"), 1);

      sseEnding = "error";
      const failing = key();
      const failed = await post("stream", failing);
      assert.match(await failed.text(), /event: error/);
      await waitFor(async () => (await keyRow(sql, user, failing)) === null || null, "release");
      assert.equal(runs.get("stream"), 2);

      // A client that leaves early does not stop the store: the run is finished and kept.
      sseEnding = "plan";
      const left = key();
      const leaving = await post("stream", left);
      const reader = leaving.body!.getReader();
      await reader.read();
      await reader.cancel();
      await waitFor(async () => (await keyRow(sql, user, left))?.state === "done" || null, "store");
    });

    await t.step(
      "a claim taken over after abandonment cannot be finished by its old owner",
      async () => {
        const claims = JSON.stringify({ sub: user, role: "authenticated" });
        const request = { key: key(), route: "slow", hash: "c".repeat(64) };
        const old = await claimKey(sql, claims, request, null);
        assert.equal(old.kind, "claimed");
        assert.deepEqual(await claimKey(sql, claims, request, null), { kind: "in_use" });
        await sql`
        update wisely.idempotency_keys set created_at = created_at - interval '1 hour'
        where user_id = ${user} and key = ${request.key}
      `;
        const taken = await claimKey(sql, claims, { ...request, hash: "d".repeat(64) }, null);
        assert.equal(taken.kind, "claimed");
        assert.ok(old.kind === "claimed" && taken.kind === "claimed");
        assert.equal(
          await finishKey(sql, claims, request.key, old.claim, { status: 200, body: "{}" }),
          false,
        );
        assert.equal(await finishKey(sql, claims, request.key, old.claim, null), false);
        const row = await keyRow(sql, user, request.key);
        assert.equal(row.state, "in_flight");
        assert.equal(row.request_hash, "d".repeat(64));
        assert.equal(
          await finishKey(sql, claims, request.key, taken.claim, {
            status: 201,
            body: '{"b":1,"a":0}',
          }),
          true,
        );
        assert.deepEqual(await claimKey(sql, claims, { ...request, hash: "d".repeat(64) }, null), {
          kind: "replay",
          status: 201,
          body: '{"b":1,"a":0}',
        });
      },
    );

    await t.step("a claim sweeps a few of the user's expired keys", async () => {
      const claims = JSON.stringify({ sub: user, role: "authenticated" });
      await sql`
        insert into wisely.idempotency_keys
          (user_id, key, route, request_hash, state, created_at, expires_at)
        select ${user}, 'old-' || i, 'slow', ${"e".repeat(64)}, 'done', now() - interval '2 days',
          now() - interval '1 day'
        from generate_series(1, 20) i
      `;
      await claimKey(sql, claims, { key: key(), route: "slow", hash: "f".repeat(64) }, null);
      const [{ n }] = await sql`
        select count(*)::int as n from wisely.idempotency_keys
        where user_id = ${user} and key like 'old-%'
      `;
      assert.equal(n, 4);
    });
  } finally {
    await db.close();
  }
});
