/**
 * Edge limits of issue 8 (spec 3, 5, 8) over real HTTP against the served stack:
 * - a preflight allows supabase-js's own CORS headers plus this API's;
 * - work after a response (the rest of an SSE day.run, the Idempotency-Key finish, a day.tick
 *   batch) is handed to `EdgeRuntime.waitUntil` (a fake one, installed for the test: the stack
 *   runs in this process);
 * - day.tick answers 202 when its batch outlasts `tick.answer_within_ms`, and the batch ends
 *   after the answer.
 */
import assert from "node:assert/strict";
import { corsHeaders as supabaseCorsHeaders } from "@supabase/supabase-js/cors";
import { DayTickResponse } from "../../supabase/functions/_shared/responses.ts";
import { setFaults, setSettings } from "../support/faults.ts";
import { type Backend, startTestStack, type TestStack } from "../support/stack.ts";

const BACKEND: Backend = Deno.env.get("TEST_DATABASE_URL") ? "postgres" : "pglite";

const INTENT = {
  topic: "Databases",
  depth: "informed",
  end_goal: "Tune a production Postgres",
  time_per_day_min: 30,
  user_tz: "UTC",
  // Due at once for day.tick: today's 00:00 UTC has passed.
  meta: { plan_time: "00:00" },
};

/** Installs a fake `EdgeRuntime` global for `fn`; the promises it was handed are collected. */
async function withFakeEdgeRuntime(fn: (received: Promise<unknown>[]) => Promise<void>) {
  const received: Promise<unknown>[] = [];
  Object.defineProperty(globalThis, "EdgeRuntime", {
    configurable: true,
    value: { waitUntil: (promise: Promise<unknown>) => received.push(promise) },
  });
  try {
    await fn(received);
  } finally {
    // Whatever a failed assertion left running ends before the stack does.
    await Promise.allSettled(received);
    Reflect.deleteProperty(globalThis, "EdgeRuntime");
  }
}

/** Waits for every promise handed over so far (a hang guard, not a timing assertion). */
async function drain(received: Promise<unknown>[]): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("background work never ended")), 30_000);
  });
  try {
    await Promise.race([Promise.all(received), guard]);
  } finally {
    clearTimeout(timer);
  }
}

async function learner(stack: TestStack) {
  const userId = await stack.createUser();
  const token = await stack.userToken(userId);
  const response = await fetch(`${stack.functionsUrl}/orchestrator/intent.sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(INTENT),
  });
  assert.equal(response.status, 201, await response.text());
  return { userId, token };
}

Deno.test(`[${BACKEND}] edge limits: CORS, EdgeRuntime.waitUntil, day.tick 202`, async (t) => {
  const stack = await startTestStack(BACKEND, { agentFaults: true });
  try {
    await setSettings(stack, { "rate.day_run": { burst: 1000, refill_per_s: 100 } });
    const base = `${stack.functionsUrl}/orchestrator`;

    await t.step("a preflight allows supabase-js's CORS headers and ours", async () => {
      const response = await fetch(`${base}/day.run`, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "x-region, idempotency-key",
        },
      });
      await response.body?.cancel();
      assert.equal(response.status, 204);
      assert.equal(response.headers.get("access-control-allow-origin"), "*");
      const allowed = (response.headers.get("access-control-allow-headers") ?? "")
        .split(",").map((h) => h.trim());
      const sdk = supabaseCorsHeaders["Access-Control-Allow-Headers"].split(",")
        .map((h) => h.trim());
      assert.ok(sdk.length >= 4, "supabase-js exports its list");
      for (
        const header of [
          ...sdk,
          "authorization",
          "x-client-info",
          "apikey",
          "content-type",
          "x-region",
          "accept",
          "idempotency-key",
          "x-user-id",
          "traceparent",
        ]
      ) {
        assert.ok(allowed.includes(header), `${header} not in ${allowed.join(", ")}`);
      }
      assert.equal(new Set(allowed).size, allowed.length, "each header once");
    });

    await t.step("the rest of an SSE day.run and its Idempotency-Key finish", async () => {
      const { userId, token } = await learner(stack);
      await withFakeEdgeRuntime(async (received) => {
        const request = () =>
          fetch(`${base}/day.run`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${token}`,
              "content-type": "application/json",
              accept: "text/event-stream",
              "idempotency-key": "edge-sse-1",
            },
            body: JSON.stringify({ week: 1, day: 1 }),
          });
        const response = await request();
        assert.equal(response.status, 200);
        const text = await response.text();
        assert.match(text, /event: agent\n/);
        assert.match(text, /event: plan\n/);
        // One for the run that outlived the response, one for the key's finish.
        assert.ok(received.length >= 2, `handed over: ${received.length}`);
        await drain(received);

        const [key] = await stack.sql<{ state: string; response_status: number | null }[]>`
          select state, response_status from wisely.idempotency_keys
          where user_id = ${userId} and key = 'edge-sse-1'
        `;
        assert.deepEqual([key?.state, key?.response_status], ["done", 200], JSON.stringify(key));
        const replay = await request();
        assert.equal(replay.headers.get("idempotent-replayed"), "true");
        const plan = await replay.json();
        const [session] = await stack.sql<{ id: string }[]>`
          select id from wisely.sessions where user_id = ${userId} and week = 1 and day = 1
        `;
        assert.equal(plan.session_id, session.id);
      });
    });

    await t.step("day.tick: 202 past tick.answer_within_ms, the batch after it", async () => {
      const { userId } = await learner(stack);
      // Every run takes at least a second (clo is slow), and the tick waits for none.
      await setFaults(stack, "clo", [{ fault: { latency_ms: 1000 }, count: "always" }]);
      await setSettings(stack, { "tick.answer_within_ms": 0 });
      const service = await stack.serviceToken();
      const tick = () =>
        fetch(`${base}/day.tick`, {
          method: "POST",
          headers: { authorization: `Bearer ${service}`, "content-type": "application/json" },
          body: "{}",
        });
      await withFakeEdgeRuntime(async (received) => {
        const response = await tick();
        const body = DayTickResponse.parse(await response.json());
        assert.equal(response.status, 202, JSON.stringify(body));
        assert.ok(body.due >= 1);
        assert.equal(body.pending, body.due - body.runs.length);
        assert.ok(body.pending >= 1);
        assert.equal(received.length, 1, "the batch is handed to waitUntil");
        await drain(received);
      });
      const sessions = await stack.sql<{ week: number; day: number }[]>`
        select week, day from wisely.sessions where user_id = ${userId}
      `;
      assert.deepEqual(sessions.map((s) => [s.week, s.day]), [[1, 1]]);
      // Nothing due any more: answered at once, 200.
      const again = await tick();
      const body = DayTickResponse.parse(await again.json());
      assert.deepEqual([again.status, body.due, body.pending], [200, 0, 0]);
    });
  } finally {
    await stack.stop();
  }
});
