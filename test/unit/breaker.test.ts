/** Circuit breaker, bulkhead and their composition with retries (`policies.ts`), on a fake clock. */
import assert from "node:assert/strict";
import { agentBreaker, isAgentFault } from "../../supabase/functions/_shared/agents/breaker.ts";
import { agentBulkhead } from "../../supabase/functions/_shared/agents/bulkhead.ts";
import {
  AgentCallError,
  type AgentErrorCode,
} from "../../supabase/functions/_shared/agents/call_error.ts";
import { fanOut } from "../../supabase/functions/_shared/agents/client.ts";
import {
  type AgentPoliciesOptions,
  createAgentPolicies,
} from "../../supabase/functions/_shared/agents/policies.ts";
import { parseAgentRows } from "../../supabase/functions/_shared/agents/registry.ts";
import { parseSettings } from "../../supabase/functions/_shared/settings.ts";
import { routedFetch, SAMPLE_AGENT_REQUEST as REQUEST, scripted } from "../support/agent_fetch.ts";

const OPEN_MS = 30_000;

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const signal = new AbortController().signal;
const http = (status: number) => new AgentCallError(`http_${status}`, `HTTP ${status}`, { status });
const fail = (code: AgentErrorCode) => new AgentCallError(code, code);

/** Counts attempts; each call fails with `error` or succeeds with "ok". */
function attempts() {
  const counter = {
    count: 0,
    fail: (error: unknown) => () => {
      counter.count++;
      return Promise.reject(error);
    },
    ok: () => {
      counter.count++;
      return Promise.resolve("ok");
    },
  };
  return counter;
}

/** A pending attempt that the test settles. */
function deferred() {
  let resolve: (value: string) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const isCode = (code: string) => (error: unknown) =>
  error instanceof AgentCallError && error.code === code;

function openBreaker(breaker: ReturnType<typeof agentBreaker>, counter = attempts()) {
  return (async () => {
    for (let i = 0; i < 5; i++) {
      await assert.rejects(breaker.execute(counter.fail(http(500)), signal));
    }
  })();
}

// ---------------------------------------------------------------------------------------------
// Breaker

Deno.test("breaker: 5 consecutive failures open it; 4 do not", async () => {
  const clock = fakeClock();
  const breaker = agentBreaker({ threshold: 5, openMs: OPEN_MS, now: clock.now });
  const counter = attempts();
  for (let i = 0; i < 4; i++) {
    await assert.rejects(breaker.execute(counter.fail(http(503)), signal), isCode("http_503"));
  }
  assert.equal(breaker.state, "closed");
  await assert.rejects(breaker.execute(counter.fail(fail("timeout")), signal), isCode("timeout"));
  assert.equal(breaker.state, "open");
  assert.equal(counter.count, 5);
});

Deno.test("breaker: a success resets the consecutive count", async () => {
  const breaker = agentBreaker({ threshold: 5, openMs: OPEN_MS, now: fakeClock().now });
  const counter = attempts();
  for (let i = 0; i < 4; i++) {
    await assert.rejects(breaker.execute(counter.fail(http(500)), signal));
  }
  assert.equal(await breaker.execute(counter.ok, signal), "ok");
  for (let i = 0; i < 4; i++) {
    await assert.rejects(breaker.execute(counter.fail(http(500)), signal));
  }
  assert.equal(breaker.state, "closed");
});

Deno.test("breaker: while open, calls are skipped with circuit_open and no attempt", async () => {
  const clock = fakeClock();
  const breaker = agentBreaker({ threshold: 5, openMs: OPEN_MS, now: clock.now });
  await openBreaker(breaker);
  const counter = attempts();
  for (let i = 0; i < 3; i++) {
    await assert.rejects(breaker.execute(counter.ok, signal), (error) => {
      assert.ok(error instanceof AgentCallError);
      assert.equal(error.code, "circuit_open");
      assert.equal(error.status, null);
      assert.ok(error.cause instanceof Error, "the failure that opened it kept as cause");
      assert.ok(error.cause instanceof AgentCallError && error.cause.code === "http_500");
      return true;
    });
  }
  clock.advance(OPEN_MS - 1);
  await assert.rejects(breaker.execute(counter.ok, signal), isCode("circuit_open"));
  assert.equal(counter.count, 0);
  assert.equal(breaker.state, "open");
});

Deno.test("breaker: after the open period exactly one probe goes through; success closes", async () => {
  const clock = fakeClock();
  const breaker = agentBreaker({ threshold: 5, openMs: OPEN_MS, now: clock.now });
  await openBreaker(breaker);
  clock.advance(OPEN_MS);
  const probe = deferred();
  let probes = 0;
  const pending = breaker.execute(() => {
    probes++;
    return probe.promise;
  }, signal);
  assert.equal(breaker.state, "half-open");
  const counter = attempts();
  await assert.rejects(breaker.execute(counter.ok, signal), isCode("circuit_open"));
  await assert.rejects(breaker.execute(counter.ok, signal), isCode("circuit_open"));
  assert.equal(counter.count, 0, "no second call while the probe is in flight");
  probe.resolve("probe ok");
  assert.equal(await pending, "probe ok");
  assert.equal(probes, 1);
  assert.equal(breaker.state, "closed");
  assert.equal(await breaker.execute(counter.ok, signal), "ok");
});

Deno.test("breaker: a failed probe re-opens it for another open period", async () => {
  const clock = fakeClock();
  const breaker = agentBreaker({ threshold: 5, openMs: OPEN_MS, now: clock.now });
  await openBreaker(breaker);
  clock.advance(OPEN_MS);
  const counter = attempts();
  await assert.rejects(breaker.execute(counter.fail(http(500)), signal), isCode("http_500"));
  assert.equal(counter.count, 1);
  assert.equal(breaker.state, "open");
  clock.advance(OPEN_MS - 1);
  await assert.rejects(breaker.execute(counter.ok, signal), isCode("circuit_open"));
  assert.equal(counter.count, 1);
  clock.advance(1);
  assert.equal(await breaker.execute(counter.ok, signal), "ok");
  assert.equal(breaker.state, "closed");
});

Deno.test("breaker: a probe that ends any other way than success re-opens it", async () => {
  for (const error of [http(404), fail("aborted"), fail("deadline")]) {
    const clock = fakeClock();
    const breaker = agentBreaker({ threshold: 5, openMs: OPEN_MS, now: clock.now });
    await openBreaker(breaker);
    clock.advance(OPEN_MS);
    await assert.rejects(breaker.execute(() => Promise.reject(error), signal));
    assert.equal(breaker.state, "open", error.code);
  }
});

Deno.test("breaker: other 4xx, aborted and unexpected are neither failures nor successes", async () => {
  for (const neutral of [http(404), http(400), fail("aborted"), fail("unexpected")]) {
    const breaker = agentBreaker({ threshold: 5, openMs: OPEN_MS, now: fakeClock().now });
    const counter = attempts();
    for (let i = 0; i < 4; i++) {
      await assert.rejects(breaker.execute(counter.fail(http(500)), signal));
    }
    for (let i = 0; i < 10; i++) {
      await assert.rejects(breaker.execute(counter.fail(neutral), signal));
    }
    assert.equal(breaker.state, "closed", `${neutral.code} does not count`);
    await assert.rejects(breaker.execute(counter.fail(http(500)), signal));
    assert.equal(breaker.state, "open", `${neutral.code} did not reset the count either`);
  }
});

Deno.test("breaker: invalid_payload, network and 429 count as failures", async () => {
  const breaker = agentBreaker({ threshold: 3, openMs: OPEN_MS, now: fakeClock().now });
  for (const error of [fail("invalid_payload"), fail("network"), http(429)]) {
    await assert.rejects(breaker.execute(() => Promise.reject(error), signal));
  }
  assert.equal(breaker.state, "open");
});

Deno.test("breaker: a deadline cut counts only after the attempt waited slowCallMs (a hang)", async () => {
  const clock = fakeClock();
  const breaker = agentBreaker({ threshold: 2, openMs: OPEN_MS, now: clock.now, slowCallMs: 5000 });
  const cutAfter = (ms: number) => () => {
    clock.advance(ms);
    return Promise.reject(fail("deadline"));
  };
  for (let i = 0; i < 5; i++) {
    await assert.rejects(breaker.execute(cutAfter(4999), signal), isCode("deadline"));
  }
  assert.equal(breaker.state, "closed", "short attempts cut by our own deadline are not samples");
  await assert.rejects(breaker.execute(cutAfter(5000), signal));
  await assert.rejects(breaker.execute(cutAfter(12_000), signal));
  assert.equal(breaker.state, "open", "an agent that hangs opens its circuit");
});

Deno.test("breaker: never reads Date.now when a clock is injected", async () => {
  const realNow = Date.now;
  Date.now = () => {
    throw new Error("the breaker read Date.now");
  };
  try {
    // A clock far from the wall clock, moved only by the test.
    const clock = fakeClock(0);
    const breaker = agentBreaker({ threshold: 2, openMs: OPEN_MS, now: clock.now });
    const counter = attempts();
    await assert.rejects(breaker.execute(counter.fail(http(500)), signal), isCode("http_500"));
    await assert.rejects(breaker.execute(counter.fail(fail("timeout")), signal), isCode("timeout"));
    assert.equal(breaker.state, "open");
    clock.advance(OPEN_MS - 1);
    await assert.rejects(breaker.execute(counter.ok, signal), isCode("circuit_open"));
    clock.advance(1);
    await assert.rejects(breaker.execute(counter.fail(http(503)), signal), isCode("http_503"));
    assert.equal(breaker.state, "open", "the failed probe re-opened it");
    clock.advance(OPEN_MS);
    assert.equal(await breaker.execute(counter.ok, signal), "ok");
    assert.equal(breaker.state, "closed");
    assert.equal(counter.count, 4);
  } finally {
    Date.now = realNow;
  }
});

Deno.test("breaker: the open period is exact on the injected clock, every time it re-opens", async () => {
  const clock = fakeClock();
  const breaker = agentBreaker({ threshold: 1, openMs: OPEN_MS, now: clock.now });
  const counter = attempts();
  await assert.rejects(breaker.execute(counter.fail(http(500)), signal));
  for (let round = 0; round < 50; round++) {
    clock.advance(OPEN_MS - 1);
    await assert.rejects(breaker.execute(counter.ok, signal), isCode("circuit_open"));
    clock.advance(1);
    await assert.rejects(breaker.execute(counter.fail(http(500)), signal), isCode("http_500"));
    assert.equal(breaker.state, "open", `round ${round}`);
  }
  assert.equal(counter.count, 51, "one probe per open period, no skipped call made an attempt");
});

Deno.test("breaker: a call let through while closed that ends after the circuit opened changes nothing", async () => {
  const clock = fakeClock();
  const breaker = agentBreaker({ threshold: 5, openMs: OPEN_MS, now: clock.now });
  const late = deferred();
  const lateFailure = deferred();
  const pendingOk = breaker.execute(() => late.promise, signal);
  const pendingFail = breaker.execute(() => lateFailure.promise, signal);
  await openBreaker(breaker);
  late.resolve("late ok");
  assert.equal(await pendingOk, "late ok");
  assert.equal(breaker.state, "open", "a late success does not close an open circuit");
  // Half-open: the probe alone decides.
  clock.advance(OPEN_MS);
  const probe = deferred();
  const pendingProbe = breaker.execute(() => probe.promise, signal);
  lateFailure.reject(http(500));
  await assert.rejects(pendingFail, isCode("http_500"));
  assert.equal(breaker.state, "half-open", "a late failure does not re-open it under the probe");
  probe.resolve("probe ok");
  assert.equal(await pendingProbe, "probe ok");
  assert.equal(breaker.state, "closed");
  // Closed again with a fresh count: 4 failures do not open it.
  for (let i = 0; i < 4; i++) {
    await assert.rejects(breaker.execute(() => Promise.reject(http(500)), signal));
  }
  assert.equal(breaker.state, "closed");
});

Deno.test("breaker: the attempt gets the caller's signal; a thrown non-AgentCallError probe re-opens", async () => {
  const clock = fakeClock();
  const breaker = agentBreaker({ threshold: 5, openMs: OPEN_MS, now: clock.now });
  const controller = new AbortController();
  let seen: AbortSignal | null = null;
  await breaker.execute(({ signal: given }) => {
    seen = given;
    return Promise.resolve("ok");
  }, controller.signal);
  assert.equal(seen, controller.signal);
  await openBreaker(breaker);
  clock.advance(OPEN_MS);
  await assert.rejects(
    breaker.execute(() => {
      throw new TypeError("bug");
    }, signal),
    TypeError,
  );
  assert.equal(breaker.state, "open");
});

Deno.test("breaker: validates its options", () => {
  assert.throws(() => agentBreaker({ threshold: 0, openMs: OPEN_MS }), RangeError);
  assert.throws(() => agentBreaker({ threshold: 1.5, openMs: OPEN_MS }), RangeError);
  assert.throws(() => agentBreaker({ threshold: 5, openMs: -1 }), RangeError);
  assert.throws(() => agentBreaker({ threshold: 5, openMs: Number.NaN }), RangeError);
  assert.equal(agentBreaker({ threshold: 5, openMs: 0 }).state, "closed");
});

Deno.test("isAgentFault: the breaker's failure set", () => {
  for (const error of [http(500), http(503), http(429), fail("timeout"), fail("network")]) {
    assert.equal(isAgentFault(error), true, error.code);
  }
  assert.equal(isAgentFault(fail("invalid_payload")), true);
  for (
    const error of [http(404), http(400), fail("deadline"), fail("aborted"), fail("unexpected")]
  ) {
    assert.equal(isAgentFault(error), false, error.code);
  }
  assert.equal(isAgentFault(new Error("x")), false);
});

// ---------------------------------------------------------------------------------------------
// Bulkhead

Deno.test("bulkhead: rejects beyond the cap with bulkhead_full and no attempt", async () => {
  const bulkhead = agentBulkhead({ maxConcurrency: 2 });
  const first = deferred();
  const second = deferred();
  const a = bulkhead.execute(() => first.promise, signal);
  const b = bulkhead.execute(() => second.promise, signal);
  assert.equal(bulkhead.inFlight, 2);
  const counter = attempts();
  await assert.rejects(bulkhead.execute(counter.ok, signal), (error) => {
    assert.ok(error instanceof AgentCallError);
    assert.equal(error.code, "bulkhead_full");
    assert.ok(error.cause instanceof Error, "cockatiel's BulkheadRejectedError kept as cause");
    return true;
  });
  assert.equal(counter.count, 0);
  first.resolve("a");
  assert.equal(await a, "a");
  assert.equal(bulkhead.inFlight, 1);
  assert.equal(await bulkhead.execute(counter.ok, signal), "ok");
  second.reject(http(500));
  await assert.rejects(b, isCode("http_500"));
  assert.equal(bulkhead.inFlight, 0, "a failed call frees its slot");
});

Deno.test("bulkhead: a queue holds calls until a slot frees, then rejects", async () => {
  const bulkhead = agentBulkhead({ maxConcurrency: 1, queue: 1 });
  const first = deferred();
  const a = bulkhead.execute(() => first.promise, signal);
  const counter = attempts();
  const queued = bulkhead.execute(counter.ok, signal);
  assert.equal(bulkhead.queued, 1);
  await assert.rejects(bulkhead.execute(counter.ok, signal), isCode("bulkhead_full"));
  assert.equal(counter.count, 0);
  first.resolve("a");
  assert.equal(await a, "a");
  assert.equal(await queued, "ok");
  assert.equal(counter.count, 1);
  assert.deepEqual([bulkhead.inFlight, bulkhead.queued], [0, 0]);
});

Deno.test("bulkhead: a queued call whose run ended is dropped with the run's reason", async () => {
  const bulkhead = agentBulkhead({ maxConcurrency: 1, queue: 1 });
  const first = deferred();
  const a = bulkhead.execute(() => first.promise, signal);
  const controller = new AbortController();
  const counter = attempts();
  const queued = bulkhead.execute(counter.ok, controller.signal);
  const reason = new Error("run over");
  controller.abort(reason);
  first.resolve("a");
  await a;
  await assert.rejects(queued, (error) => error === reason);
  assert.equal(counter.count, 0);
});

Deno.test("bulkhead: validates its sizes", () => {
  assert.throws(() => agentBulkhead({ maxConcurrency: 0 }), RangeError);
  assert.throws(() => agentBulkhead({ maxConcurrency: 1, queue: -1 }), RangeError);
});

// ---------------------------------------------------------------------------------------------
// Composition (policies.ts)

const SETTINGS = parseSettings([]);
const AGENTS = parseAgentRows([], "http://agents.test");
const CLO = AGENTS[0];

function policies(clock = fakeClock(), options: AgentPoliciesOptions = {}) {
  const waits: number[] = [];
  const set = createAgentPolicies({
    ...options,
    now: clock.now,
    random: () => 0.5,
    sleep: (ms, runSignal) => {
      runSignal.throwIfAborted();
      waits.push(ms);
      clock.advance(ms);
      return Promise.resolve();
    },
  });
  return { set, waits, clock };
}

Deno.test("policies: retries are breaker samples; the opened circuit stops retries at once", async () => {
  const { set, waits, clock } = policies();
  const counter = attempts();
  const run = () => ({ deadlineAt: clock.now() + 60_000, settings: SETTINGS });
  // First call: 4 attempts (3 retries), all failing: 4 consecutive failures.
  const firstFailure = http(500);
  await assert.rejects(
    set.policyFor(CLO, run()).execute(counter.fail(firstFailure), signal),
    (error) => error === firstFailure,
  );
  assert.equal(counter.count, 4);
  assert.deepEqual(waits, [1000, 2000, 4000]);
  // Second call: its first attempt is the 5th failure; the circuit opens and no retry follows.
  await assert.rejects(
    set.policyFor(CLO, run()).execute(counter.fail(http(502)), signal),
    isCode("http_502"),
  );
  assert.equal(counter.count, 5);
  assert.equal(waits.length, 3, "no wait for a retry the breaker would refuse");
  assert.equal(set.snapshot().clo.breaker, "open");
  // Third call: skipped, no attempt.
  await assert.rejects(
    set.policyFor(CLO, run()).execute(counter.ok, signal),
    isCode("circuit_open"),
  );
  assert.equal(counter.count, 5);
});

Deno.test("policies: the budget drained by one agent's failures stops its retries, not others'", async () => {
  // No passive refill here: the backoff waits would otherwise earn 0.7 tokens back.
  const { set, clock } = policies(fakeClock(), { budget: { refillPerSecond: 0 } });
  const settings = { ...SETTINGS, breakerThreshold: 1000 };
  const run = () => ({ deadlineAt: clock.now() + 60_000, settings });
  const counter = attempts();
  // 4 + 1 attempts: 5 failures leave 5 tokens, not more than half.
  await assert.rejects(set.policyFor(CLO, run()).execute(counter.fail(http(500)), signal));
  await assert.rejects(
    set.policyFor(CLO, { ...run(), settings: { ...settings, maxRetries: 0 } })
      .execute(counter.fail(http(500)), signal),
  );
  assert.equal(counter.count, 5);
  assert.equal(set.snapshot().clo.budgetTokens, 5);
  await assert.rejects(set.policyFor(CLO, run()).execute(counter.fail(http(500)), signal));
  assert.equal(counter.count, 6, "no retry with the budget at half");
  const other = attempts();
  await assert.rejects(set.policyFor(AGENTS[1], run()).execute(other.fail(http(500)), signal));
  assert.equal(other.count, 4, "another agent has its own budget");
});

Deno.test("policies: bulkhead outermost: a refused call makes no attempt and is not retried", async () => {
  const { set, clock } = policies();
  const agent = { ...CLO, maxConcurrency: 1 };
  const run = { deadlineAt: clock.now() + 12_000, settings: SETTINGS };
  const slow = deferred();
  const first = set.policyFor(agent, run).execute(() => slow.promise, signal);
  assert.equal(set.snapshot().clo.inFlight, 1);
  const counter = attempts();
  // maxConcurrency 1, queue 4: four wait, the fifth is refused.
  const queued = [1, 2, 3, 4].map(() => set.policyFor(agent, run).execute(counter.ok, signal));
  await assert.rejects(
    set.policyFor(agent, run).execute(counter.ok, signal),
    isCode("bulkhead_full"),
  );
  assert.equal(counter.count, 0);
  slow.resolve("first");
  assert.equal(await first, "first");
  assert.deepEqual(await Promise.all(queued), ["ok", "ok", "ok", "ok"]);
  assert.equal(set.snapshot().clo.inFlight, 0);
});

Deno.test("policies: state is kept per agent and rebuilt only when its settings change", async () => {
  const { set, clock } = policies();
  const run = (settings = SETTINGS) => ({ deadlineAt: clock.now() + 12_000, settings });
  const counter = attempts();
  const once = { ...SETTINGS, maxRetries: 0 };
  for (let i = 0; i < 5; i++) {
    await assert.rejects(set.policyFor(CLO, run(once)).execute(counter.fail(http(500)), signal));
  }
  assert.equal(set.snapshot().clo.breaker, "open");
  // maxRetries and backoff are per run: the breaker survives them.
  await assert.rejects(
    set.policyFor(CLO, run({ ...SETTINGS, backoffBaseMs: 10 })).execute(counter.ok, signal),
    isCode("circuit_open"),
  );
  // A new bulkhead size keeps the breaker too.
  await assert.rejects(
    set.policyFor({ ...CLO, maxConcurrency: 3 }, run()).execute(counter.ok, signal),
    isCode("circuit_open"),
  );
  // A new threshold rebuilds the breaker (closed again), the budget is kept.
  const rebuilt = { ...SETTINGS, breakerThreshold: 6 };
  assert.equal(await set.policyFor(CLO, run(rebuilt)).execute(counter.ok, signal), "ok");
  const snapshot = set.snapshot();
  assert.equal(snapshot.clo.breaker, "closed");
  assert.equal(snapshot.clo.budgetTokens, 5.1);
  assert.deepEqual(snapshot.ta, { breaker: "closed", inFlight: 0, budgetTokens: 10 });
  assert.deepEqual(Object.keys(snapshot), ["clo", "alex", "ta", "socratic"]);
});

Deno.test("policies: the breaker's open period and half-open probe on the injected clock", async () => {
  const { set, clock } = policies();
  const run = () => ({
    deadlineAt: clock.now() + 12_000,
    settings: { ...SETTINGS, maxRetries: 0 },
  });
  const counter = attempts();
  for (let i = 0; i < 5; i++) {
    await assert.rejects(set.policyFor(CLO, run()).execute(counter.fail(http(500)), signal));
  }
  clock.advance(SETTINGS.breakerOpenMs);
  assert.equal(await set.policyFor(CLO, run()).execute(counter.ok, signal), "ok");
  assert.equal(set.snapshot().clo.breaker, "closed");
});

// ---------------------------------------------------------------------------------------------
// Through the client: a skipped call reports 0 attempts

Deno.test("fanOut with policies: failures open the circuit, then calls report circuit_open and 0 attempts", async () => {
  const { set, clock } = policies();
  const fake = routedFetch({
    [CLO.url]: scripted(500, { ok: false, error: "down", code: "DOWN" }),
  });
  const settings = { ...SETTINGS, maxRetries: 1 };
  const runOnce = () =>
    fanOut({
      request: REQUEST,
      agents: [CLO],
      cache: new Map(),
      forceRefresh: false,
      deadlineMs: 12_000,
      serviceKey: "sb_secret_test",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      fetch: fake.fetch,
      now: clock.now,
      policyFor: set.forRun(settings),
    });
  const attemptsSeen: number[] = [];
  const codes: (string | null)[] = [];
  for (let i = 0; i < 4; i++) {
    const result = await runOnce();
    attemptsSeen.push(result.calls[0].attempts);
    codes.push(result.calls[0].errorCode);
  }
  // 2 + 2 failures, then the 5th failure opens the circuit and the retry is not made.
  assert.deepEqual(attemptsSeen, [2, 2, 1, 0]);
  assert.deepEqual(codes, ["http_500", "http_500", "http_500", "circuit_open"]);
  assert.equal(fake.callsTo(CLO.url).length, 5);
  const skipped = await runOnce();
  assert.deepEqual(
    [skipped.signals.clo?.source, skipped.signals.clo?.attempts, skipped.calls[0].outcome],
    ["fallback", 0, "unavailable"],
  );
  assert.equal(fake.callsTo(CLO.url).length, 5, "no HTTP request while open");
});
