/**
 * The HTTP findings of issue 8, one test each, over real HTTP against the served stack:
 * - a day.run waiting on another run's claim answers by its OWN deadline, with a plan composed
 *   from the cache (202, provisional), and stores no competing session;
 * - a forged `sessions` cursor is a 400 with details, never a 500;
 * - a client that drops its upload is an info line (499 CLIENT_CLOSED), never an error; a body
 *   that stalls is cut after the read timeout (408 REQUEST_TIMEOUT);
 * - `TRACE` is a JSON 405 from the gateway; `HEAD health` is 200 with GET's headers, no body.
 *
 * Backend: Postgres when `TEST_DATABASE_URL` is set (as `deno task test` does), else PGlite,
 * as in resilience.test.ts: these are HTTP paths, not database ones.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { createGateway } from "../../dev/gateway.ts";
import { createLogger } from "../../supabase/functions/_shared/log.ts";
import { DayRunProvisionalResponse } from "../../supabase/functions/_shared/responses.ts";
import { createOrchestrator } from "../../supabase/functions/orchestrator/app.ts";
import { clearFaults, faultState, setFaults, setSettings } from "../support/faults.ts";
import { rawConnect, rawRequest } from "../support/raw_http.ts";
import { type Backend, startTestStack, type TestStack } from "../support/stack.ts";

const BACKEND: Backend = Deno.env.get("TEST_DATABASE_URL") ? "postgres" : "pglite";

const INTENT = {
  topic: "Compilers",
  depth: "informed",
  end_goal: "Write a small optimizing compiler",
  time_per_day_min: 45,
  user_tz: "UTC",
};

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

interface Reply {
  status: number;
  headers: Headers;
  body: Json;
}

async function call(
  stack: TestStack,
  token: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<Reply> {
  const response = await fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

/** A fresh user with an active intent, and their token. */
async function learner(stack: TestStack): Promise<{ userId: string; token: string }> {
  const userId = await stack.createUser();
  const token = await stack.userToken(userId);
  const synced = await call(stack, token, "POST", "intent.sync", INTENT);
  assert.equal(synced.status, 201, JSON.stringify(synced.body));
  return { userId, token };
}

async function withStack(
  fn: (stack: TestStack) => Promise<void>,
  options: { agentFaults?: boolean } = {},
): Promise<void> {
  const stack = await startTestStack(BACKEND, options);
  try {
    await setSettings(stack, { "rate.day_run": { burst: 1000, refill_per_s: 100 } });
    await fn(stack);
  } finally {
    await stack.stop();
  }
}

/** Resolves when `check` is true, polling every 25 ms; fails after `timeoutMs` (hang guard). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const giveUpAt = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

Deno.test(`[${BACKEND}] a day.run waiting on a research run answers by its own deadline`, async () => {
  await withStack(async (stack) => {
    // Short deadlines keep the test quick; the rule is the same at 12 s and 30 s.
    await setSettings(stack, { "run.deadline_ms": 2_000, "run.research_deadline_ms": 6_000 });
    const { userId, token } = await learner(stack);
    // Day 1 fills the cache; what of it serves day 2 depends on each agent's scope.
    assert.equal((await call(stack, token, "POST", "day.run", { week: 1, day: 1 })).status, 201);
    await clearFaults(stack);
    // Slower than the research run's 6 s deadline (so it holds the claim until then), but
    // finite, so the agent's handler ends by itself when the stack stops.
    await setFaults(stack, "socratic", [{ fault: { latency_ms: 8_000 }, count: "always" }]);

    // force_refresh: the research run calls every agent, so slow socratic holds its claim.
    const research = call(stack, token, "POST", "day.run", {
      week: 1,
      day: 2,
      research: true,
      force_refresh: true,
    });
    await until(async () => (await faultState(stack, "socratic")).calls > 0, "the research run");
    // What the waiting request will find: alex (one answer per intent) stale, within its stale
    // window; nothing at all for ta.
    await stack.sql`
      update wisely.agent_cache c
      set validated_at = now() - make_interval(secs => a.freshness_s * 1.5)
      from wisely.agents a
      where a.name = c.agent and c.user_id = ${userId} and c.agent = 'alex'
    `;
    await stack.sql`delete from wisely.agent_cache where user_id = ${userId} and agent = 'ta'`;

    const started = performance.now();
    const waiting = await call(stack, token, "POST", "day.run", { week: 1, day: 2 });
    const waitedMs = performance.now() - started;
    assert.ok(waitedMs < 20_000, `hang guard: ${Math.round(waitedMs)} ms`);

    assert.equal(waiting.status, 202, JSON.stringify(waiting.body));
    DayRunProvisionalResponse.parse(waiting.body);
    const plan = waiting.body;
    assert.equal(plan.provisional, true);
    assert.equal(plan.session_id, null);
    assert.deepEqual([plan.week, plan.day], [1, 2]);
    assert.ok(Number(waiting.headers.get("retry-after")) >= 1);
    assert.equal(plan.retry_after_s, Number(waiting.headers.get("retry-after")));
    // Composed from the cache by the degraded-mode rules, with no agent called: a stale entry
    // is served stale, no entry is a fallback, and a fallback makes the plan degraded.
    const quality: Record<string, Json> = plan.signal_quality;
    assert.deepEqual(Object.keys(quality).sort(), ["alex", "clo", "socratic", "ta"]);
    assert.deepEqual(
      [quality.alex.available, quality.alex.fresh, quality.alex.source],
      [true, false, "stale"],
    );
    assert.deepEqual([quality.ta.available, quality.ta.source], [false, "fallback"]);
    for (const [agent, q] of Object.entries(quality)) {
      assert.equal(q.attempts, 0, `${agent}: no call`);
      assert.ok(["cache", "stale", "fallback"].includes(q.source), `${agent}: ${q.source}`);
      assert.equal(q.available, q.source !== "fallback", agent);
      assert.equal(q.fresh, q.source === "cache", agent);
    }
    const available = Object.values(quality).filter((q) => q.available).length;
    assert.deepEqual(
      [plan.degraded_mode, plan.cache_hits, plan.cache_misses],
      [true, available, 4 - available],
    );
    assert.match(plan.plan_md, /^# Daily Learning Plan — Week 1, Day 2/);
    assert.match(plan.plan_md, /Provisional plan/);
    const minutes = plan.plan_json_summary.steps
      .map((step: string) => Number(/\((\d+) min\)/.exec(step)?.[1]))
      .reduce((a: number, b: number) => a + b, 0);
    assert.equal(minutes, INTENT.time_per_day_min);

    // The research run stores the day's one session; the provisional answer stored none.
    const stored = await research;
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
    const again = await call(stack, token, "POST", "day.run", { week: 1, day: 2 });
    assert.equal(again.status, 200);
    assert.equal(again.body.session_id, stored.body.session_id);
    const sessions = await stack.sql<{ revision: number }[]>`
      select revision from wisely.sessions where user_id = ${userId} and week = 1 and day = 2
    `;
    assert.deepEqual(sessions.map((s) => s.revision), [1]);
  }, { agentFaults: true });
});

/** base64url without padding, as the API writes cursors. */
function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

Deno.test(`[${BACKEND}] a forged sessions cursor is a 400 with details`, async () => {
  await withStack(async (stack) => {
    const { token } = await learner(stack);
    for (let day = 1; day <= 3; day++) {
      assert.equal((await call(stack, token, "POST", "day.run", { week: 1, day })).status, 201);
    }
    const first = await call(stack, token, "GET", "sessions?limit=1");
    assert.equal(first.status, 200);
    const real = first.body.next_cursor;
    assert.equal(typeof real, "string");
    // The real cursor still works.
    assert.equal((await call(stack, token, "GET", `sessions?limit=1&cursor=${real}`)).status, 200);

    const uuid = crypto.randomUUID();
    const time = (t: string) => base64url(JSON.stringify({ c: t, i: uuid }));
    const forged = fc.oneof(
      // Random text in the cursor alphabet (and outside it).
      fc.stringMatching(/^[A-Za-z0-9_-]{1,200}$/),
      fc.string({ minLength: 1, maxLength: 100 }),
      // Valid base64 of junk: any JSON, any bytes.
      fc.json({ maxDepth: 3 }).map(base64url),
      fc.string({ maxLength: 100 }).map(base64url),
      // The cursor's shape with impossible instants or huge numbers.
      fc.constantFrom(
        "2026-13-01T00:00:00.000000Z",
        "2026-02-30T12:00:00.000000Z",
        "2026-01-01T24:00:00.000000Z",
        "2026-01-01T23:60:00.000000Z",
        "0000-01-01T00:00:00.000000Z",
        "9999-99-99T99:99:99.999999Z",
      ).map(time),
      fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 64).map((n) =>
        base64url(`{"c":${n},"i":"${uuid}"}`)
      ),
      fc.constant(base64url(`{"c":"2026-01-01T00:00:00.000000Z","i":"${"f".repeat(40)}"}`)),
    );
    await fc.assert(
      fc.asyncProperty(forged, async (cursor) => {
        const reply = await call(
          stack,
          token,
          "GET",
          `sessions?cursor=${encodeURIComponent(cursor)}`,
        );
        assert.equal(reply.status, 400, `${cursor}: ${JSON.stringify(reply.body)}`);
        assert.equal(reply.body.code, "INVALID_REQUEST");
        assert.deepEqual(reply.body.details?.map((d: Json) => d.path), [["cursor"]], cursor);
      }),
      { numRuns: 60 },
    );
    for (const limit of ["1e400", "99999999999999999999999", "-1e308", "NaN"]) {
      const reply = await call(stack, token, "GET", `sessions?limit=${limit}`);
      assert.equal(reply.status, 400, limit);
      const paths = reply.body.details?.map((d: Json) => d.path.join("."));
      assert.ok(paths?.length && paths.every((p: string) => p === "limit"), limit);
    }
  });
});

/**
 * The stack's config and pool behind an orchestrator of the test's own, so its log lines can
 * be read and its body read timeout shortened (an orchestrator option, default 10 s).
 */
async function withLoggedOrchestrator(
  stack: TestStack,
  fn: (url: string, lines: Json[], next: (match: (l: Json) => boolean) => Promise<Json>) => Promise<
    void
  >,
): Promise<void> {
  const lines: Json[] = [];
  const waiters: { match: (line: Json) => boolean; resolve: (line: Json) => void }[] = [];
  const log = createLogger({
    functionName: "orchestrator",
    sink: (text) => {
      const line: Json = JSON.parse(text);
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    },
  });
  const crashes: unknown[] = [];
  const gateway = createGateway({
    orchestrator: createOrchestrator({
      config: stack.config,
      sql: stack.sql,
      log,
      bodyReadTimeoutMs: 500,
    }),
  }, { onError: (error) => crashes.push(error) });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => gateway.fetch(req),
  );
  const next = (match: (line: Json) => boolean) => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Json>((resolve) => waiters.push({ match, resolve }));
  };
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/functions/v1/orchestrator`, lines, next);
    assert.deepEqual(crashes, [], "the gateway saw no crash");
  } finally {
    await server.shutdown();
  }
}

/** Races `promise` against a hang guard. */
async function guarded<T>(promise: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang guard: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test(`[${BACKEND}] a dropped upload is an info line; a stalled body is a 408`, async (t) => {
  await withStack(async (stack) => {
    const { token } = await learner(stack);
    await withLoggedOrchestrator(stack, async (base, lines, next) => {
      const head = (length: number, extra = "") =>
        `POST /functions/v1/orchestrator/day.run HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${length}\r\n${extra}\r\n`;
      const requestLine = (line: Json) => line.event === "request" && line.route === "day.run";

      await t.step("the client hangs up mid-upload: 499 CLIENT_CLOSED at info", async () => {
        const connection = await rawConnect(base);
        await connection.write(head(1000) + '{"week":1,');
        connection.close();
        const line = await guarded(next(requestLine), "the request's log line");
        assert.deepEqual(
          [line.level, line.status, line.code],
          ["info", 499, "CLIENT_CLOSED"],
          JSON.stringify(line),
        );
        assert.deepEqual(lines.filter((l) => l.level === "error" || l.status === 500), []);
      });

      await t.step(
        "a body that stops arriving: 408 REQUEST_TIMEOUT in the error shape",
        async () => {
          lines.length = 0;
          const connection = await rawConnect(base);
          try {
            await connection.write(head(100) + '{"week":1,');
            const response = await connection.readResponse();
            assert.equal(response.status, 408, response.body);
            assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
            assert.equal(response.headers.get("access-control-allow-origin"), "*");
            const body = JSON.parse(response.body);
            assert.deepEqual(Object.keys(body).sort(), ["code", "error"]);
            assert.equal(body.code, "REQUEST_TIMEOUT");
          } finally {
            connection.close();
          }
          const line = await guarded(next(requestLine), "the request's log line");
          assert.deepEqual([line.level, line.status, line.code], ["info", 408, "REQUEST_TIMEOUT"]);
        },
      );

      await t.step("a body dripped a byte at a time is cut too", async () => {
        const connection = await rawConnect(base);
        try {
          await connection.write(head(1000));
          const response = connection.readResponse();
          let answered = false;
          response.then(() => answered = true, () => answered = true);
          // A byte every 50 ms would take 50 s for the declared 1000 bytes.
          for (let i = 0; i < 400 && !answered; i++) {
            await connection.write(" ").catch(() => {});
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          assert.equal((await response).status, 408);
        } finally {
          connection.close();
        }
      });
    });
  });
});

Deno.test(`[${BACKEND}] the gateway: TRACE is a JSON 405, HEAD health is 200`, async (t) => {
  await withStack(async (stack) => {
    const { token } = await learner(stack);
    const base = `${stack.functionsUrl}/orchestrator`;

    await t.step("TRACE and TRACK anywhere: JSON 405 with Allow and CORS", async () => {
      for (const url of [`${base}/health`, `${stack.url}/`, `${stack.url}/auth/v1/health`]) {
        for (const method of ["TRACE", "TRACK"]) {
          const response = await rawRequest(url, method);
          assert.equal(response.status, 405, `${method} ${url}: ${response.body}`);
          assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
          assert.equal(response.headers.get("access-control-allow-origin"), "*");
          assert.match(response.headers.get("allow") ?? "", /\bGET\b.*\bPOST\b/);
          assert.equal(JSON.parse(response.body).code, "METHOD_NOT_ALLOWED");
        }
      }
    });

    await t.step("HEAD on GET routes: GET's status and headers, no body", async () => {
      for (
        const [route, headers] of [
          ["health", {}],
          ["status", { Authorization: `Bearer ${token}` }],
          ["openapi.json", {}],
        ] as const
      ) {
        const get = await fetch(`${base}/${route}`, { headers });
        const getBody = new Uint8Array(await get.arrayBuffer());
        const head = await rawRequest(`${base}/${route}`, "HEAD", headers);
        assert.equal(head.status, 200, route);
        assert.equal(head.body, "", route);
        assert.equal(head.headers.get("content-type"), get.headers.get("content-type"), route);
        assert.equal(Number(head.headers.get("content-length")), getBody.byteLength, route);
        assert.equal(head.headers.get("access-control-allow-origin"), "*", route);
      }
    });

    await t.step("HEAD on a POST route is 405; GET routes list HEAD in Allow", async () => {
      const head = await rawRequest(`${base}/day.run`, "HEAD", {
        Authorization: `Bearer ${token}`,
      });
      assert.equal(head.status, 405);
      assert.equal(head.body, "");
      const post = await fetch(`${base}/health`, { method: "DELETE" });
      assert.equal(post.status, 405);
      assert.equal((await post.json()).code, "METHOD_NOT_ALLOWED");
      assert.equal(post.headers.get("allow"), "GET, HEAD, OPTIONS");
    });
  });
});
