/**
 * The SDK (`sdk/`) against the served stack, as a browser would use it: a supabase-js client
 * with the publishable key and a signed-up learner. Every method, every answer checked against
 * the functions' own zod schemas (the SDK's types come from the same ones), the SSE iterator,
 * the events helper (own events only), and the API's failures as `OrchestratorError`s. On PGlite
 * and on Postgres.
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { z } from "zod";
import { LOCAL_PUBLISHABLE_KEY } from "../../dev/keys.ts";
import { AGENT_NAMES } from "../../supabase/functions/_shared/agents/protocol.ts";
import {
  DayRunAgentEvent,
  EVENT_TYPES,
  EventPayloadSchemas,
  LearnerEvent as LearnerEventSchema,
} from "../../supabase/functions/_shared/event_schemas.ts";
import * as responses from "../../supabase/functions/_shared/responses.ts";
import { LearningOrchestrator, OrchestratorError } from "../../sdk/mod.mjs";
import type { DayRunProgress, LearnerEvent } from "../../sdk/types.ts";
import { startTestStack, testBackends, type TestStack } from "../support/stack.ts";
import { closeClient, frontendClient } from "../support/supabase_clients.ts";

const INTENT = {
  topic: "Rust ownership",
  depth: "informed",
  end_goal: "Write a safe CLI tool",
  time_per_day_min: 30,
  user_tz: "Europe/Berlin",
} as const;

/** Generous: an event normally arrives within tens of milliseconds of its commit. */
const EVENT_WAIT_MS = 5_000;

/** The learner's events as the SDK delivers them, with a wait for the next ones. */
class Events {
  readonly seen: LearnerEvent[] = [];
  #waiters: {
    match: (e: LearnerEvent) => boolean;
    resolve: (e: LearnerEvent) => void;
  }[] = [];

  push = (event: LearnerEvent) => {
    this.seen.push(event);
    this.#waiters = this.#waiters.filter((w) => !(w.match(event) && (w.resolve(event), true)));
  };

  waitFor(
    match: (e: LearnerEvent) => boolean,
    what: string,
  ): Promise<LearnerEvent> {
    const seen = this.seen.find(match);
    if (seen) return Promise.resolve(seen);
    const { promise, resolve, reject } = Promise.withResolvers<LearnerEvent>();
    const waiter = { match, resolve };
    this.#waiters.push(waiter);
    const timer = setTimeout(() => {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      reject(new Error(`no ${what} within ${EVENT_WAIT_MS} ms`));
    }, EVENT_WAIT_MS);
    return promise.finally(() => clearTimeout(timer));
  }
}

interface Learner {
  client: SupabaseClient;
  sdk: LearningOrchestrator;
  id: string;
  events: Events;
  unsubscribe: () => Promise<void>;
}

async function signUp(stack: TestStack, name: string): Promise<Learner> {
  const client = frontendClient(stack);
  const email = `${name}-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const { data, error } = await client.auth.signUp({
    email,
    password: "correct horse 42",
  });
  assert.equal(error, null);
  const sdk = new LearningOrchestrator(client);
  const events = new Events();
  const subscription = await sdk.subscribe({ onEvent: events.push });
  assert.equal(subscription.topic, `wisely.events:${data.user!.id}`);
  return {
    client,
    sdk,
    id: data.user!.id,
    events,
    unsubscribe: subscription.unsubscribe,
  };
}

/** Parses with the functions' schema: the real answer fits the type the SDK gives it. */
function conforms<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  assert.ok(
    parsed.success,
    `does not fit its schema: ${JSON.stringify(parsed.error?.issues)}`,
  );
  return parsed.data;
}

async function rejectsWith(
  call: Promise<unknown>,
  expected: { status: number; code: string },
): Promise<OrchestratorError> {
  try {
    await call;
  } catch (error) {
    assert.ok(
      error instanceof OrchestratorError,
      `not an OrchestratorError: ${error}`,
    );
    assert.equal(error.code, expected.code, error.message);
    assert.equal(error.status, expected.status);
    assert.match(error.message, /^[A-Z].*\.$/, "a sentence");
    return error;
  }
  assert.fail(`expected ${expected.code}`);
}

async function collect(
  progress: AsyncIterable<DayRunProgress>,
): Promise<DayRunProgress[]> {
  const seen: DayRunProgress[] = [];
  for await (const item of progress) seen.push(item);
  return seen;
}

async function flow(
  t: Deno.TestContext,
  stack: TestStack,
  ada: Learner,
  bob: Learner,
) {
  await t.step("health and an empty status", async () => {
    conforms(responses.HealthResponse, await ada.sdk.health());
    const status = conforms(
      responses.StatusResponse,
      await ada.sdk.getStatus(),
    );
    assert.equal(status.user_id, ada.id);
    assert.equal(status.active_intent, null);
  });

  await t.step(
    "no intent yet: 409 NO_ACTIVE_INTENT, from both day.run forms",
    async () => {
      await rejectsWith(ada.sdk.generateDayPlan(1, 1), {
        status: 409,
        code: "NO_ACTIVE_INTENT",
      });
      await rejectsWith(collect(ada.sdk.runDay(1, 1)), {
        status: 409,
        code: "NO_ACTIVE_INTENT",
      });
    },
  );

  let intentId = "";
  await t.step("createIntent, and its intent_synced event", async () => {
    const intent = conforms(
      responses.IntentResponse,
      await ada.sdk.createIntent(INTENT),
    );
    assert.equal(intent.topic, INTENT.topic);
    intentId = intent.intent_id;
    const event = await ada.events.waitFor(
      (e) => e.type === "intent_synced",
      "intent_synced",
    );
    const parsed = conforms(LearnerEventSchema, event);
    assert.deepEqual(parsed, {
      ...event,
      intent_id: intentId,
      created: true,
      user_id: ada.id,
    });
  });

  let sessionId = "";
  await t.step(
    "runDay streams each agent as it settles, then the plan",
    async () => {
      const progress = await collect(ada.sdk.runDay(1, 1));
      const agents = progress.filter((p) => p.type === "agent");
      assert.deepEqual(
        agents.map((p) => p.data.agent).sort(),
        [...AGENT_NAMES].sort(),
      );
      for (const agent of agents) conforms(DayRunAgentEvent, agent.data);
      assert.deepEqual(progress.map((p) => p.type), [
        "agent",
        "agent",
        "agent",
        "agent",
        "plan",
      ]);
      const plan = conforms(responses.DayRunResponse, progress[4].data);
      assert.match(plan.plan_md, /^# Daily Learning Plan — Week 1, Day 1/);
      sessionId = plan.session_id;
      const event = await ada.events.waitFor(
        (e) => e.type === "instructor_plan_created" && e.session_id === sessionId,
        "instructor_plan_created",
      );
      conforms(LearnerEventSchema, event);
    },
  );

  await t.step(
    "the stored plan: generateDayPlan and runDay return it as is",
    async () => {
      const plan = conforms(
        responses.DayRunResponse,
        await ada.sdk.generateDayPlan(1, 1),
      );
      assert.equal(plan.session_id, sessionId);
      const again = await collect(ada.sdk.runDay(1, 1));
      assert.deepEqual(
        again.map((p) => p.type),
        ["plan"],
        "no agent is asked again",
      );
      assert.equal(
        again[0].type === "plan" && again[0].data.session_id,
        sessionId,
      );
    },
  );

  await t.step(
    "completeDay, its event, and the streak in getStatus",
    async () => {
      const done = conforms(
        responses.DayDoneResponse,
        await ada.sdk.completeDay(sessionId, {
          completion_time_min: 25,
          confidence: 8,
        }),
      );
      assert.equal(done.completion_summary.session_id, sessionId);
      const event = await ada.events.waitFor(
        (e) => e.type === "day_completed",
        "day_completed",
      );
      const parsed = conforms(LearnerEventSchema, event);
      assert.equal(parsed.type === "day_completed" && parsed.next_day, 2);
      const status = conforms(
        responses.StatusResponse,
        await ada.sdk.getStatus(),
      );
      assert.equal(status.learning_stats.completed_sessions, 1);
      assert.equal(status.learning_stats.current_streak_days, 1);
      assert.deepEqual(
        {
          week: status.next_scheduled_run?.week,
          day: status.next_scheduled_run?.day,
        },
        { week: 1, day: 2 },
      );
    },
  );

  await t.step(
    "sessions: pages, the iterator over all of them, CSV",
    async () => {
      await ada.sdk.generateDayPlan(1, 2);
      const first = conforms(
        responses.SessionsResponse,
        await ada.sdk.listSessions({ limit: 1 }),
      );
      assert.equal(first.sessions.length, 1);
      assert.equal(first.sessions[0].day, 2, "newest first");
      assert.ok(first.next_cursor);
      const second = await ada.sdk.listSessions({
        limit: 1,
        cursor: first.next_cursor,
      });
      assert.equal(second.sessions[0].session_id, sessionId);
      const all = [];
      for await (const session of ada.sdk.sessions({ limit: 1 })) {
        all.push(
          session,
        );
      }
      assert.deepEqual(all.map((s) => [s.week, s.day]), [[1, 2], [1, 1]]);
      assert.equal(all[1].completion?.confidence, 8);
      const page = await ada.sdk.sessionsCsv({ limit: 1 });
      assert.equal(
        page.csv.trim().split("\r\n").length,
        2,
        "a header and one row",
      );
      assert.ok(page.nextCursor);
      const rest = await ada.sdk.sessionsCsv({ cursor: page.nextCursor });
      assert.ok(rest.csv.includes(sessionId));
      assert.equal(rest.nextCursor, null);
    },
  );

  await t.step(
    "the API's failures as OrchestratorError: status, code, details",
    async () => {
      const invalid = await rejectsWith(
        ada.sdk.createIntent({ ...INTENT, topic: "   ", time_per_day_min: 2 }),
        { status: 400, code: "INVALID_REQUEST" },
      );
      assert.deepEqual(invalid.details.map((d) => d.path).sort(), [[
        "time_per_day_min",
      ], ["topic"]]);
      assert.equal(invalid.retryAfter, null);
      await rejectsWith(
        ada.sdk.completeDay(crypto.randomUUID(), {
          completion_time_min: 5,
          confidence: 5,
        }),
        { status: 404, code: "SESSION_NOT_FOUND" },
      );
      const key = crypto.randomUUID();
      await ada.sdk.completeDay(sessionId, {
        completion_time_min: 30,
        confidence: 9,
      }, {
        idempotencyKey: key,
      });
      await rejectsWith(
        ada.sdk.completeDay(sessionId, {
          completion_time_min: 31,
          confidence: 9,
        }, {
          idempotencyKey: key,
        }),
        { status: 422, code: "IDEMPOTENCY_KEY_REUSED" },
      );
    },
  );

  await t.step("a cancelled call and an unreachable server", async () => {
    const controller = new AbortController();
    controller.abort();
    await rejectsWith(ada.sdk.getStatus({ signal: controller.signal }), {
      status: 0,
      code: "ABORTED",
    });
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close(); // nothing listens there any more
    const nowhere = createClient(
      `http://127.0.0.1:${port}`,
      LOCAL_PUBLISHABLE_KEY,
      {
        auth: { persistSession: false, autoRefreshToken: false },
      },
    );
    await rejectsWith(new LearningOrchestrator(nowhere).health(), {
      status: 0,
      code: "NETWORK_ERROR",
    });
  });

  await t.step("each learner hears only their own events", async () => {
    const bobIntent = await bob.sdk.createIntent({
      ...INTENT,
      topic: "Bob's topic",
    });
    await bob.events.waitFor(
      (e) => e.type === "intent_synced" && e.intent_id === bobIntent.intent_id,
      "bob's intent_synced",
    );
    assert.ok(ada.events.seen.length >= 3);
    assert.deepEqual(
      new Set(ada.events.seen.map((e) => e.user_id)),
      new Set([ada.id]),
    );
    assert.deepEqual(
      new Set(bob.events.seen.map((e) => e.user_id)),
      new Set([bob.id]),
    );
    assert.ok(
      !ada.events.seen.some((e) => "intent_id" in e && e.intent_id === bobIntent.intent_id),
    );
    const spy = await rejectsWith(
      ada.sdk.subscribe({
        userId: bob.id,
        onEvent: () => assert.fail("heard bob"),
      }),
      { status: 0, code: "REALTIME_ERROR" },
    );
    assert.match(spy.message, /permissions/);
    // A second subscription on the same client and topic is refused up front.
    await rejectsWith(ada.sdk.subscribe({ onEvent: () => {} }), {
      status: 0,
      code: "REALTIME_ERROR",
    });
  });

  await t.step("RATE_LIMITED carries retryAfter", async () => {
    // The day.run bucket holds 10 and refills one per 30 s; a stored plan answers at once, so
    // asking again and again runs it dry within a few calls past 10, however slow the machine.
    let limited: OrchestratorError | null = null;
    for (let i = 0; i < 40 && limited === null; i++) {
      try {
        await bob.sdk.generateDayPlan(1, 1);
      } catch (error) {
        if (!(error instanceof OrchestratorError) || error.code !== "RATE_LIMITED") throw error;
        limited = error;
      }
    }
    assert.ok(limited, "the bucket ran dry");
    assert.equal(limited.status, 429);
    assert.match(limited.message, /^[A-Z].*\.$/);
    assert.ok(limited.retryAfter !== null && limited.retryAfter >= 1, String(limited.retryAfter));
  });

  await t.step(
    "the event schemas name exactly the keys the database accepts",
    async () => {
      for (const type of EVENT_TYPES) {
        const [{ spec }] = await stack
          .sql`select wisely.event_payload_spec(${type}) as spec`;
        assert.deepEqual(
          Object.keys(spec).sort(),
          Object.keys(EventPayloadSchemas[type].shape).sort(),
          type,
        );
      }
    },
  );
}

for (const backend of testBackends()) {
  Deno.test(`sdk (${backend}): every method against the served stack`, async (t) => {
    const stack = await startTestStack(backend);
    const learners: Learner[] = [];
    try {
      learners.push(await signUp(stack, "ada"), await signUp(stack, "bob"));
      await flow(t, stack, learners[0], learners[1]);
    } finally {
      for (const learner of learners) {
        await learner.unsubscribe();
        await closeClient(learner.client);
      }
      await stack.stop();
    }
  });
}
