import assert from "node:assert/strict";
import fc from "fast-check";
import { SignJWT } from "jose";
import {
  AGENT_DATA_SCHEMAS,
  AGENT_NAMES,
  type AgentName,
  agentReplySchema,
  type AgentRequest,
  AgentRequestSchema,
  AlexDataSchema,
  CloDataSchema,
  DEPTHS,
  SocraticDataSchema,
  TaDataSchema,
} from "../../supabase/functions/_shared/agents/protocol.ts";
import {
  alexContent,
  cloContent,
  REFERENCE_CONTENT,
  socraticContent,
  taContent,
} from "../../supabase/functions/_shared/agents/reference/content.ts";
import { contentEtag } from "../../supabase/functions/_shared/agents/reference/etag.ts";
import { ifNoneMatchMatches } from "../../supabase/functions/_shared/http/etag.ts";
import {
  type Fault,
  firstFault,
  headerFaultPlan,
} from "../../supabase/functions/_shared/agents/reference/faults.ts";
import {
  createScriptedFaultPlan,
  MAX_STEPS,
} from "../../supabase/functions/_shared/agents/reference/fault_plan.ts";
import {
  createReferenceAgent,
  type ReferenceAgent,
} from "../../supabase/functions/_shared/agents/reference/server.ts";
import { type Config, loadConfig } from "../../supabase/functions/_shared/config.ts";

const URL_BASE = "http://agents.test/functions/v1";

const REQUEST: AgentRequest = {
  user_id: "3f0c5a8e-9b1d-4c2e-8f7a-1b2c3d4e5f60",
  intent: {
    id: "7d9e8f10-2a3b-4c5d-9e6f-708192a3b4c5",
    topic: "Rust ownership and borrowing",
    depth: "deep",
    end_goal: "Write a small CLI tool in Rust without fighting the borrow checker",
    time_per_day_min: 45,
    user_tz: "Europe/Paris",
  },
  week: 2,
  day: 3,
  research: false,
  history: {
    completed_sessions: 8,
    last_confidence: 7,
    last_completion_time_min: 40,
    last_hint: null,
  },
};

function withHistory(history: Partial<AgentRequest["history"]>): AgentRequest {
  return { ...REQUEST, history: { ...REQUEST.history, ...history } };
}

let faultyConfig: Config | null = null;
let plainConfig: Config | null = null;

async function configs() {
  faultyConfig ??= await loadConfig(
    new Map([["WISELY_LOCAL_STACK", "1"], ["WISELY_AGENT_FAULTS", "1"]]),
  );
  plainConfig ??= await loadConfig(new Map([["WISELY_LOCAL_STACK", "1"]]));
  return { faulty: faultyConfig, plain: plainConfig };
}

interface CallOptions {
  body?: unknown;
  token?: string | null;
  headers?: Record<string, string>;
  method?: string;
  signal?: AbortSignal;
}

async function call(agent: ReferenceAgent, name: AgentName, options: CallOptions = {}) {
  const { plain } = await configs();
  const token = options.token === undefined ? plain.edgeServiceKey : options.token;
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    ...options.headers,
  };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const method = options.method ?? "POST";
  return await agent.fetch(
    new Request(`${URL_BASE}/agent-${name}`, {
      method,
      headers,
      body: method === "POST" || method === "PUT"
        ? (typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body ?? REQUEST))
        : undefined,
      signal: options.signal,
    }),
  );
}

async function agentFor(name: AgentName, faults = false) {
  const { faulty, plain } = await configs();
  return createReferenceAgent(name, { config: faults ? faulty : plain });
}

async function tokenWith(claims: Record<string, unknown>, secret?: Uint8Array) {
  const { plain } = await configs();
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(secret ?? plain.jwtSecret!);
}

// ---------------------------------------------------------------------------------------------
// Content

Deno.test("content: every agent's data is schema-valid and deterministic", () => {
  for (const name of AGENT_NAMES) {
    const first = REFERENCE_CONTENT[name](REQUEST);
    const second = REFERENCE_CONTENT[name](structuredClone(REQUEST));
    assert.ok(AGENT_DATA_SCHEMAS[name].safeParse(first).success, name);
    assert.deepEqual(first, second, name);
  }
});

Deno.test("content: schema-valid for arbitrary valid requests (property)", () => {
  const request = fc.record({
    user_id: fc.uuid(),
    intent: fc.record({
      id: fc.uuid(),
      // "binary" reaches astral code points (2 UTF-16 units each), which the schemas count.
      topic: fc.oneof(
        fc.string({ minLength: 1, maxLength: 200, unit: "grapheme-ascii" }),
        fc.string({ minLength: 1, maxLength: 100, unit: "binary" }),
        fc.constant(" ".repeat(200)),
      ),
      depth: fc.constantFrom(...DEPTHS),
      end_goal: fc.oneof(
        fc.string({ minLength: 1, maxLength: 500, unit: "grapheme" }),
        fc.string({ minLength: 1, maxLength: 250, unit: "binary" }),
      ),
      time_per_day_min: fc.integer({ min: 5, max: 480 }),
      user_tz: fc.constantFrom("UTC", "Europe/Paris", "America/New_York"),
    }),
    week: fc.integer({ min: 1, max: 520 }),
    day: fc.integer({ min: 1, max: 7 }),
    research: fc.boolean(),
    history: fc.record({
      completed_sessions: fc.integer({ min: 0, max: 5000 }),
      last_confidence: fc.option(fc.integer({ min: 1, max: 10 })),
      last_completion_time_min: fc.option(fc.integer({ min: 0, max: 1440 })),
      last_hint: fc.option(fc.string({ maxLength: 1000 })),
    }),
  });
  fc.assert(
    fc.property(request, (candidate) => {
      const parsed = AgentRequestSchema.safeParse(candidate);
      fc.pre(parsed.success);
      if (!parsed.success) return;
      for (const name of AGENT_NAMES) {
        const result = AGENT_DATA_SCHEMAS[name].safeParse(REFERENCE_CONTENT[name](parsed.data));
        assert.ok(result.success, `${name}: ${JSON.stringify(result.error?.issues)}`);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("content: clo difficulty follows the last session", () => {
  assert.equal(cloContent(withHistory({ last_confidence: 3 })).difficulty, "intro");
  assert.equal(cloContent(withHistory({ last_confidence: 9 })).difficulty, "stretch");
  assert.equal(cloContent(withHistory({ last_confidence: 7 })).difficulty, "core");
  // A short session is a struggle even with good confidence.
  assert.equal(
    cloContent(withHistory({ last_confidence: 9, last_completion_time_min: 10 })).difficulty,
    "intro",
  );
  const first = cloContent({
    ...REQUEST,
    week: 1,
    day: 1,
    history: {
      completed_sessions: 0,
      last_confidence: null,
      last_completion_time_min: null,
      last_hint: null,
    },
  });
  assert.equal(first.difficulty, "intro");
  const stretch = cloContent(withHistory({ last_confidence: 9 }));
  assert.ok(stretch.objectives.some((objective) => objective.startsWith("Stretch")));
});

Deno.test("content: varies with week, day and depth", () => {
  const base = cloContent(REQUEST);
  assert.notEqual(cloContent({ ...REQUEST, day: 4 }).title, base.title);
  assert.notEqual(cloContent({ ...REQUEST, week: 5 }).title, base.title);
  assert.notDeepEqual(taContent({ ...REQUEST, day: 4 }), taContent(REQUEST));
  assert.notDeepEqual(socraticContent({ ...REQUEST, day: 5 }), socraticContent(REQUEST));
  const surface = alexContent({ ...REQUEST, intent: { ...REQUEST.intent, depth: "surface" } });
  const expert = alexContent({ ...REQUEST, intent: { ...REQUEST.intent, depth: "expert" } });
  assert.ok(expert.resources.length > surface.resources.length);
  assert.ok(expert.resources.some((resource) => resource.kind === "paper"));
  assert.ok(!surface.resources.some((resource) => resource.kind === "paper"));
  const research = alexContent({ ...REQUEST, research: true });
  assert.ok(research.resources.length > alexContent(REQUEST).resources.length);
});

Deno.test("content: alex URLs are https searches for the topic", () => {
  for (const resource of alexContent(REQUEST).resources) {
    const url = new URL(resource.url);
    assert.equal(url.protocol, "https:");
    assert.match(decodeURIComponent(resource.url.replaceAll("+", " ")), /Rust ownership/);
    assert.ok(resource.minutes >= 1 && resource.minutes <= 480);
  }
});

Deno.test("content: ta minutes are about 40 % of the day; warm-up after a struggle", () => {
  const total = taContent(REQUEST).exercises.reduce((sum, exercise) => sum + exercise.minutes, 0);
  assert.equal(total, Math.round(REQUEST.intent.time_per_day_min * 0.4));
  const struggled = taContent(withHistory({ last_confidence: 2 }));
  assert.equal(struggled.exercises[0].title, "Warm-up review");
  const strong = taContent(withHistory({ last_confidence: 10 }));
  assert.equal(strong.exercises.at(-1)?.title, "Challenge");
  const tiny = taContent({ ...REQUEST, intent: { ...REQUEST.intent, time_per_day_min: 5 } });
  assert.ok(TaDataSchema.safeParse(tiny).success);
});

Deno.test("etag: If-None-Match matching", async () => {
  const etag = await contentEtag({ b: 1, a: [1, 2] });
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  assert.equal(etag, await contentEtag({ a: [1, 2], b: 1 }), "key order does not matter");
  assert.ok(ifNoneMatchMatches(etag, etag));
  assert.ok(ifNoneMatchMatches(`W/${etag}`, etag));
  assert.ok(ifNoneMatchMatches(`"other", ${etag}`, etag));
  assert.ok(ifNoneMatchMatches("*", etag));
  assert.ok(!ifNoneMatchMatches('"other"', etag));
  assert.ok(!ifNoneMatchMatches(null, etag));
});

// ---------------------------------------------------------------------------------------------
// Server

Deno.test("server: each agent answers 200 with schema-valid data and a stable ETag", async () => {
  const schemas = {
    clo: CloDataSchema,
    alex: AlexDataSchema,
    ta: TaDataSchema,
    socratic: SocraticDataSchema,
  };
  for (const name of AGENT_NAMES) {
    const agent = await agentFor(name);
    const first = await call(agent, name);
    const second = await call(agent, name);
    assert.equal(first.status, 200, name);
    assert.match(first.headers.get("Content-Type") ?? "", /^application\/json/);
    assert.equal(first.headers.get("Access-Control-Allow-Origin"), "*");
    const body = agentReplySchema(name).parse(await first.json());
    assert.ok(schemas[name].safeParse(body.data).success);
    assert.deepEqual(body.data, REFERENCE_CONTENT[name](REQUEST));
    const etag = first.headers.get("ETag");
    assert.match(etag ?? "", /^"[0-9a-f]{32}"$/);
    assert.equal(etag, await contentEtag(body.data));
    assert.equal(second.headers.get("ETag"), etag, `${name}: ETag is stable`);
    assert.deepEqual(await second.json(), body);
  }
});

Deno.test("server: 304 with no body when If-None-Match matches", async () => {
  const agent = await agentFor("clo");
  const etag = (await call(agent, "clo")).headers.get("ETag")!;
  const revalidated = await call(agent, "clo", { headers: { "If-None-Match": etag } });
  assert.equal(revalidated.status, 304);
  assert.equal(revalidated.headers.get("ETag"), etag);
  assert.equal(await revalidated.text(), "");
  const changed = await call(agent, "clo", {
    headers: { "If-None-Match": etag },
    body: { ...REQUEST, day: 4 },
  });
  assert.equal(changed.status, 200);
  assert.notEqual(changed.headers.get("ETag"), etag);
  await changed.body?.cancel();
});

Deno.test("server: 401 without a token, with a bad one, or with a non-service role", async () => {
  const agent = await agentFor("ta");
  const wrongSecret = new TextEncoder().encode("another-secret-of-at-least-32-characters!!");
  const cases: [string, string | null][] = [
    ["missing", null],
    ["garbage", "not-a-jwt"],
    ["wrong secret", await tokenWith({ role: "service_role" }, wrongSecret)],
    ["authenticated", await tokenWith({ role: "authenticated", sub: REQUEST.user_id })],
    ["anon", await tokenWith({ role: "anon" })],
  ];
  for (const [label, token] of cases) {
    const response = await call(agent, "ta", { token });
    assert.equal(response.status, 401, label);
    const body = await response.json();
    assert.equal(body.ok, false);
    assert.equal(body.code, "UNAUTHORIZED");
    assert.equal(typeof body.error, "string");
  }
  const service = await call(agent, "ta", { token: await tokenWith({ role: "service_role" }) });
  assert.equal(service.status, 200);
  await service.body?.cancel();
});

Deno.test("server: 400 on a bad body, 405 on GET, 204 on OPTIONS", async () => {
  const agent = await agentFor("socratic");
  for (const body of ["{not json", { ...REQUEST, week: 0 }, { ...REQUEST, user_id: "x" }, []]) {
    const response = await call(agent, "socratic", { body });
    assert.equal(response.status, 400);
    const json = await response.json();
    assert.deepEqual([json.ok, json.code], [false, "INVALID_REQUEST"]);
  }
  const get = await call(agent, "socratic", { method: "GET" });
  assert.equal(get.status, 405);
  assert.equal((await get.json()).code, "METHOD_NOT_ALLOWED");
  const options = await call(agent, "socratic", { method: "OPTIONS", token: null });
  assert.equal(options.status, 204);
  assert.equal(options.headers.get("Access-Control-Allow-Origin"), "*");
});

Deno.test("server: fault header ignored when fault injection is off", async () => {
  const agent = await agentFor("alex", false);
  const response = await call(agent, "alex", {
    headers: { "X-Wisely-Fault": JSON.stringify({ status: 503, malformed: true }) },
  });
  assert.equal(response.status, 200);
  assert.ok(agentReplySchema("alex").safeParse(await response.json()).success);
});

Deno.test("server: fault status and Retry-After honoured when enabled", async () => {
  const agent = await agentFor("alex", true);
  const response = await call(agent, "alex", {
    headers: { "X-Wisely-Fault": JSON.stringify({ status: 503, retry_after: "1" }) },
  });
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("Retry-After"), "1");
  const body = await response.json();
  assert.deepEqual([body.ok, body.code], [false, "INJECTED_FAULT"]);
  // Auth still comes first.
  const anonymous = await call(agent, "alex", {
    token: null,
    headers: { "X-Wisely-Fault": JSON.stringify({ status: 503 }) },
  });
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
});

Deno.test("server: malformed faults give payloads that fail the protocol", async () => {
  const agent = await agentFor("clo", true);
  const schema = await call(agent, "clo", {
    headers: { "X-Wisely-Fault": JSON.stringify({ malformed: true }) },
  });
  assert.equal(schema.status, 200);
  assert.ok(!agentReplySchema("clo").safeParse(await schema.json()).success);
  const broken = await call(agent, "clo", {
    headers: { "X-Wisely-Fault": JSON.stringify({ malformed: "json" }) },
  });
  assert.equal(broken.status, 200);
  const text = await broken.text();
  assert.throws(() => JSON.parse(text));
});

Deno.test("server: latency fault delays, then answers normally", async () => {
  const agent = await agentFor("ta", true);
  const response = await call(agent, "ta", {
    headers: { "X-Wisely-Fault": JSON.stringify({ latency_ms: 20 }) },
  });
  assert.equal(response.status, 200);
  assert.ok(agentReplySchema("ta").safeParse(await response.json()).success);
});

Deno.test("server: a hang ends when the request's signal aborts", async () => {
  const agent = await agentFor("socratic", true);
  const controller = new AbortController();
  const pending = call(agent, "socratic", {
    headers: { "X-Wisely-Fault": JSON.stringify({ hang: true }) },
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 20);
  const response = await pending;
  assert.equal(response.status, 499);
  assert.equal((await response.json()).code, "CLIENT_CLOSED_REQUEST");
  // A long latency ends the same way.
  const second = new AbortController();
  const slow = call(agent, "socratic", {
    headers: { "X-Wisely-Fault": JSON.stringify({ latency_ms: 600_000 }) },
    signal: second.signal,
  });
  setTimeout(() => second.abort(), 20);
  assert.equal((await slow).status, 499);
});

Deno.test("server: an invalid fault header is a 400 when faults are enabled", async () => {
  const agent = await agentFor("clo", true);
  for (const header of ["{nope", JSON.stringify({ status: 42 }), JSON.stringify({ typo: 1 })]) {
    const response = await call(agent, "clo", { headers: { "X-Wisely-Fault": header } });
    assert.equal(response.status, 400, header);
    assert.equal((await response.json()).code, "INVALID_REQUEST");
  }
});

Deno.test("server: a custom fault plan composes with the header", async () => {
  const queue: Fault[] = [{ status: 500 }];
  const plan = firstFault(headerFaultPlan, { next: () => queue.shift() ?? null });
  const { faulty } = await configs();
  const agent = createReferenceAgent("clo", { config: faulty, faults: plan });
  assert.equal((await call(agent, "clo")).status, 500);
  const after = await call(agent, "clo");
  assert.equal(after.status, 200, "the queued fault was consumed");
  await after.body?.cancel();
  const header = await call(agent, "clo", {
    headers: { "X-Wisely-Fault": JSON.stringify({ status: 429 }) },
  });
  assert.equal(header.status, 429);
  await header.body?.cancel();
});

Deno.test("server: with no credential to verify against, every request is refused", async () => {
  const { plain } = await configs();
  const log = console.log;
  const lines: string[] = [];
  console.log = (line: string) => lines.push(line);
  try {
    const agent = createReferenceAgent("ta", {
      config: { ...plain, jwtSecret: null, secretKeys: [], supabaseUrl: null, jwks: null },
    });
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0]).event, "agent.auth_disabled");
    const response = await call(agent, "ta");
    assert.equal(response.status, 401);
    await response.body?.cancel();
  } finally {
    console.log = log;
  }
});

Deno.test("server: a secret key in apikey or as the bearer, without JWT_SECRET", async () => {
  const { plain } = await configs();
  const secretKey = "sb_secret_ReferenceAgentTestKey_0123456789";
  const agent = createReferenceAgent("clo", {
    config: {
      ...plain,
      jwtSecret: null,
      secretKeys: [secretKey],
      publishableKeys: ["sb_publishable_ReferenceAgentTestKey_01"],
    },
  });
  const accepted: [string, Record<string, string>, string | null][] = [
    ["apikey and bearer", { apikey: secretKey }, secretKey],
    ["apikey only", { apikey: secretKey }, null],
    ["bearer only", {}, secretKey],
  ];
  for (const [label, headers, token] of accepted) {
    const response = await call(agent, "clo", { headers, token });
    assert.equal(response.status, 200, label);
    await response.body?.cancel();
  }
  const refused: [string, Record<string, string>, string | null][] = [
    ["a wrong secret key", { apikey: `${secretKey}x` }, null],
    ["the publishable key", { apikey: "sb_publishable_ReferenceAgentTestKey_01" }, null],
    ["an HS256 service JWT without JWT_SECRET", {}, await tokenWith({ role: "service_role" })],
  ];
  for (const [label, headers, token] of refused) {
    const response = await call(agent, "clo", { headers, token });
    assert.equal(response.status, 401, label);
    assert.equal((await response.json()).code, "UNAUTHORIZED", label);
  }
});

// ---------------------------------------------------------------------------------------------
// Scripted fault plan and its control endpoint

Deno.test("fault plan: steps for the next N calls, then always, then nothing", () => {
  const plan = createScriptedFaultPlan();
  assert.equal(plan.next(), null, "empty plan: no fault");
  plan.set([
    { fault: { status: 500 }, count: 2 },
    { fault: { status: 429, retry_after: 1 } },
    { fault: { latency_ms: 200 }, count: "always" },
    { fault: { status: 418 }, count: 1 },
  ]);
  assert.deepEqual(plan.state().steps[1], { fault: { status: 429, retry_after: 1 }, count: 1 });
  assert.deepEqual(plan.next(), { status: 500 });
  assert.deepEqual(plan.state().steps[0], { fault: { status: 500 }, count: 1 });
  assert.deepEqual(plan.next(), { status: 500 });
  assert.deepEqual(plan.next(), { status: 429, retry_after: 1 }, "count defaults to 1");
  for (let i = 0; i < 5; i++) assert.deepEqual(plan.next(), { latency_ms: 200 });
  assert.deepEqual(plan.state().steps, [
    { fault: { latency_ms: 200 }, count: "always" },
    { fault: { status: 418 }, count: 1 },
  ], "steps after an always step are never reached");
  // A returned fault is a copy: changing it does not change the plan.
  const fault = plan.next()!;
  fault.latency_ms = 1;
  assert.deepEqual(plan.next(), { latency_ms: 200 });
  plan.clear();
  assert.equal(plan.next(), null);
  assert.deepEqual(plan.state(), { steps: [], calls: 0 });
});

Deno.test("fault plan: calls count, set and clear reset them, invalid steps change nothing", () => {
  const plan = createScriptedFaultPlan();
  plan.recordCall();
  plan.recordCall();
  assert.equal(plan.calls, 2);
  plan.set([{ fault: { status: 503 }, count: 3 }]);
  assert.equal(plan.calls, 0, "set resets the counter");
  plan.recordCall();
  assert.deepEqual(plan.state(), { steps: [{ fault: { status: 503 }, count: 3 }], calls: 1 });
  for (
    const bad of [
      [{ fault: { status: 42 }, count: 1 }],
      [{ fault: { status: 500 }, count: 0 }],
      [{ fault: { status: 500 }, count: "forever" }],
      [{ fault: { typo: true }, count: 1 }],
      [{ fault: { status: 500 }, count: 1, extra: 1 }],
      Array.from({ length: MAX_STEPS + 1 }, () => ({ fault: { status: 500 }, count: 1 })),
    ]
  ) {
    // deno-lint-ignore no-explicit-any
    assert.throws(() => plan.set(bad as any), JSON.stringify(bad).slice(0, 80));
  }
  assert.deepEqual(plan.state(), { steps: [{ fault: { status: 503 }, count: 3 }], calls: 1 });
  plan.clear();
  assert.equal(plan.calls, 0);
});

async function control(
  agent: ReferenceAgent,
  name: AgentName,
  method: "GET" | "PUT" | "DELETE" | "POST",
  options: { body?: unknown; token?: string | null } = {},
) {
  const { plain } = await configs();
  const token = options.token === undefined ? plain.edgeServiceKey : options.token;
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return await agent.fetch(
    new Request(`${URL_BASE}/agent-${name}/_faults`, {
      method,
      headers,
      body: options.body === undefined
        ? undefined
        : typeof options.body === "string"
        ? options.body
        : JSON.stringify(options.body),
    }),
  );
}

Deno.test("control: PUT queues faults the next calls obey; GET shows steps and calls", async () => {
  const agent = await agentFor("ta", true);
  const put = await control(agent, "ta", "PUT", {
    body: {
      steps: [
        { fault: { status: 500 }, count: 2 },
        { fault: { status: 503, retry_after: "Wed, 21 Oct 2037 07:28:00 GMT" }, count: 1 },
        { fault: { malformed: "json" }, count: 1 },
        { fault: { malformed: "schema" }, count: 1 },
      ],
    },
  });
  assert.equal(put.status, 200);
  assert.deepEqual(await put.json(), {
    steps: [
      { fault: { status: 500 }, count: 2 },
      { fault: { status: 503, retry_after: "Wed, 21 Oct 2037 07:28:00 GMT" }, count: 1 },
      { fault: { malformed: "json" }, count: 1 },
      { fault: { malformed: "schema" }, count: 1 },
    ],
    calls: 0,
  });

  for (const expected of [500, 500]) {
    const response = await call(agent, "ta");
    assert.equal(response.status, expected);
    assert.deepEqual((await response.json()).code, "INJECTED_FAULT");
  }
  const unavailable = await call(agent, "ta");
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.headers.get("Retry-After"), "Wed, 21 Oct 2037 07:28:00 GMT");
  await unavailable.body?.cancel();
  const notJson = await call(agent, "ta");
  assert.equal(notJson.status, 200);
  const notJsonText = await notJson.text();
  assert.throws(() => JSON.parse(notJsonText));
  const badSchema = await call(agent, "ta");
  assert.equal(badSchema.status, 200);
  assert.ok(!agentReplySchema("ta").safeParse(await badSchema.json()).success);

  const midway = await control(agent, "ta", "GET");
  assert.equal(midway.status, 200);
  assert.deepEqual(await midway.json(), { steps: [], calls: 5 });
  const healthy = await call(agent, "ta");
  assert.equal(healthy.status, 200, "the plan ran out: the agent is healthy again");
  assert.ok(agentReplySchema("ta").safeParse(await healthy.json()).success);
  assert.equal(agent.faults.calls, 6);
});

Deno.test("control: always, DELETE clears and resets the counter", async () => {
  const agent = await agentFor("clo", true);
  await (await control(agent, "clo", "PUT", {
    body: { steps: [{ fault: { status: 502 }, count: "always" }] },
  })).body?.cancel();
  for (let i = 0; i < 3; i++) {
    const response = await call(agent, "clo");
    assert.equal(response.status, 502);
    await response.body?.cancel();
  }
  assert.deepEqual(await (await control(agent, "clo", "GET")).json(), {
    steps: [{ fault: { status: 502 }, count: "always" }],
    calls: 3,
  });
  const cleared = await control(agent, "clo", "DELETE");
  assert.equal(cleared.status, 200);
  assert.deepEqual(await cleared.json(), { steps: [], calls: 0 });
  const response = await call(agent, "clo");
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.deepEqual(await (await control(agent, "clo", "GET")).json(), { steps: [], calls: 1 });
  // PUT also resets the counter.
  const replaced = await control(agent, "clo", "PUT", { body: { steps: [] } });
  assert.deepEqual(await replaced.json(), { steps: [], calls: 0 });
});

Deno.test("control: every attempt is counted, faulted, hung or refused by body", async () => {
  const agent = await agentFor("socratic", true);
  await (await control(agent, "socratic", "PUT", {
    body: { steps: [{ fault: { hang: true }, count: 1 }, { fault: { latency_ms: 10 } }] },
  })).body?.cancel();
  const aborter = new AbortController();
  const hung = call(agent, "socratic", { signal: aborter.signal });
  setTimeout(() => aborter.abort(), 20);
  assert.equal((await hung).status, 499, "the hang lasts until the client goes away");
  const slow = await call(agent, "socratic");
  assert.equal(slow.status, 200);
  await slow.body?.cancel();
  const badBody = await call(agent, "socratic", { body: "{nope" });
  assert.equal(badBody.status, 400);
  await badBody.body?.cancel();
  // Not counted: refused before authentication, or not a protocol call.
  const anonymous = await call(agent, "socratic", { token: null });
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  await (await call(agent, "socratic", { method: "GET" })).body?.cancel();
  assert.equal((await (await control(agent, "socratic", "GET")).json()).calls, 3);
});

Deno.test("control: the header fault wins and leaves the scripted step queued", async () => {
  const agent = await agentFor("alex", true);
  agent.faults.set([{ fault: { status: 500 }, count: 1 }]);
  const header = await call(agent, "alex", {
    headers: { "X-Wisely-Fault": JSON.stringify({ status: 429, retry_after: 2 }) },
  });
  assert.equal(header.status, 429);
  assert.equal(header.headers.get("Retry-After"), "2");
  await header.body?.cancel();
  const scripted = await call(agent, "alex");
  assert.equal(scripted.status, 500);
  await scripted.body?.cancel();
  assert.deepEqual(agent.faults.state(), { steps: [], calls: 2 });
});

Deno.test("control: service role only; invalid plans are 400 and change nothing", async () => {
  const agent = await agentFor("ta", true);
  agent.faults.set([{ fault: { status: 500 }, count: 4 }]);
  for (const token of [null, await tokenWith({ role: "authenticated", sub: REQUEST.user_id })]) {
    for (const method of ["GET", "PUT", "DELETE"] as const) {
      const response = await control(agent, "ta", method, {
        token,
        body: method === "PUT" ? { steps: [] } : undefined,
      });
      assert.equal(
        response.status,
        401,
        `${method} with ${token === null ? "no" : "a user"} token`,
      );
      assert.equal((await response.json()).code, "UNAUTHORIZED");
    }
  }
  for (
    const body of [
      "{nope",
      [],
      {},
      { steps: [{ fault: { status: 99 }, count: 1 }] },
      { steps: [{ fault: { status: 500 }, count: -1 }] },
      { steps: [{ fault: { status: 500 }, count: 1.5 }] },
      { steps: [{ fault: { hang: "yes" } }] },
      { steps: [], extra: true },
    ]
  ) {
    const response = await control(agent, "ta", "PUT", { body });
    assert.equal(response.status, 400, JSON.stringify(body));
    const json = await response.json();
    assert.deepEqual([json.ok, json.code], [false, "INVALID_REQUEST"]);
  }
  const post = await control(agent, "ta", "POST", { body: { steps: [] } });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("Allow"), "GET, PUT, DELETE, OPTIONS");
  await post.body?.cancel();
  assert.deepEqual(agent.faults.state(), {
    steps: [{ fault: { status: 500 }, count: 4 }],
    calls: 0,
  });
});

Deno.test("control: off means 404 and header ignored", async () => {
  const agent = await agentFor("clo", false);
  for (const method of ["GET", "PUT", "DELETE", "POST"] as const) {
    const response = await control(agent, "clo", method, {
      body: method === "PUT" || method === "POST"
        ? { steps: [{ fault: { status: 500 }, count: "always" }] }
        : undefined,
    });
    assert.equal(response.status, 404, method);
    assert.equal((await response.json()).code, "NOT_FOUND");
  }
  const anonymous = await control(agent, "clo", "GET", { token: null });
  assert.equal(anonymous.status, 404, "not even a 401 hints that the endpoint exists");
  await anonymous.body?.cancel();
  // Neither the header nor a scripted plan (set in process) has any effect.
  agent.faults.set([{ fault: { status: 500 }, count: "always" }]);
  const response = await call(agent, "clo", {
    headers: { "X-Wisely-Fault": JSON.stringify({ status: 503, hang: true }) },
  });
  assert.equal(response.status, 200);
  assert.ok(agentReplySchema("clo").safeParse(await response.json()).success);
  assert.deepEqual(agent.faults.state().steps, [{ fault: { status: 500 }, count: "always" }]);
});
