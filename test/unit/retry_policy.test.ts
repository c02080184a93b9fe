import assert from "node:assert/strict";
import { backoffDelayMs } from "../../supabase/functions/_shared/agents/backoff.ts";
import {
  AgentCallError,
  type AgentErrorCode,
} from "../../supabase/functions/_shared/agents/call_error.ts";
import {
  retryClass,
  retryPolicy,
  type RetryPolicyOptions,
} from "../../supabase/functions/_shared/agents/retry.ts";
import { parseRetryAfter } from "../../supabase/functions/_shared/agents/retry_after.ts";
import { RetryBudget } from "../../supabase/functions/_shared/agents/retry_budget.ts";

const START = Date.parse("2026-03-01T12:00:00Z");

/** A fake clock and a fake sleep that records each wait and moves the clock by it. */
function fakeTime() {
  let t = START;
  const waits: number[] = [];
  return {
    now: () => t,
    waits,
    sleep: (ms: number, signal: AbortSignal) => {
      if (signal.aborted) return Promise.reject(signal.reason);
      waits.push(ms);
      t += ms;
      return Promise.resolve();
    },
  };
}

function http(status: number, retryAfter: string | null = null, now = START): AgentCallError {
  return new AgentCallError(`http_${status}`, `HTTP ${status}`, {
    status,
    retryAfterMs: parseRetryAfter(retryAfter, now),
  });
}

const fail = (code: AgentErrorCode) => new AgentCallError(code, code);

type Outcome = AgentCallError | string;

/** An attempt that plays `outcomes` in order (a string is a success), counting its calls. */
function scriptedAttempt(outcomes: Outcome[]) {
  const script = [...outcomes];
  const attempt = {
    calls: 0,
    fn: () => {
      attempt.calls++;
      const next = script.shift();
      if (next === undefined) throw new Error("the script ran out");
      return typeof next === "string" ? Promise.resolve(next) : Promise.reject(next);
    },
  };
  return attempt;
}

function setup(overrides: Partial<RetryPolicyOptions> = {}) {
  const time = fakeTime();
  const budget = new RetryBudget({ now: time.now });
  const policy = retryPolicy({
    maxRetries: 3,
    backoff: (retry) => backoffDelayMs(retry),
    budget,
    deadlineAt: START + 12_000,
    now: time.now,
    sleep: time.sleep,
    ...overrides,
  });
  const run = (attempt: ReturnType<typeof scriptedAttempt>) =>
    policy.execute(attempt.fn, new AbortController().signal);
  return { time, budget, policy, run };
}

const within = (value: number, nominal: number) =>
  assert.ok(value >= nominal * 0.8 && value <= nominal * 1.2, `${value} ≈ ${nominal} ± 20 %`);

Deno.test("retry: 500, 500, 200 → success on the 3rd attempt after ~1 s and ~2 s", async () => {
  const { time, run } = setup();
  const attempt = scriptedAttempt([http(500), http(500), "ok"]);
  assert.equal(await run(attempt), "ok");
  assert.equal(attempt.calls, 3);
  assert.equal(time.waits.length, 2);
  within(time.waits[0], 1000);
  within(time.waits[1], 2000);
});

Deno.test("retry: 429 with Retry-After: 1, then 200 → one wait of exactly 1 s", async () => {
  const { time, run } = setup();
  const attempt = scriptedAttempt([http(429, "1"), "ok"]);
  assert.equal(await run(attempt), "ok");
  assert.equal(attempt.calls, 2);
  assert.deepEqual(time.waits, [1000]);
});

Deno.test("retry: 503 with Retry-After as an HTTP date waits until that date", async () => {
  const { time, run } = setup();
  const attempt = scriptedAttempt([http(503, "Sun, 01 Mar 2026 12:00:03 GMT"), "ok"]);
  assert.equal(await run(attempt), "ok");
  assert.deepEqual(time.waits, [3000]);
});

Deno.test("retry: 429/503 without Retry-After use the normal backoff", async () => {
  const { time, run } = setup();
  const attempt = scriptedAttempt([http(503), http(429), "ok"]);
  assert.equal(await run(attempt), "ok");
  within(time.waits[0], 1000);
  within(time.waits[1], 2000);
});

Deno.test("retry: a Retry-After beyond the deadline stops at once, after 1 attempt", async () => {
  const { time, run } = setup();
  const tooLate = http(429, "30");
  const attempt = scriptedAttempt([tooLate, "never reached"]);
  await assert.rejects(run(attempt), (error) => error === tooLate);
  assert.equal(attempt.calls, 1);
  assert.deepEqual(time.waits, [], "no wait at all");
  assert.equal(time.now(), START);

  const { time: time2, run: run2 } = setup();
  const attempt2 = scriptedAttempt([http(503, "Sun, 01 Mar 2026 13:00:00 GMT"), "x"]);
  await assert.rejects(run2(attempt2), AgentCallError);
  assert.deepEqual([attempt2.calls, time2.waits], [1, []]);
});

Deno.test("retry: a Retry-After that fits only after earlier waits is checked on the remaining time", async () => {
  // 10 s deadline: Retry-After 4, then 4 (8 s used), then 4 would end past the deadline.
  const { time, run } = setup({ deadlineAt: START + 10_000 });
  const attempt = scriptedAttempt([http(503, "4"), http(503, "4"), http(503, "4"), "x"]);
  await assert.rejects(run(attempt), (error) => error instanceof AgentCallError);
  assert.equal(attempt.calls, 3);
  assert.deepEqual(time.waits, [4000, 4000]);
});

Deno.test("retry: a backoff that does not fit the remaining deadline stops too", async () => {
  const { time, run } = setup({ deadlineAt: START + 700 });
  const attempt = scriptedAttempt([http(500), "x"]);
  await assert.rejects(run(attempt), AgentCallError);
  assert.equal(attempt.calls, 1);
  assert.deepEqual(time.waits, []);
});

Deno.test("retry: 404 and other 4xx are not retried", async () => {
  for (const status of [400, 401, 403, 404, 409, 422]) {
    const { time, run } = setup();
    const error = http(status);
    const attempt = scriptedAttempt([error, "x"]);
    await assert.rejects(run(attempt), (caught) => caught === error);
    assert.equal(attempt.calls, 1, `${status}`);
    assert.deepEqual(time.waits, []);
  }
});

Deno.test("retry: invalid_payload, deadline, aborted, circuit_open, bulkhead_full, unexpected: never", async () => {
  const codes: AgentErrorCode[] = [
    "invalid_payload",
    "deadline",
    "aborted",
    "circuit_open",
    "bulkhead_full",
    "unexpected",
  ];
  for (const code of codes) {
    const { time, run, budget } = setup();
    const attempt = scriptedAttempt([fail(code), "x"]);
    await assert.rejects(run(attempt), (caught) => caught instanceof AgentCallError);
    assert.equal(attempt.calls, 1, code);
    assert.deepEqual(time.waits, []);
    assert.equal(budget.tokens, 10, `${code} costs no budget`);
  }
  const { run } = setup();
  const attempt = scriptedAttempt([]);
  await assert.rejects(run(attempt), /ran out/, "a non-AgentCallError is not retried");
  assert.equal(attempt.calls, 1);
});

Deno.test("retry: network errors and attempt timeouts back off", async () => {
  const { time, run } = setup();
  const attempt = scriptedAttempt([fail("network"), fail("timeout"), "ok"]);
  assert.equal(await run(attempt), "ok");
  assert.equal(attempt.calls, 3);
  within(time.waits[0], 1000);
  within(time.waits[1], 2000);
});

Deno.test("retry: at most 3 retries (4 attempts), then the last failure", async () => {
  const { time, run } = setup({ deadlineAt: START + 60_000 });
  const last = http(502);
  const attempt = scriptedAttempt([http(500), http(500), http(500), last, "x"]);
  await assert.rejects(run(attempt), (caught) => caught === last);
  assert.equal(attempt.calls, 4);
  assert.equal(time.waits.length, 3);
  within(time.waits[2], 4000);
});

Deno.test("retry: maxRetries 0 makes a single attempt; a negative one is refused", async () => {
  const { run } = setup({ maxRetries: 0 });
  const attempt = scriptedAttempt([http(500), "x"]);
  await assert.rejects(run(attempt), AgentCallError);
  assert.equal(attempt.calls, 1);
  assert.throws(() => setup({ maxRetries: -1 }), RangeError);
});

Deno.test("retry: an exhausted budget allows no retry", async () => {
  const time = fakeTime();
  const budget = new RetryBudget({ now: time.now, refillPerSecond: 0 });
  for (let i = 0; i < 4; i++) budget.recordFailure(); // 6 left: one more failure reaches half
  const { run } = setup({ budget });
  const attempt = scriptedAttempt([http(500), "x"]);
  await assert.rejects(run(attempt), AgentCallError);
  assert.equal(attempt.calls, 1);
  assert.equal(budget.tokens, 5);
});

Deno.test("retry: outcomes are recorded in the budget (−1 per failure, +0.1 per success)", async () => {
  const time = fakeTime();
  const budget = new RetryBudget({ now: time.now, refillPerSecond: 0 });
  const { run } = setup({ budget });
  assert.equal(await run(scriptedAttempt([http(500), fail("network"), "ok"])), "ok");
  assert.ok(Math.abs(budget.tokens - 8.1) < 1e-9, `${budget.tokens}`);
});

Deno.test("retry: a retry refused by the breaker ends with the agent's last failure", async () => {
  const { time, run } = setup();
  const agentFailure = http(503);
  const attempt = scriptedAttempt([agentFailure, fail("circuit_open"), "x"]);
  await assert.rejects(run(attempt), (caught) => caught === agentFailure);
  assert.equal(attempt.calls, 2);
  assert.equal(time.waits.length, 1);
});

Deno.test("retry: canAttempt false (circuit just opened) stops before waiting", async () => {
  const { time, run } = setup({ canAttempt: () => false });
  const attempt = scriptedAttempt([http(500), "x"]);
  await assert.rejects(run(attempt), AgentCallError);
  assert.equal(attempt.calls, 1);
  assert.deepEqual(time.waits, []);
});

Deno.test("retry: the wait is aborted by the run signal", async () => {
  const controller = new AbortController();
  const reason = new DOMException("The run's deadline passed.", "TimeoutError");
  let waiting = 0;
  const policy = retryPolicy({
    maxRetries: 3,
    backoff: () => 1000,
    budget: new RetryBudget(),
    deadlineAt: START + 12_000,
    now: () => START,
    // Never resolves on its own: only the abort can end it.
    sleep: (_ms, signal) =>
      new Promise((_resolve, reject) => {
        waiting++;
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
  });
  const attempt = scriptedAttempt([http(500), "x"]);
  const pending = policy.execute(attempt.fn, controller.signal);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(waiting, 1);
  controller.abort(reason);
  await assert.rejects(pending, (caught) => caught === reason);
  assert.equal(attempt.calls, 1);
});

Deno.test("retryClass: the rules of spec 6.3", () => {
  assert.equal(retryClass(http(429)), "retry_after");
  assert.equal(retryClass(http(503)), "retry_after");
  for (const status of [500, 502, 504, 599]) assert.equal(retryClass(http(status)), "backoff");
  for (const status of [301, 400, 404, 418]) assert.equal(retryClass(http(status)), "never");
  assert.equal(retryClass(fail("network")), "backoff");
  assert.equal(retryClass(fail("timeout")), "backoff");
  assert.equal(retryClass(new Error("boom")), "never");
  assert.equal(retryClass("string"), "never");
});
