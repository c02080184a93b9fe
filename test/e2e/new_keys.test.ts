/**
 * A project with only the new API keys (issue 8, item 1), as a hosted function sees it: no
 * `JWT_SECRET`, no legacy anon/service_role keys, user tokens verified with `SUPABASE_JWKS`
 * only (the local Auth's ES256 keys), and `SUPABASE_SECRET_KEYS` / `SUPABASE_PUBLISHABLE_KEYS`
 * as JSON dictionaries of keys that are not the CLI's well-known ones. `JWT_SECRET: ""` is how
 * the local stack is told "unset, and no local default" (`StackOptions.env`).
 *
 * Users signed up through the local Auth with supabase-js use every user route; the service
 * principal (a secret key, as supabase-js sends it and as a bare `apikey` header) ticks, reads
 * metrics and acts for a user; the orchestrator's calls to the reference agents carry a secret
 * key and are answered; wrong keys, publishable keys and HS256 tokens are refused.
 */
import assert from "node:assert/strict";
import { createClient, FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import { decodeProtectedHeader } from "jose";
import { mintServiceJwt, mintUserJwt } from "../../dev/jwt.ts";
import { LOCAL_SECRET_KEY } from "../../dev/keys.ts";
import { AGENT_NAMES } from "../../supabase/functions/_shared/agents/protocol.ts";
import { LOCAL_JWT_SECRET } from "../../supabase/functions/_shared/config.ts";
import {
  DayDoneResponse,
  DayRunResponse,
  DayTickResponse,
  IntentResponse,
  MetricsResponse,
  SessionsResponse,
  StatusResponse,
} from "../../supabase/functions/_shared/responses.ts";
import { setSetting } from "../support/faults.ts";
import { startTestStack, testBackends, type TestStack } from "../support/stack.ts";
import { closeClient } from "../support/supabase_clients.ts";

/** A key shaped like Supabase's, random per run: never one a default could match. */
const newKey = (kind: "secret" | "publishable") =>
  `sb_${kind}_${crypto.randomUUID().replaceAll("-", "").slice(0, 22)}_${
    crypto.randomUUID().slice(0, 8)
  }`;
const SECRET = newKey("secret");
/** A second named secret key: every key in the dictionary is a service key. */
const CI_SECRET = newKey("secret");
const PUBLISHABLE = newKey("publishable");
const NEW_KEY_ENV = {
  JWT_SECRET: "",
  SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET, ci: CI_SECRET }),
  SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: PUBLISHABLE }),
};

const CLIENT_OPTIONS = { auth: { persistSession: false, autoRefreshToken: false } } as const;
const INTENT = {
  topic: "Distributed systems",
  depth: "informed",
  end_goal: "Design a replicated log",
  time_per_day_min: 45,
  user_tz: "Europe/Paris",
};

type Invoked = { status: number; data: unknown; error: string | null };

/** `functions.invoke`, with the status and error text of a non-2xx answer. */
async function invoke(
  client: SupabaseClient,
  route: string,
  options: {
    method?: "GET" | "POST";
    body?: Record<string, unknown>;
    headers?: Record<string, string>;
  } = {},
): Promise<Invoked> {
  const result = await client.functions.invoke(`orchestrator/${route}`, {
    method: options.method,
    body: options.body,
    headers: options.headers,
  });
  if (result.error instanceof FunctionsHttpError) {
    const response: Response = result.error.context;
    return { status: response.status, data: null, error: await response.text() };
  }
  if (result.error) return { status: 0, data: null, error: String(result.error) };
  return { status: result.response?.status ?? 0, data: result.data, error: null };
}

/** A raw request to the orchestrator with exactly `headers`, as curl would send it. */
async function raw(
  stack: TestStack,
  route: string,
  headers: Record<string, string>,
  body?: unknown,
) {
  const response = await fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function assertAllAgentsAnswered(plan: ReturnType<typeof DayRunResponse.parse>, label: string) {
  assert.equal(plan.degraded_mode, false, `${label}: ${JSON.stringify(plan.signal_quality)}`);
  for (const agent of AGENT_NAMES) {
    const quality = plan.signal_quality[agent];
    assert.ok(quality, `${label}: ${agent} is in signal_quality`);
    assert.equal(quality.available, true, `${label}: ${agent} available`);
    assert.equal(quality.source, "network", `${label}: ${agent} was called`);
    assert.ok((quality.attempts ?? 0) >= 1, `${label}: ${agent} attempts ≥ 1`);
  }
}

async function signUp(stack: TestStack, clients: SupabaseClient[]) {
  const client = createClient(stack.url, PUBLISHABLE, CLIENT_OPTIONS);
  clients.push(client);
  const email = `learner-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const { data, error } = await client.auth.signUp({ email, password: "correct horse 42" });
  assert.equal(error, null);
  assert.ok(data.session && data.user);
  assert.equal(decodeProtectedHeader(data.session.access_token).alg, "ES256");
  return { client, id: data.user.id };
}

async function learnerRoutes(t: Deno.TestContext, stack: TestStack, clients: SupabaseClient[]) {
  const learner = await signUp(stack, clients);
  let sessionId = "";
  await t.step("a learner uses every user route with an ES256 token", async () => {
    const intent = await invoke(learner.client, "intent.sync", { body: INTENT });
    assert.equal(intent.status, 201, intent.error ?? "");
    assert.equal(IntentResponse.parse(intent.data).topic, INTENT.topic);

    const run = await invoke(learner.client, "day.run", { body: { week: 1, day: 1 } });
    assert.equal(run.status, 201, run.error ?? "");
    const plan = DayRunResponse.parse(run.data);
    assertAllAgentsAnswered(plan, "learner day.run");
    sessionId = plan.session_id;

    const done = await invoke(learner.client, "day.done", {
      body: { session_id: sessionId, completion_time_min: 40, confidence: 8 },
      headers: { "Idempotency-Key": `done-${sessionId}` },
    });
    assert.equal(done.status, 200, done.error ?? "");
    assert.equal(DayDoneResponse.parse(done.data).completion_summary.session_id, sessionId);

    const status = await invoke(learner.client, "status", { method: "GET" });
    assert.equal(status.status, 200, status.error ?? "");
    const parsed = StatusResponse.parse(status.data);
    assert.equal(parsed.user_id, learner.id);
    assert.equal(parsed.latest_session?.id, sessionId);

    const sessions = await invoke(learner.client, "sessions?limit=5", { method: "GET" });
    assert.equal(sessions.status, 200, sessions.error ?? "");
    assert.deepEqual(
      SessionsResponse.parse(sessions.data).sessions.map((s) => s.session_id),
      [sessionId],
    );
  });
  return learner;
}

async function servicePrincipal(
  t: Deno.TestContext,
  stack: TestStack,
  clients: SupabaseClient[],
  learnerId: string,
) {
  const server = createClient(stack.url, SECRET, CLIENT_OPTIONS);
  clients.push(server);
  await t.step("supabase-js with the secret key: day.tick, metrics, a user's routes", async () => {
    const tick = await invoke(server, "day.tick", { body: {} });
    assert.equal(tick.status, 200, tick.error ?? "");
    DayTickResponse.parse(tick.data);

    const metrics = await invoke(server, "metrics?window=3600", { method: "GET" });
    assert.equal(metrics.status, 200, metrics.error ?? "");
    const agents = MetricsResponse.parse(metrics.data).agents;
    for (const agent of AGENT_NAMES) {
      const row = agents.find((a) => a.agent === agent);
      assert.ok(row && row.calls >= 1 && (row.outcomes.fetched ?? 0) >= 1, agent);
    }

    const asUser = { "X-User-ID": learnerId };
    const status = await invoke(server, "status", { method: "GET", headers: asUser });
    assert.equal(status.status, 200, status.error ?? "");
    assert.equal(StatusResponse.parse(status.data).user_id, learnerId);
    const run = await invoke(server, "day.run", { body: { week: 1, day: 2 }, headers: asUser });
    assert.equal(run.status, 201, run.error ?? "");
    assert.equal(DayRunResponse.parse(run.data).degraded_mode, false);

    // A learner the service principal sets up alone: its first day.run calls every agent.
    const other = await signUp(stack, clients);
    const forOther = { "X-User-ID": other.id };
    const intent = await invoke(server, "intent.sync", { body: INTENT, headers: forOther });
    assert.equal(intent.status, 201, intent.error ?? "");
    const first = await invoke(server, "day.run", { body: { week: 1, day: 1 }, headers: forOther });
    assert.equal(first.status, 201, first.error ?? "");
    const plan = DayRunResponse.parse(first.data);
    assertAllAgentsAnswered(plan, "service day.run");
    const seen = await invoke(other.client, "status", { method: "GET" });
    assert.equal(StatusResponse.parse(seen.data).latest_session?.id, plan.session_id);

    const unnamed = await invoke(server, "status", { method: "GET" });
    assert.equal(unnamed.status, 400, "the service principal must name the user");
  });

  await t.step("a bare `apikey` header with any configured secret key", async () => {
    for (const key of [SECRET, CI_SECRET]) {
      const metrics = await raw(stack, "metrics", { apikey: key });
      assert.equal(metrics.status, 200, JSON.stringify(metrics.body));
      const tick = await raw(stack, "day.tick", { apikey: key }, {});
      assert.equal(tick.status, 200, JSON.stringify(tick.body));
      const status = await raw(stack, "status", { apikey: key, "x-user-id": learnerId });
      assert.equal(status.status, 200, JSON.stringify(status.body));
      assert.equal(status.body.user_id, learnerId);
    }
  });
}

async function refusals(
  t: Deno.TestContext,
  stack: TestStack,
  clients: SupabaseClient[],
  learner: { client: SupabaseClient; id: string },
) {
  const anonymous = createClient(stack.url, PUBLISHABLE, CLIENT_OPTIONS);
  clients.push(anonymous);
  await t.step("service routes refuse wrong keys, publishable keys and users", async () => {
    const wrong = newKey("secret");
    const cases: [string, Record<string, string>, number][] = [
      ["a wrong secret key in apikey", { apikey: wrong }, 401],
      ["a wrong secret key as the bearer", { authorization: `Bearer ${wrong}` }, 401],
      ["the CLI's local secret key", { apikey: LOCAL_SECRET_KEY }, 401],
      ["the publishable key alone", { apikey: PUBLISHABLE }, 401],
      ["publishable in both headers", {
        apikey: PUBLISHABLE,
        authorization: `Bearer ${PUBLISHABLE}`,
      }, 401],
      ["a user's wrong key next to a publishable bearer", {
        apikey: wrong,
        authorization: `Bearer ${PUBLISHABLE}`,
      }, 401],
      ["nothing at all", {}, 401],
    ];
    for (const route of ["day.tick", "metrics"]) {
      for (const [label, headers, status] of cases) {
        const answer = await raw(stack, route, headers, route === "day.tick" ? {} : undefined);
        assert.equal(answer.status, status, `${route}, ${label}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.code, "UNAUTHORIZED", `${route}, ${label}`);
      }
      const signedOut = await invoke(
        anonymous,
        route,
        route === "day.tick" ? { body: {} } : {
          method: "GET",
        },
      );
      assert.equal(signedOut.status, 401, `${route} from a signed-out supabase-js client`);
      const asLearner = await invoke(
        learner.client,
        route,
        route === "day.tick" ? { body: {} } : {
          method: "GET",
        },
      );
      assert.equal(asLearner.status, 403, `${route} as a learner`);
    }
    const publishableOnUserRoute = await raw(stack, "status", {
      apikey: PUBLISHABLE,
      "x-user-id": learner.id,
    });
    assert.equal(publishableOnUserRoute.status, 401);
    assert.match(publishableOnUserRoute.body.error, /publishable key alone/);
  });

  await t.step("HS256 tokens are refused with a clear 401 without JWT_SECRET", async () => {
    const secret = new TextEncoder().encode(LOCAL_JWT_SECRET);
    const tokens: [string, string, string][] = [
      ["metrics", await mintServiceJwt(secret), "a legacy service_role JWT"],
      ["status", await mintUserJwt({ secret, userId: learner.id }), "a legacy user JWT"],
    ];
    for (const [route, token, label] of tokens) {
      const answer = await raw(stack, route, { authorization: `Bearer ${token}` });
      assert.equal(answer.status, 401, label);
      assert.deepEqual(answer.body, {
        error: "This deployment does not accept HS256 tokens.",
        code: "UNAUTHORIZED",
      });
    }
  });

  await t.step("the reference agents take the secret key and refuse the rest", async () => {
    const agent = (headers: Record<string, string>) =>
      fetch(`${stack.functionsUrl}/agent-clo`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: "{}",
      });
    // Past authentication an empty body is a 400: the credential was accepted.
    const accepted = await agent({ apikey: SECRET, authorization: `Bearer ${SECRET}` });
    assert.equal(accepted.status, 400);
    await accepted.body?.cancel();
    const refusedHeaders: Record<string, string>[] = [
      { apikey: PUBLISHABLE },
      { apikey: newKey("secret") },
      {},
    ];
    for (const headers of refusedHeaders) {
      const refused = await agent(headers);
      assert.equal(refused.status, 401, JSON.stringify(headers));
      assert.equal((await refused.json()).code, "UNAUTHORIZED");
    }
  });
}

for (const backend of testBackends()) {
  Deno.test(`[${backend}] a new-key project: users, the service principal, agents`, async (t) => {
    const stack = await startTestStack(backend, { env: NEW_KEY_ENV });
    const clients: SupabaseClient[] = [];
    try {
      assert.equal(stack.config.jwtSecret, null);
      assert.equal(stack.config.legacyServiceRoleKey, null);
      assert.ok(stack.config.jwks, "user tokens verify against SUPABASE_JWKS");
      assert.equal(stack.config.edgeServiceKey, SECRET, "agents get the default secret key");
      // Every tick is awaited whole (200), however slow a loaded machine makes it.
      await setSetting(stack, "tick.answer_within_ms", 60_000);
      const learner = await learnerRoutes(t, stack, clients);
      await servicePrincipal(t, stack, clients, learner.id);
      await refusals(t, stack, clients, learner);
    } finally {
      await Promise.all(clients.map(closeClient));
      await stack.stop();
    }
  });
}
