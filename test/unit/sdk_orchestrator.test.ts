/**
 * `LearningOrchestrator` against a scripted stand-in for supabase-js: what each method sends
 * (route, method, body, headers), what it returns, the SSE iterator's every ending (plan,
 * `error` event, cut stream, JSON instead of a stream, early exit), sessions paging, and the
 * Realtime helper's join, refusal and hand-off of events. The real client is in the e2e tests.
 */
import assert from "node:assert/strict";
import { FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import { LearningOrchestrator, OrchestratorError, toLearnerEvent } from "../../sdk/mod.mjs";

interface Call {
  name: string;
  options: {
    method?: string;
    body?: unknown;
    headers?: Record<string, string>;
  };
}

type Answer = { data: unknown; error: unknown; response?: Response };

/** A client whose `functions.invoke` answers from `answers`, in order, recording each call. */
function fakeClient(answers: Answer[]) {
  const calls: Call[] = [];
  const client = {
    functions: {
      invoke(name: string, options: Call["options"]) {
        calls.push({ name, options });
        const answer = answers.shift();
        if (!answer) throw new Error(`unexpected call ${name}`);
        return Promise.resolve(answer);
      },
    },
  };
  return { client: client as unknown as SupabaseClient, calls };
}

const ok = (data: unknown, response?: Response): Answer => ({
  data,
  error: null,
  response,
});

/** An SSE body as the day.run route writes it; `cancelled` tells whether the reader let go. */
function sse(events: [string, unknown][], options: { end?: boolean } = {}) {
  const state = { cancelled: false };
  const text = events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    .join("");
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      if (options.end ?? true) controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  });
  const response = new Response(body, {
    headers: { "content-type": "text/event-stream" },
  });
  return { response, state };
}

const AGENT = {
  agent: "clo",
  source: "network",
  available: true,
  fresh: true,
  latency_ms: 12,
};
const PLAN = {
  session_id: "5b1f3d7e-0000-4000-8000-000000000001",
  plan_md: "# Plan",
  week: 1,
};

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

Deno.test("each method sends its route, method, body and headers", async () => {
  const { client, calls } = fakeClient([
    ok({ intent_id: "i" }),
    ok(PLAN),
    ok({ ok: true }),
    ok({ user_id: "u" }),
    ok({ sessions: [], next_cursor: null }),
    ok({ ok: true, db: "up" }),
  ]);
  const sdk = new LearningOrchestrator(client, {
    userId: "user-1",
    functionName: "wisely",
  });
  const intent = {
    topic: "t",
    depth: "deep",
    end_goal: "g",
    time_per_day_min: 30,
  } as const;
  await sdk.createIntent(intent, { idempotencyKey: "k1" });
  await sdk.generateDayPlan(2, 3, { forceRefresh: true });
  // session_id is the argument's, whatever the completion object says.
  await sdk.completeDay(
    "s-1",
    { completion_time_min: 5, confidence: 6, session_id: "other" } as {
      completion_time_min: number;
      confidence: number;
    },
  );
  await sdk.getStatus();
  await sdk.listSessions({ limit: 5, cursor: "a+b/c=" });
  await sdk.health();

  assert.deepEqual(calls.map((c) => [c.name, c.options.method]), [
    ["wisely/intent.sync", "POST"],
    ["wisely/day.run", "POST"],
    ["wisely/day.done", "POST"],
    ["wisely/status", "GET"],
    ["wisely/sessions?limit=5&cursor=a%2Bb%2Fc%3D", "GET"],
    ["wisely/health", "GET"],
  ]);
  assert.deepEqual(calls[0].options.body, intent);
  assert.deepEqual(calls[0].options.headers, {
    "idempotency-key": "k1",
    "x-user-id": "user-1",
  });
  assert.deepEqual(calls[1].options.body, {
    week: 2,
    day: 3,
    force_refresh: true,
    research: false,
  });
  assert.deepEqual(calls[2].options.body, {
    completion_time_min: 5,
    confidence: 6,
    session_id: "s-1",
  });
  assert.equal(calls[3].options.body, undefined);
});

Deno.test("a failed call throws OrchestratorError; a non-JSON answer too", async () => {
  const refused = new FunctionsHttpError(
    new Response(
      JSON.stringify({
        error: "Sync an intent first.",
        code: "NO_ACTIVE_INTENT",
      }),
      {
        status: 409,
      },
    ),
  );
  const { client } = fakeClient([
    { data: null, error: refused },
    ok("plain text"),
  ]);
  const sdk = new LearningOrchestrator(client);
  await assert.rejects(sdk.generateDayPlan(1, 1), (error) => {
    assert.ok(error instanceof OrchestratorError);
    assert.deepEqual([error.status, error.code, error.message], [
      409,
      "NO_ACTIVE_INTENT",
      "Sync an intent first.",
    ]);
    return true;
  });
  await assert.rejects(sdk.getStatus(), {
    name: "OrchestratorError",
    code: "UNEXPECTED_RESPONSE",
  });
});

Deno.test("runDay yields each agent, then the plan, asking for an event stream", async () => {
  const { response } = sse([["agent", AGENT], ["agent", {
    ...AGENT,
    agent: "ta",
  }], [
    "plan",
    PLAN,
  ]]);
  const { client, calls } = fakeClient([ok(response, response)]);
  const progress = await collect(
    new LearningOrchestrator(client).runDay(1, 2, { research: true }),
  );
  assert.deepEqual(progress, [
    { type: "agent", data: AGENT },
    { type: "agent", data: { ...AGENT, agent: "ta" } },
    { type: "plan", data: PLAN },
  ]);
  assert.equal(calls[0].options.headers?.accept, "text/event-stream");
  assert.deepEqual(calls[0].options.body, {
    week: 1,
    day: 2,
    force_refresh: false,
    research: true,
  });
});

Deno.test("runDay: an error event, a cut stream and bad JSON throw; JSON is one plan", async () => {
  const failed = sse([["agent", AGENT], ["error", {
    error: "The database is unavailable; try again shortly.",
    code: "DATABASE_UNAVAILABLE",
  }]]).response;
  const cut = sse([["agent", AGENT]]).response;
  const garbled = new Response("event: plan\ndata: {not json\n\n", {
    headers: { "content-type": "text/event-stream" },
  });
  const { client } = fakeClient([ok(failed), ok(cut), ok(garbled), ok(PLAN)]);
  const sdk = new LearningOrchestrator(client);

  await assert.rejects(collect(sdk.runDay(1, 1)), (error) => {
    assert.ok(error instanceof OrchestratorError);
    assert.deepEqual([error.status, error.code], [503, "DATABASE_UNAVAILABLE"]);
    return true;
  });
  await assert.rejects(collect(sdk.runDay(1, 1)), {
    code: "UNEXPECTED_RESPONSE",
    message: "The progress stream ended before the plan arrived.",
  });
  await assert.rejects(collect(sdk.runDay(1, 1)), {
    code: "UNEXPECTED_RESPONSE",
  });
  assert.deepEqual(await collect(sdk.runDay(1, 1)), [{
    type: "plan",
    data: PLAN,
  }]);
});

Deno.test("runDay: leaving the loop early releases the stream", async () => {
  const { response, state } = sse([["agent", AGENT]], { end: false });
  const { client } = fakeClient([ok(response)]);
  for await (const step of new LearningOrchestrator(client).runDay(1, 1)) {
    assert.equal(step.type, "agent");
    break;
  }
  assert.equal(state.cancelled, true);
});

Deno.test("sessions() follows the cursors; sessionsCsv gives the next cursor", async () => {
  const row = (day: number) => ({ session_id: `s${day}`, week: 1, day });
  const csvResponse = new Response("", { headers: { "x-next-cursor": "c9" } });
  const { client, calls } = fakeClient([
    ok({ sessions: [row(3), row(2)], next_cursor: "c1" }),
    ok({ sessions: [row(1)], next_cursor: null }),
    ok("session_id,week\r\ns3,1\r\n", csvResponse),
  ]);
  const sdk = new LearningOrchestrator(client);
  const all = await collect(sdk.sessions({ limit: 2 }));
  assert.deepEqual(all.map((s) => s.session_id), ["s3", "s2", "s1"]);
  assert.deepEqual(calls.map((c) => c.name), [
    "orchestrator/sessions?limit=2",
    "orchestrator/sessions?limit=2&cursor=c1",
  ]);
  const page = await sdk.sessionsCsv({ limit: 1 });
  assert.deepEqual(page, {
    csv: "session_id,week\r\ns3,1\r\n",
    nextCursor: "c9",
  });
  assert.equal(calls[2].options.headers?.accept, "text/csv");
});

/** A stand-in for supabase-js's Realtime side: one channel, driven by the test. */
function fakeRealtime(joinStatuses: [string, Error?][]) {
  const removed: string[] = [];
  let broadcast:
    | ((message: { event: string; payload: unknown }) => void)
    | null = null;
  const channels: { topic: string }[] = [];
  const client = {
    auth: {
      getSession: () => Promise.resolve({ data: { session: { user: { id: "u-1" } } } }),
    },
    getChannels: () => channels,
    channel(topic: string, options: unknown) {
      assert.deepEqual(options, { config: { private: true } });
      const channel = {
        topic: `realtime:${topic}`,
        on(_type: string, _filter: unknown, handler: typeof broadcast) {
          broadcast = handler;
          return channel;
        },
        subscribe(callback: (status: string, error?: Error) => void) {
          for (const [status, error] of joinStatuses) callback(status, error);
          return channel;
        },
      };
      channels.push(channel);
      return channel;
    },
    removeChannel(channel: { topic: string }) {
      removed.push(channel.topic);
      // supabase-js reports the leave as CLOSED to the subscribe callback: ignored after a refusal.
      return Promise.resolve("ok");
    },
  };
  return {
    client: client as unknown as SupabaseClient,
    removed,
    send: (event: string, payload: unknown) => broadcast?.({ event, payload }),
  };
}

const EVENT = {
  type: "day_completed",
  user_id: "u-1",
  event_id: 3,
  created_at: "2026-01-01T07:00:00.123456+00:00",
  session_id: "s",
  intent_id: "i",
  week: 1,
  day: 1,
  next_week: 1,
  next_day: 2,
};

Deno.test("subscribe: joins the user's private topic and hands over known events", async () => {
  const realtime = fakeRealtime([["SUBSCRIBED"], ["CHANNEL_ERROR"], [
    "SUBSCRIBED",
  ]]);
  const events: unknown[] = [];
  const others: string[] = [];
  const statuses: string[] = [];
  const sdk = new LearningOrchestrator(realtime.client);
  const subscription = await sdk.subscribe({
    onEvent: (event) => events.push(event),
    onOther: (event) => others.push(event),
    onStatus: (status) => statuses.push(status),
  });
  assert.equal(subscription.topic, "wisely.events:u-1");
  assert.deepEqual(
    statuses,
    ["CHANNEL_ERROR", "SUBSCRIBED"],
    "statuses after the join",
  );
  realtime.send("day_completed", EVENT);
  realtime.send("lesson_archived", { type: "lesson_archived", user_id: "u-1" });
  realtime.send("day_completed", { ...EVENT, type: "intent_synced" }); // mislabelled: not known
  assert.deepEqual(events, [EVENT]);
  assert.deepEqual(others, ["lesson_archived", "day_completed"]);
  await subscription.unsubscribe();
  assert.deepEqual(realtime.removed, ["realtime:wisely.events:u-1"]);
});

Deno.test("subscribe: a refused join rejects once, and the channel is removed", async () => {
  const realtime = fakeRealtime([
    [
      "CHANNEL_ERROR",
      new Error("Unauthorized: You do not have permissions to read."),
    ],
    ["CLOSED"],
  ]);
  const sdk = new LearningOrchestrator(realtime.client);
  await assert.rejects(sdk.subscribe({ onEvent: () => {} }), (error) => {
    assert.ok(error instanceof OrchestratorError);
    assert.equal(error.code, "REALTIME_ERROR");
    assert.equal(
      error.message,
      "Could not listen for live updates: Unauthorized: You do not have permissions to read.",
    );
    return true;
  });
  assert.deepEqual(realtime.removed, ["realtime:wisely.events:u-1"]);
});

Deno.test("toLearnerEvent: known types only, and the payload must say the same type", () => {
  assert.deepEqual(toLearnerEvent("day_completed", EVENT), EVENT);
  assert.equal(
    toLearnerEvent("day_completed", { ...EVENT, type: "intent_synced" }),
    null,
  );
  assert.equal(
    toLearnerEvent("lesson_archived", { type: "lesson_archived", user_id: "u" }),
    null,
  );
  assert.equal(toLearnerEvent("day_completed", "not an object"), null);
  assert.equal(
    toLearnerEvent("day_completed", { type: "day_completed" }),
    null,
    "no user_id",
  );
});
