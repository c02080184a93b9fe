import assert from "node:assert/strict";
import { type CacheEntry, classify } from "../../supabase/functions/_shared/agents/cache.ts";
import { canonicalJson } from "../../supabase/functions/_shared/agents/canonical_json.ts";
import { agentRequestFor } from "../../supabase/functions/_shared/agents/agent_request.ts";
import { fanOut, type FanOutInput } from "../../supabase/functions/_shared/agents/client.ts";
import {
  attemptSignal,
  deadlineSignal,
  raceAbort,
  remainingMs,
  sleep,
} from "../../supabase/functions/_shared/agents/deadline.ts";
import { AGENT_NAMES, type AgentName } from "../../supabase/functions/_shared/agents/protocol.ts";
import {
  REFERENCE_CONTENT,
  referenceAnswer,
} from "../../supabase/functions/_shared/agents/reference/content.ts";
import { contentEtag } from "../../supabase/functions/_shared/agents/reference/etag.ts";
import { createReferenceAgent } from "../../supabase/functions/_shared/agents/reference/server.ts";
import {
  type AgentConfig,
  DEFAULT_AGENTS,
  parseAgentRows,
} from "../../supabase/functions/_shared/agents/registry.ts";
import { parseRetryAfter } from "../../supabase/functions/_shared/agents/retry_after.ts";
import { scopeKey } from "../../supabase/functions/_shared/agents/scope.ts";
import type { AgentSignal } from "../../supabase/functions/_shared/agents/signal.ts";
import { type Config, loadConfig } from "../../supabase/functions/_shared/config.ts";
import {
  type Handler,
  routedFetch,
  SAMPLE_AGENT_REQUEST as REQUEST,
  scripted,
  withFault,
} from "../support/agent_fetch.ts";

const BASE = "http://agents.test";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const HOUR_MS = 3_600_000;

let cachedConfig: Config | null = null;
async function config(): Promise<Config> {
  cachedConfig ??= await loadConfig(
    new Map([["WISELY_LOCAL_STACK", "1"], ["WISELY_AGENT_FAULTS", "1"]]),
  );
  return cachedConfig;
}

const AGENTS: AgentConfig[] = parseAgentRows([], BASE);
const urlOf = (name: AgentName) => `${BASE}/functions/v1/agent-${name}`;

/** Routes for all four reference agents, with per-agent overrides. */
async function referenceRoutes(
  overrides: Partial<Record<AgentName, Handler>> = {},
): Promise<Record<string, Handler>> {
  const routes: Record<string, Handler> = {};
  for (const name of AGENT_NAMES) {
    routes[urlOf(name)] = overrides[name] ??
      createReferenceAgent(name, { config: await config() }).fetch;
  }
  return routes;
}

async function reference(name: AgentName): Promise<Handler> {
  return createReferenceAgent(name, { config: await config() }).fetch;
}

const agentOf = (name: AgentName) => AGENTS.find((candidate) => candidate.name === name)!;

/** Where the reference agent's answer to REQUEST is cached: clo, ta, socratic packs by week. */
function keyOf(name: AgentName, request = REQUEST): string {
  return scopeKey(agentOf(name).scope, request.intent.id, request.week, request.day);
}

/** `name`'s freshness window in the seeded registry, in milliseconds. */
const freshMs = (name: AgentName) => agentOf(name).freshnessS * 1000;

/**
 * A cache entry for `name` holding the reference agent's real answer (a week pack for clo, ta
 * and socratic, as the registry asks them), validated `ageMs` ago.
 */
async function entryFor(
  name: AgentName,
  ageMs: number,
  overrides: Partial<CacheEntry> = {},
): Promise<CacheEntry> {
  const payload = referenceAnswer(name, agentRequestFor(agentOf(name), REQUEST));
  const at = new Date(Date.now() - ageMs);
  return {
    agent: name,
    scopeKey: keyOf(name),
    etag: await contentEtag(payload),
    payload,
    fetchedAt: at,
    validatedAt: at,
    ...overrides,
  };
}

async function run(
  overrides: Partial<FanOutInput> & Pick<FanOutInput, "fetch">,
) {
  return await fanOut({
    request: REQUEST,
    agents: AGENTS,
    cache: new Map(),
    forceRefresh: false,
    deadlineMs: 12_000,
    serviceKey: (await config()).edgeServiceKey,
    traceId: TRACE_ID,
    ...overrides,
  });
}

// ---------------------------------------------------------------------------------------------
// Pure pieces

Deno.test("scopeKey: the three scopes", () => {
  const id = REQUEST.intent.id;
  assert.equal(scopeKey("intent", id, 3, 5), `intent:${id}`);
  assert.equal(scopeKey("intent_week", id, 3, 5), `intent:${id}:w3`);
  assert.equal(scopeKey("intent_week_day", id, 3, 5), `intent:${id}:w3:d5`);
});

Deno.test("registry: defaults, relative and absolute paths, unknown and invalid rows", () => {
  assert.deepEqual(AGENTS.map((agent) => agent.name), ["clo", "alex", "ta", "socratic"]);
  assert.equal(AGENTS[0].url, `${BASE}/functions/v1/agent-clo`);
  assert.deepEqual(
    AGENTS.map((agent) => [agent.scope, agent.freshnessS]),
    [
      ["intent_week", 604_800],
      ["intent", 604_800],
      ["intent_week", 604_800],
      ["intent_week", 604_800],
    ],
  );

  const invalid: unknown[] = [];
  const rows: unknown[] = [
    { ...DEFAULT_AGENTS[2], path: "https://ta.example.com/run", sort_order: 0, enabled: false },
    { ...DEFAULT_AGENTS[1], path: "functions/v1/alex-v2", timeout_ms: 5000 },
    { ...DEFAULT_AGENTS[0], scope: "forever" },
    { name: "oracle", path: "/x", scope: "intent", freshness_s: 1, timeout_ms: 1000 },
    null,
    "garbage",
  ];
  const agents = parseAgentRows(rows, `${BASE}/`, { onInvalidRow: (row) => invalid.push(row) });
  assert.deepEqual(agents.map((agent) => agent.name), ["ta", "clo", "alex", "socratic"]);
  const [ta, clo, alex] = agents;
  assert.equal(ta.url, "https://ta.example.com/run");
  assert.equal(ta.enabled, false);
  assert.equal(alex.url, `${BASE}/functions/v1/alex-v2`);
  assert.equal(alex.timeoutMs, 5000);
  assert.equal(clo.scope, "intent_week", "an invalid row falls back to the default");
  assert.equal(invalid.length, 1);
});

Deno.test("classify: fresh, stale-usable, expired, none, force refresh", async () => {
  const options = { now: Date.now(), freshnessS: 3600, staleFactor: 7, forceRefresh: false };
  assert.equal(classify(null, options), "none");
  assert.equal(classify(await entryFor("clo", 10 * 60_000), options), "fresh");
  assert.equal(classify(await entryFor("clo", 2 * HOUR_MS), options), "stale-usable");
  assert.equal(classify(await entryFor("clo", 8 * HOUR_MS), options), "expired");
  assert.equal(
    classify(await entryFor("clo", 10 * 60_000), { ...options, forceRefresh: true }),
    "stale-usable",
  );
  assert.equal(classify(await entryFor("clo", -HOUR_MS), options), "fresh", "future = age 0");
});

Deno.test("deadline helpers", async () => {
  assert.equal(remainingMs(1000, 400), 600);
  assert.equal(remainingMs(1000, 1400), 0);

  const parent = new AbortController();
  const deadline = deadlineSignal(60_000, parent.signal);
  assert.equal(deadline.aborted, false);
  parent.abort(new Error("client went away"));
  assert.equal(deadline.aborted, true);

  const runSignal = new AbortController().signal;
  const own = attemptSignal({
    attemptTimeoutMs: 100,
    deadlineAt: 10_000,
    now: 0,
    signal: runSignal,
  });
  assert.deepEqual([own.timeoutMs, own.hasOwnTimeout], [100, true]);
  const capped = attemptSignal({
    attemptTimeoutMs: 15_000,
    deadlineAt: 10_000,
    now: 9_000,
    signal: runSignal,
  });
  assert.deepEqual([capped.timeoutMs, capped.hasOwnTimeout], [1000, false]);
  assert.equal(capped.signal, runSignal);

  const controller = new AbortController();
  const reason = new Error("stop");
  const waiting = sleep(60_000, controller.signal);
  const racing = raceAbort(new Promise(() => {}), controller.signal);
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  await assert.rejects(racing, (error) => error === reason);
  assert.equal(await raceAbort(Promise.resolve(7), new AbortController().signal), 7);
});

Deno.test("parseRetryAfter: seconds, dates, junk", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now), 10_000);
  assert.equal(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter(null, now), null);
  assert.equal(parseRetryAfter("-1", now), null);
  assert.equal(parseRetryAfter("soon", now), null);
});

Deno.test("canonicalJson: sorted keys at every level", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } }),
    '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}',
  );
});

// ---------------------------------------------------------------------------------------------
// Fan-out

Deno.test("fanOut: cold cache fetches every agent and stores with ETags", async () => {
  const fake = routedFetch(await referenceRoutes());
  const settled: AgentSignal[] = [];
  const result = await run({ fetch: fake.fetch, onSettle: (signal) => settled.push(signal) });

  assert.equal(fake.calls.length, 4);
  for (const name of AGENT_NAMES) {
    const signal = result.signals[name]!;
    assert.equal(signal.source, "network");
    assert.deepEqual([signal.available, signal.fresh, signal.status], [true, true, 200]);
    assert.deepEqual(signal.data, REFERENCE_CONTENT[name](REQUEST));
    assert.equal(signal.attempts, 1);
  }
  assert.deepEqual(
    result.cacheWrites.map((write) => [write.kind, write.agent, write.scopeKey]),
    AGENT_NAMES.map((name) => ["store", name, keyOf(name)]),
  );
  for (const write of result.cacheWrites) {
    assert.equal(write.kind, "store");
    if (write.kind !== "store") continue;
    assert.equal(write.etag, await contentEtag(write.payload));
  }
  assert.deepEqual(
    result.calls.map((
      call,
    ) => [call.agent, call.outcome, call.status, call.errorCode, call.attempts]),
    AGENT_NAMES.map((name) => [name, "fetched", 200, null, 1]),
  );
  assert.equal(settled.length, 4, "onSettle once per agent");
  assert.deepEqual(new Set(settled.map((signal) => signal.agent)), new Set(AGENT_NAMES));
});

Deno.test("fanOut: request headers and body", async () => {
  const fake = routedFetch(await referenceRoutes());
  await run({ fetch: fake.fetch });
  await run({ fetch: fake.fetch });
  const serviceKey = (await config()).edgeServiceKey;
  assert.ok(serviceKey?.startsWith("sb_secret_"), "the local default is the CLI's secret key");
  const keys = new Map<string, string>();
  for (const call of fake.calls) {
    assert.equal(call.method, "POST");
    assert.equal(call.headers.get("apikey"), serviceKey);
    assert.equal(call.headers.get("Authorization"), `Bearer ${serviceKey}`);
    assert.equal(call.headers.get("Content-Type"), "application/json");
    assert.equal(call.headers.get("If-None-Match"), null, "nothing cached");
    assert.match(
      call.headers.get("traceparent") ?? "",
      new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`),
    );
    const key = call.headers.get("X-Idempotency-Key") ?? "";
    assert.match(key, /^[0-9a-f]{64}$/);
    if (keys.has(call.url)) assert.equal(keys.get(call.url), key, "stable for the same call");
    keys.set(call.url, key);
    const name = AGENT_NAMES.find((candidate) => call.url === urlOf(candidate))!;
    // The request, with `accept: ["week_pack"]` for the week-scoped clo, ta and socratic.
    assert.deepEqual(JSON.parse(call.body), agentRequestFor(agentOf(name), REQUEST));
    assert.equal(JSON.parse(call.body).accept?.[0], name === "alex" ? undefined : "week_pack");
  }
  assert.equal(new Set(keys.values()).size, 4, "one key per agent");
  const spans = fake.calls.map((call) => call.headers.get("traceparent")!.split("-")[2]);
  assert.equal(new Set(spans).size, spans.length, "one span per attempt");

  // A different question gets a different key.
  const other = routedFetch(await referenceRoutes());
  await run({ fetch: other.fetch, request: { ...REQUEST, day: 6 } });
  assert.notEqual(
    other.callsTo(urlOf("ta"))[0].headers.get("X-Idempotency-Key"),
    keys.get(urlOf("ta")),
  );
});

Deno.test("fanOut: a fresh cache entry is served with no call", async () => {
  const fake = routedFetch(await referenceRoutes());
  const cache = new Map([["clo" as const, await entryFor("clo", 60_000)]]);
  const frozen = Date.now();
  const result = await run({ fetch: fake.fetch, cache, now: () => frozen });
  assert.equal(fake.callsTo(urlOf("clo")).length, 0);
  const clo = result.signals.clo!;
  assert.deepEqual([clo.source, clo.available, clo.fresh, clo.attempts], ["cache", true, true, 0]);
  assert.deepEqual(clo.data, REFERENCE_CONTENT.clo(REQUEST));
  assert.ok(!result.cacheWrites.some((write) => write.agent === "clo"));
  assert.deepEqual(result.calls.find((call) => call.agent === "clo"), {
    agent: "clo",
    outcome: "hit",
    status: null,
    errorCode: null,
    attempts: 0,
    latencyMs: 0,
  });
  assert.equal(fake.calls.length, 3);
});

Deno.test("fanOut: an expired entry is revalidated with If-None-Match (304)", async () => {
  const fake = routedFetch(await referenceRoutes());
  const entry = await entryFor("clo", 30 * 24 * HOUR_MS); // past even the stale window
  const result = await run({ fetch: fake.fetch, cache: new Map([["clo", entry]]) });
  const [call] = fake.callsTo(urlOf("clo"));
  assert.equal(call.headers.get("If-None-Match"), entry.etag);
  const clo = result.signals.clo!;
  assert.deepEqual([clo.source, clo.available, clo.fresh, clo.status], [
    "revalidated",
    true,
    true,
    304,
  ]);
  assert.deepEqual(clo.data, REFERENCE_CONTENT.clo(REQUEST), "the pack's entry for the day");
  assert.deepEqual(result.cacheWrites.find((write) => write.agent === "clo"), {
    kind: "revalidate",
    agent: "clo",
    scopeKey: keyOf("clo"),
    etag: entry.etag,
  });
  assert.equal(result.calls.find((c) => c.agent === "clo")?.outcome, "revalidated");
});

Deno.test("fanOut: a changed answer replaces the cached one (200 → store)", async () => {
  const fake = routedFetch(await referenceRoutes());
  const entry = await entryFor("ta", 1.2 * freshMs("ta"), { etag: '"outdated"' });
  const result = await run({ fetch: fake.fetch, cache: new Map([["ta", entry]]) });
  assert.equal(fake.callsTo(urlOf("ta"))[0].headers.get("If-None-Match"), '"outdated"');
  assert.equal(result.signals.ta?.source, "network");
  const write = result.cacheWrites.find((candidate) => candidate.agent === "ta");
  assert.equal(write?.kind, "store");
  assert.equal(
    write?.etag,
    await contentEtag(referenceAnswer("ta", agentRequestFor(agentOf("ta"), REQUEST))),
  );
});

Deno.test("fanOut: force_refresh calls even fresh agents, still with If-None-Match", async () => {
  const fake = routedFetch(await referenceRoutes());
  const cache = new Map<AgentName, CacheEntry>();
  for (const name of AGENT_NAMES) cache.set(name, await entryFor(name, 1000));
  const result = await run({ fetch: fake.fetch, cache, forceRefresh: true });
  assert.equal(fake.calls.length, 4);
  for (const name of AGENT_NAMES) {
    assert.equal(fake.callsTo(urlOf(name))[0].headers.get("If-None-Match"), cache.get(name)!.etag);
    assert.equal(result.signals[name]?.source, "revalidated");
  }
});

Deno.test("fanOut: a malformed payload is never cached: fallback without cache", async () => {
  const fake = routedFetch(
    await referenceRoutes({
      alex: withFault(await reference("alex"), { malformed: true }),
      ta: withFault(await reference("ta"), { malformed: "json" }),
    }),
  );
  const result = await run({ fetch: fake.fetch });
  for (const name of ["alex", "ta"] as const) {
    const signal = result.signals[name]!;
    assert.deepEqual(
      [
        signal.source,
        signal.available,
        signal.fresh,
        signal.data,
        signal.error_code,
        signal.status,
      ],
      ["fallback", false, false, null, "invalid_payload", 200],
    );
    assert.ok(!result.cacheWrites.some((write) => write.agent === name));
    assert.equal(result.calls.find((call) => call.agent === name)?.outcome, "unavailable");
  }
  assert.equal(result.signals.clo?.source, "network");
});

Deno.test("fanOut: a malformed payload with a usable cache entry serves it stale", async () => {
  const fake = routedFetch(
    await referenceRoutes({ alex: withFault(await reference("alex"), { malformed: true }) }),
  );
  const entry = await entryFor("alex", 8 * 24 * HOUR_MS); // older than 7 days, within 49
  const result = await run({ fetch: fake.fetch, cache: new Map([["alex", entry]]) });
  const alex = result.signals.alex!;
  assert.deepEqual(
    [alex.source, alex.available, alex.fresh, alex.error_code],
    ["stale", true, false, "invalid_payload"],
  );
  assert.deepEqual(alex.data, entry.payload);
  assert.deepEqual(result.cacheWrites.filter((write) => write.agent === "alex"), []);
});

Deno.test("fanOut: 5xx with a usable cache entry → stale; without → fallback", async () => {
  const fake = routedFetch(
    await referenceRoutes({
      clo: scripted(500, { ok: false, error: "boom", code: "INTERNAL" }),
      ta: withFault(await reference("ta"), { status: 503, retry_after: "1" }),
      socratic: scripted(404, { ok: false, error: "gone", code: "NOT_FOUND" }),
    }),
  );
  const cache = new Map([["clo" as const, await entryFor("clo", 1.5 * freshMs("clo"))]]);
  const result = await run({ fetch: fake.fetch, cache });

  const clo = result.signals.clo!;
  assert.deepEqual(
    [clo.source, clo.available, clo.fresh, clo.status, clo.error_code],
    ["stale", true, false, 500, "http_500"],
  );
  const ta = result.signals.ta!;
  assert.deepEqual(
    [ta.source, ta.available, ta.data, ta.status, ta.error_code],
    ["fallback", false, null, 503, "http_503"],
  );
  assert.equal(result.signals.socratic?.error_code, "http_404");
  assert.deepEqual(
    result.calls.map((call) => [call.agent, call.outcome]),
    [["clo", "stale"], ["alex", "fetched"], ["ta", "unavailable"], ["socratic", "unavailable"]],
  );
  assert.deepEqual(result.cacheWrites.map((write) => write.agent), ["alex"]);
});

Deno.test("fanOut: a failure past the stale window falls back even with an entry", async () => {
  const fake = routedFetch(
    await referenceRoutes({ ta: scripted(502, { ok: false, error: "x", code: "BAD" }) }),
  );
  const cache = new Map([["ta" as const, await entryFor("ta", 7.2 * freshMs("ta"))]]); // > 7 ×
  const result = await run({ fetch: fake.fetch, cache });
  assert.equal(fake.callsTo(urlOf("ta"))[0].headers.get("If-None-Match"), cache.get("ta")!.etag);
  assert.equal(result.signals.ta?.source, "fallback");
});

Deno.test("fanOut: network errors and unknown hosts become fallback 'network'", async () => {
  const routes = await referenceRoutes();
  delete routes[urlOf("socratic")];
  const fake = routedFetch(routes);
  const result = await run({ fetch: fake.fetch });
  const socratic = result.signals.socratic!;
  assert.deepEqual(
    [socratic.source, socratic.error_code, socratic.status, socratic.attempts],
    ["fallback", "network", null, 1],
  );
});

Deno.test("fanOut: a cached payload that no longer validates is ignored", async () => {
  const fake = routedFetch(await referenceRoutes());
  const broken = await entryFor("clo", 60_000, { payload: { title: "" } });
  const otherScope = await entryFor("ta", 60_000, { scopeKey: "intent:elsewhere:w1:d1" });
  const result = await run({
    fetch: fake.fetch,
    cache: new Map<AgentName, CacheEntry>([["clo", broken], ["ta", otherScope]]),
  });
  assert.equal(fake.callsTo(urlOf("clo"))[0].headers.get("If-None-Match"), null);
  assert.equal(result.signals.clo?.source, "network");
  assert.equal(result.signals.ta?.source, "network", "an entry for another scope is not used");
});

Deno.test("fanOut: a 304 without a usable cached payload is a failure", async () => {
  const fake = routedFetch(await referenceRoutes({ clo: scripted(304, null) }));
  const result = await run({ fetch: fake.fetch });
  assert.deepEqual(
    [result.signals.clo?.source, result.signals.clo?.error_code],
    ["fallback", "invalid_payload"],
  );
});

Deno.test("fanOut: a hanging agent is cut at the run deadline", async () => {
  const fake = routedFetch(
    await referenceRoutes({ ta: withFault(await reference("ta"), { hang: true }) }),
  );
  const stale = await entryFor("ta", 1.5 * freshMs("ta"));
  const started = performance.now();
  const result = await run({ fetch: fake.fetch, deadlineMs: 200, cache: new Map([["ta", stale]]) });
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 5000, `settled by the deadline (took ${elapsed} ms)`);
  const ta = result.signals.ta!;
  assert.deepEqual([ta.source, ta.error_code, ta.attempts], ["stale", "deadline", 1]);
  assert.equal(result.signals.clo?.source, "network");
});

Deno.test("fanOut: a fetch that ignores its signal is still cut at the deadline", async () => {
  const routes = await referenceRoutes();
  const fake = routedFetch(routes);
  const stubborn: typeof fetch = (input, init) =>
    String(input) === urlOf("alex") ? new Promise<Response>(() => {}) : fake.fetch(input, init);
  const started = performance.now();
  const result = await run({ fetch: stubborn, deadlineMs: 200 });
  assert.ok(performance.now() - started < 5000);
  assert.deepEqual(
    [result.signals.alex?.source, result.signals.alex?.error_code],
    ["fallback", "deadline"],
  );
});

Deno.test("fanOut: the attempt timeout is min(attemptTimeoutMs, agent.timeoutMs)", async () => {
  const fake = routedFetch(
    await referenceRoutes({ socratic: withFault(await reference("socratic"), { hang: true }) }),
  );
  const agents = AGENTS.map((agent) =>
    agent.name === "socratic" ? { ...agent, timeoutMs: 100 } : agent
  );
  const result = await run({ fetch: fake.fetch, agents });
  assert.equal(result.signals.socratic?.error_code, "timeout");
  const viaOption = await run({ fetch: fake.fetch, attemptTimeoutMs: 100 });
  assert.equal(viaOption.signals.socratic?.error_code, "timeout");
});

Deno.test("fanOut: cancelling the run marks pending agents 'aborted'", async () => {
  const fake = routedFetch(
    await referenceRoutes({ clo: withFault(await reference("clo"), { hang: true }) }),
  );
  const controller = new AbortController();
  const pending = run({ fetch: fake.fetch, signal: controller.signal });
  setTimeout(() => controller.abort(), 30);
  const result = await pending;
  assert.equal(result.signals.clo?.error_code, "aborted");
  assert.equal(result.signals.clo?.source, "fallback");
});

Deno.test("fanOut: agents run in parallel", async () => {
  const routes: Partial<Record<AgentName, Handler>> = {};
  for (const name of AGENT_NAMES) {
    routes[name] = withFault(await reference(name), { latency_ms: 100 });
  }
  const fake = routedFetch(await referenceRoutes(routes));
  const result = await run({ fetch: fake.fetch });
  assert.equal(fake.calls.length, 4);
  const lastStart = Math.max(...fake.calls.map((call) => call.startedAt));
  const firstAnswer = Math.min(...fake.calls.map((call) => call.answeredAt ?? Infinity));
  assert.ok(lastStart < firstAnswer, "every call started before any answered");
  for (const name of AGENT_NAMES) assert.equal(result.signals[name]?.source, "network");
});

Deno.test("fanOut: disabled agents are not called and absent from the result", async () => {
  const fake = routedFetch(await referenceRoutes());
  const agents = AGENTS.map((agent) =>
    agent.name === "alex" ? { ...agent, enabled: false } : agent
  );
  const settled: AgentName[] = [];
  const result = await run({
    fetch: fake.fetch,
    agents,
    onSettle: (signal) => settled.push(signal.agent),
  });
  assert.equal(fake.callsTo(urlOf("alex")).length, 0);
  assert.equal(result.signals.alex, undefined);
  assert.deepEqual(result.calls.map((call) => call.agent), ["clo", "ta", "socratic"]);
  assert.equal(settled.length, 3);
});

Deno.test("fanOut: latency is measured with the injected clock; onSettle errors are ignored", async () => {
  let clock = 1_000_000;
  const fake = routedFetch(await referenceRoutes());
  const ticking: typeof fetch = async (input, init) => {
    clock += 250;
    return await fake.fetch(input, init);
  };
  const result = await run({
    fetch: ticking,
    now: () => clock,
    agents: AGENTS.filter((agent) => agent.name === "clo"),
    onSettle: () => {
      throw new Error("the SSE stream closed");
    },
  });
  assert.equal(result.signals.clo?.latency_ms, 250);
  assert.equal(result.calls[0].latencyMs, 250);
});

Deno.test("fanOut: policies wrap attempts (the retry seam)", async () => {
  let failuresLeft = 1;
  const flaky: Handler = async (request) => {
    if (failuresLeft-- > 0) {
      return scripted(503, { ok: false, error: "busy", code: "BUSY" })(request);
    }
    return await (await reference("clo"))(request);
  };
  const fake = routedFetch(await referenceRoutes({ clo: flaky }));
  const result = await run({
    fetch: fake.fetch,
    agents: AGENTS.filter((agent) => agent.name === "clo"),
    policyFor: () => ({
      async execute(fn, signal) {
        try {
          return await fn({ signal });
        } catch {
          return await fn({ signal });
        }
      },
    }),
  });
  assert.equal(result.signals.clo?.source, "network");
  assert.equal(result.signals.clo?.attempts, 2);
  const [first, second] = fake.callsTo(urlOf("clo"));
  assert.equal(
    first.headers.get("X-Idempotency-Key"),
    second.headers.get("X-Idempotency-Key"),
    "the same key on every attempt",
  );
  assert.notEqual(first.headers.get("traceparent"), second.headers.get("traceparent"));
});

Deno.test("fanOut: rejects a malformed trace id (programming error)", async () => {
  const fake = routedFetch(await referenceRoutes());
  await assert.rejects(run({ fetch: fake.fetch, traceId: "xyz" }), TypeError);
});

Deno.test("fanOut: a bug in a policy settles that agent as 'unexpected', never rejects", async () => {
  const fake = routedFetch(await referenceRoutes());
  const result = await run({
    fetch: fake.fetch,
    policyFor: (agent) => {
      if (agent.name === "ta") throw new Error("bug");
      return { execute: (fn, signal) => fn({ signal }) };
    },
  });
  assert.deepEqual(
    [result.signals.ta?.source, result.signals.ta?.error_code],
    ["fallback", "unexpected"],
  );
  assert.equal(result.signals.clo?.source, "network");
});
