/**
 * Webhooks (spec 12) on the served stack with local receivers (test/support/receivers.ts):
 * service-only routes, Standard Webhooks signatures, commit order per endpoint, retries under
 * one webhook-id, a hanging receiver that holds up neither day.run nor other endpoints,
 * redirects not followed, deleted and disabled endpoints, no learner text in any body, and
 * the commit → receipt latency (printed, not asserted). The retry schedule, attempt timeout
 * and disabling age are shortened through wisely.settings and restored after each step.
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { setSettings } from "../support/faults.ts";
import { type Receiver, startReceiver, until } from "../support/receivers.ts";
import { startTestStack, testBackends, type TestStack } from "../support/stack.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const DEFAULTS = {
  "webhook.retry_schedule_s": [5, 300, 1800, 7200, 18000, 36000],
  "webhook.disable_after_s": 259200,
  "webhook.attempt_timeout_ms": 10000,
};

interface Learner {
  id: string;
  token: string;
}

function harness(stack: TestStack, service: string) {
  /** Every string a learner wrote: none may appear in any webhook body. */
  const learnerTexts: string[] = [];
  const receivers: Receiver[] = [];
  const api = async (token: string | null, method: string, route: string, body?: unknown) => {
    const response = await fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        "content-type": "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : null,
    };
  };
  const learner = async (): Promise<Learner> => {
    const id = await stack.createUser();
    return { id, token: await stack.userToken(id) };
  };
  /** intent.sync with a new topic (so `intent_synced` with `created: true`). */
  const sync = async (who: Learner) => {
    const topic = `Topic ${crypto.randomUUID()}`;
    const endGoal = `Goal ${crypto.randomUUID()}`;
    learnerTexts.push(topic, endGoal);
    const reply = await api(who.token, "POST", "intent.sync", {
      topic,
      depth: "informed",
      end_goal: endGoal,
      time_per_day_min: 30,
    });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return { intentId: reply.body.intent_id as string, respondedAt: performance.now() };
  };
  const receiver = (behaviour: Parameters<typeof startReceiver>[0]) => {
    const started = startReceiver(behaviour);
    receivers.push(started);
    return started;
  };
  const hook = async (url: string, events: string[] = ["*"]) => {
    const reply = await api(service, "POST", "webhooks", { url, events });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return reply.body as { id: string; secret: string; url: string; events: string[] };
  };
  const deliveries = async (hookId: string, query = "") =>
    (await api(service, "GET", `webhooks/${hookId}/deliveries${query}`)).body;
  /**
   * Waits until the endpoint lists `count` deliveries, none pending: a receiver has a request
   * a moment before its attempt is recorded.
   */
  const settled = async (hookId: string, count: number) => {
    let listed: Json[] = [];
    await until(async () => {
      listed = (await deliveries(hookId)).deliveries;
      return listed.length === count && listed.every((d) => d.state !== "pending");
    }, `${count} settled deliveries`);
    return listed;
  };
  return { api, learner, sync, receiver, hook, deliveries, settled, learnerTexts, receivers };
}

const bodies = (receiver: Receiver): Json[] => receiver.received.map((r) => JSON.parse(r.body));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

for (const backend of testBackends()) {
  Deno.test(`[${backend}] webhooks: signed, ordered, retried, never in a learner's way`, async (t) => {
    const stack = await startTestStack(backend);
    const service = await stack.serviceToken();
    const h = harness(stack, service);
    const { api } = h;
    const step = (name: string, fn: () => Promise<void>) =>
      t.step(name, async () => {
        try {
          await fn();
        } finally {
          await setSettings(stack, DEFAULTS);
        }
      });
    try {
      await step("only the service role reaches the webhook routes", async () => {
        const user = await h.learner();
        const id = crypto.randomUUID();
        const routes: [string, string][] = [
          ["POST", "webhooks"],
          ["GET", "webhooks"],
          ["DELETE", `webhooks/${id}`],
          ["GET", `webhooks/${id}/deliveries`],
          ["POST", `webhooks/${id}/deliveries/${id}/retry`],
          ["POST", "webhooks.deliver"],
        ];
        for (const [method, route] of routes) {
          const body = method === "POST"
            ? { url: "http://127.0.0.1:9/x", events: ["*"] }
            : undefined;
          const asUser = await api(user.token, method, route, body);
          assert.equal(asUser.status, 403, `${method} ${route} as a user`);
          assert.equal(asUser.body.code, "FORBIDDEN");
          assert.equal((await api(null, method, route, body)).status, 401, `${method} ${route}`);
          assert.equal((await api(await stack.anonToken(), method, route, body)).status, 401);
        }
        const [{ n }] = await stack.sql`select count(*)::int as n from wisely.webhook_endpoints`;
        assert.equal(n, 0, "nothing was created by the refused requests");
      });

      await step("bad input is a 400 with the spec's error body, unknown ids 404", async () => {
        const url = "http://127.0.0.1:9/hook";
        const invalid = async (body: unknown, path: (string | number)[]) => {
          const reply = await api(service, "POST", "webhooks", body);
          assert.equal(reply.status, 400, JSON.stringify(body));
          assert.equal(reply.body.code, "INVALID_REQUEST");
          assert.ok(
            reply.body.details.some((d: Json) => JSON.stringify(d.path) === JSON.stringify(path)),
            JSON.stringify(reply.body),
          );
        };
        await invalid({ events: ["*"] }, ["url"]);
        await invalid({ url, events: [] }, ["events"]);
        await invalid({ url, events: ["intent_synced", "no_such_event"] }, ["events", 1]);
        await invalid({ url, events: ["*", "day_completed"] }, ["events"]);
        await invalid({ url, events: ["*"], extra: 1 }, []);
        for (const refusedUrl of ["ftp://127.0.0.1/x", "http://10.0.0.7/x", "not a url"]) {
          const reply = await api(service, "POST", "webhooks", { url: refusedUrl, events: ["*"] });
          assert.equal(reply.status, 400, refusedUrl);
          assert.equal(reply.body.code, "WEBHOOK_URL_REFUSED", refusedUrl);
          assert.equal(typeof reply.body.error, "string");
        }
        const unknown = crypto.randomUUID();
        assert.equal((await api(service, "DELETE", `webhooks/${unknown}`)).status, 404);
        assert.equal((await api(service, "DELETE", "webhooks/not-a-uuid")).status, 404);
        assert.equal((await api(service, "GET", `webhooks/${unknown}/deliveries`)).status, 404);
        const retry = await api(service, "POST", `webhooks/${unknown}/deliveries/${unknown}/retry`);
        assert.equal(retry.status, 404);
        assert.equal(retry.body.code, "NOT_FOUND");
        const created = await h.hook(url);
        const badCursor = await api(service, "GET", `webhooks/${created.id}/deliveries?cursor=x`);
        assert.equal(badCursor.status, 400);
        assert.equal((await api(service, "DELETE", `webhooks/${created.id}`)).status, 204);
      });

      await step(
        "deliveries are signed, in commit order, ids only, each attempt logged",
        async () => {
          const receiver = h.receiver({ kind: "ok" });
          const all = await h.hook(receiver.url);
          assert.match(all.secret, /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/);
          const completions = await h.hook(receiver.url.replace("/hook", "/other"), [
            "day_completed",
          ]);
          const learners = [await h.learner(), await h.learner(), await h.learner()];
          const order: string[] = [];
          for (let round = 0; round < 2; round++) {
            for (const who of learners) {
              order.push((await h.sync(who)).intentId);
            }
          }
          await until(() => receiver.received.length >= 6, "six deliveries");
          const verifier = new Webhook(all.secret);
          for (const request of receiver.received) {
            const headers = Object.fromEntries(request.headers);
            assert.match(headers["webhook-signature"], /^v1,[A-Za-z0-9+/]+=*$/);
            assert.deepEqual(verifier.verify(request.body, headers), JSON.parse(request.body));
            assert.throws(() => verifier.verify(request.body + " ", headers));
            assert.throws(() => new Webhook(completions.secret).verify(request.body, headers));
          }
          const received = bodies(receiver);
          assert.deepEqual(received.map((b) => b.data.intent_id), order, "commit order");
          assert.deepEqual(
            received.map((b) => b.data.user_id),
            [...learners, ...learners].map((l) => l.id),
          );
          const ids = received.map((b) => b.data.event_id);
          assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
          for (const body of received) {
            assert.deepEqual(Object.keys(body).sort(), ["data", "timestamp", "type"]);
            assert.equal(body.type, "intent_synced");
            assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
            assert.deepEqual(
              Object.keys(body.data).sort(),
              ["created", "event_id", "intent_id", "replaced_intent_id", "user_id"],
            );
          }
          const listed = (await api(service, "GET", "webhooks")).body.webhooks;
          assert.ok(listed.every((w: Json) => !("secret" in w)), "no secret in the list");
          assert.equal(listed.find((w: Json) => w.id === all.id).disabled_at, null);
          // The day_completed-only endpoint considered these events and queued none.
          const [other] = await stack.sql`
          select cursor_id::int as cursor,
            (select count(*)::int from wisely.webhook_deliveries where endpoint_id = ${completions.id})
              as queued
          from wisely.webhook_endpoints where id = ${completions.id}
        `;
          assert.equal(other.queued, 0);
          assert.ok(other.cursor >= Math.max(...ids), "its cursor moved past them");
          for (const delivery of await h.settled(all.id, 6)) {
            assert.equal(delivery.state, "succeeded");
            assert.equal(delivery.attempt_count, 1);
            assert.equal(delivery.attempts[0].status, 200);
            assert.equal(delivery.attempts[0].response_excerpt, "thanks");
            assert.equal(typeof delivery.attempts[0].latency_ms, "number");
            assert.equal(delivery.attempts[0].error, null);
          }
          // Keyset pages of 4 and 2, newest first, nothing twice.
          const first = await api(service, "GET", `webhooks/${all.id}/deliveries?limit=4`);
          assert.equal(first.body.deliveries.length, 4);
          assert.equal(first.headers.get("x-next-cursor"), first.body.next_cursor);
          const second = await h.deliveries(all.id, `?limit=4&cursor=${first.body.next_cursor}`);
          assert.equal(second.next_cursor, null);
          const paged = [...first.body.deliveries, ...second.deliveries].map((d: Json) =>
            d.event_id
          );
          assert.deepEqual(paged, [...ids].reverse());
          for (const id of [all.id, completions.id]) {
            assert.equal((await api(service, "DELETE", `webhooks/${id}`)).status, 204);
          }
        },
      );

      await step("a receiver failing twice gets the same webhook-id; later ones wait", async () => {
        await setSettings(stack, { "webhook.retry_schedule_s": [0.05, 0.05, 0.05] });
        const receiver = h.receiver({ kind: "fail_first", times: 2 });
        const created = await h.hook(receiver.url, ["intent_synced"]);
        const who = await h.learner();
        const first = await h.sync(who);
        const second = await h.sync(who);
        await until(() => receiver.received.length >= 4, "three attempts and the next delivery");
        const ids = receiver.received.map((r) => r.headers.get("webhook-id"));
        assert.equal(new Set(ids.slice(0, 3)).size, 1, "one webhook-id for every attempt");
        assert.notEqual(ids[3], ids[0]);
        const received = bodies(receiver).map((b) => b.data.intent_id);
        assert.deepEqual(received, [
          first.intentId,
          first.intentId,
          first.intentId,
          second.intentId,
        ]);
        const [newest, oldest] = await h.settled(created.id, 2);
        assert.equal(oldest.webhook_id, ids[0]);
        assert.equal(oldest.state, "succeeded");
        assert.deepEqual(oldest.attempts.map((a: Json) => a.status), [500, 500, 200]);
        assert.deepEqual(oldest.attempts.map((a: Json) => a.error), ["HTTP 500", "HTTP 500", null]);
        assert.equal(oldest.attempts[0].response_excerpt, "not yet");
        assert.equal(newest.attempt_count, 1);

        // A requeued delivery goes out again under its own webhook-id.
        const retry = await api(
          service,
          "POST",
          `webhooks/${created.id}/deliveries/${oldest.id}/retry`,
        );
        assert.equal(retry.status, 200, JSON.stringify(retry.body));
        assert.equal(retry.body.state, "pending");
        await until(() => receiver.received.length >= 5, "the requeued delivery");
        assert.equal(receiver.received[4].headers.get("webhook-id"), ids[0]);
        assert.equal((await api(service, "DELETE", `webhooks/${created.id}`)).status, 204);
      });

      await step("a hanging receiver holds up neither day.run nor other endpoints", async () => {
        // Long enough that the attempt cannot end on its own while the test looks at it.
        await setSettings(stack, { "webhook.attempt_timeout_ms": 120_000 });
        const hanging = h.receiver({ kind: "hang" });
        const healthy = h.receiver({ kind: "ok" });
        const slow = await h.hook(hanging.url);
        const fast = await h.hook(healthy.url, ["instructor_plan_created"]);
        const who = await h.learner();
        await h.sync(who);
        await until(() => hanging.open() === 1, "the hanging receiver to hold a delivery");
        const run = await api(who.token, "POST", "day.run", { week: 1, day: 1 });
        assert.equal(run.status, 201, JSON.stringify(run.body));
        assert.equal(hanging.open(), 1, "the receiver still holds its request, unanswered");
        assert.equal(hanging.received.length, 1, "the next delivery waits behind it");
        await until(
          () => bodies(healthy).some((b) => b.data.session_id === run.body.session_id),
          "the other endpoint's delivery of the plan",
        );
        assert.equal(hanging.open(), 1, "still held while the other endpoint got its delivery");
        for (const id of [slow.id, fast.id]) {
          assert.equal((await api(service, "DELETE", `webhooks/${id}`)).status, 204);
        }
        hanging.release();
      });

      await step("a redirect is a failed attempt and is not followed", async () => {
        await setSettings(stack, { "webhook.retry_schedule_s": [3600] });
        const target = h.receiver({ kind: "ok" });
        const redirecting = h.receiver({ kind: "redirect", location: target.url });
        const created = await h.hook(redirecting.url);
        await h.sync(await h.learner());
        let attempt: Json = null;
        await until(async () => {
          attempt = (await h.deliveries(created.id)).deliveries[0]?.attempts[0] ?? null;
          return attempt !== null;
        }, "the redirected attempt to be logged");
        assert.equal(attempt.status, 302);
        assert.match(attempt.error, /redirect/);
        assert.equal(redirecting.received.length, 1);
        assert.equal(target.received.length, 0, "the Location was never requested");
        const [delivery] = (await h.deliveries(created.id)).deliveries;
        assert.equal(delivery.state, "pending", "waiting for its retry");
        assert.ok(delivery.next_attempt_at !== null);
        assert.equal((await api(service, "DELETE", `webhooks/${created.id}`)).status, 204);
      });

      await step("deleted and disabled endpoints stop receiving", async () => {
        await setSettings(stack, {
          "webhook.retry_schedule_s": [3600],
          "webhook.disable_after_s": 0,
        });
        const control = h.receiver({ kind: "ok" });
        const deletedReceiver = h.receiver({ kind: "ok" });
        const failing = h.receiver({ kind: "status", status: 500 });
        const controlHook = await h.hook(control.url);
        const toDelete = await h.hook(deletedReceiver.url);
        const toDisable = await h.hook(failing.url);
        const who = await h.learner();
        const first = await h.sync(who);
        await until(() => deletedReceiver.received.length === 1, "the first delivery");
        assert.equal((await api(service, "DELETE", `webhooks/${toDelete.id}`)).status, 204);
        assert.equal((await api(service, "DELETE", `webhooks/${toDelete.id}`)).status, 404);
        let listed: Json[] = [];
        await until(async () => {
          listed = (await api(service, "GET", "webhooks")).body.webhooks;
          return listed.find((w) => w.id === toDisable.id)?.disabled_at != null;
        }, "the failing endpoint to be disabled");
        assert.ok(!listed.some((w) => w.id === toDelete.id), "the deleted one is gone");
        assert.match(listed.find((w) => w.id === toDisable.id).disabled_reason, /failed/);

        const second = await h.sync(who);
        await until(
          () => bodies(control).some((b) => b.data.intent_id === second.intentId),
          "the control endpoint's second delivery",
        );
        assert.deepEqual(bodies(deletedReceiver).map((b) => b.data.intent_id), [first.intentId]);
        assert.deepEqual(bodies(failing).map((b) => b.data.intent_id), [first.intentId]);
        const queued = (await h.deliveries(toDisable.id)).deliveries;
        assert.equal(queued.length, 1, "nothing new is queued for a disabled endpoint");
        assert.equal((await api(service, "DELETE", `webhooks/${controlHook.id}`)).status, 204);
        assert.equal((await api(service, "DELETE", `webhooks/${toDisable.id}`)).status, 204);
      });

      await step("webhooks.deliver runs one pass, as a hosted project's Cron does", async () => {
        const reply = await api(service, "POST", "webhooks.deliver", {});
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        for (const key of ["queued", "endpoints", "attempted", "succeeded"]) {
          assert.equal(typeof reply.body[key], "number", key);
        }
        const bad = await api(service, "POST", "webhooks.deliver", { budget_ms: 1 });
        assert.equal(bad.status, 400);
        assert.equal(bad.body.code, "INVALID_REQUEST");
      });

      await step("latency from commit to receipt (printed)", async () => {
        const receiver = h.receiver({ kind: "ok" });
        const created = await h.hook(receiver.url, ["intent_synced"]);
        const learners = await Promise.all([1, 2, 3, 4, 5].map(() => h.learner()));
        // Steady state: the loop has seen the endpoint before the measured events.
        await h.sync(learners[0]);
        await until(() => receiver.received.length === 1, "the warm-up delivery");
        receiver.received.length = 0;
        const sent = new Map<string, number>();
        for (let i = 0; i < 50; i++) {
          const { intentId, respondedAt } = await h.sync(learners[i % learners.length]);
          sent.set(intentId, respondedAt);
        }
        await until(() => receiver.received.length >= 50, "50 deliveries");
        const latencies = receiver.received.map((r) =>
          r.at - sent.get(JSON.parse(r.body).data.intent_id)!
        ).sort((a, b) => a - b);
        console.log(
          `[${backend}] webhook latency, response of the committing request → receipt, ` +
            `a burst of 50 events: p50 ${percentile(latencies, 0.5).toFixed(1)} ms, ` +
            `p95 ${percentile(latencies, 0.95).toFixed(1)} ms, ` +
            `max ${latencies.at(-1)!.toFixed(1)} ms`,
        );
        assert.equal(new Set(receiver.received.map((r) => r.headers.get("webhook-id"))).size, 50);
        // One at a time: each event's receipt is awaited before the next request.
        const spaced: number[] = [];
        for (let i = 0; i < 20; i++) {
          const { intentId, respondedAt } = await h.sync(learners[i % learners.length]);
          await until(() => bodies(receiver).some((b) => b.data.intent_id === intentId), "it");
          spaced.push(receiver.received.at(-1)!.at - respondedAt);
        }
        spaced.sort((a, b) => a - b);
        console.log(
          `[${backend}] webhook latency, one event at a time, 20 events: ` +
            `p50 ${percentile(spaced, 0.5).toFixed(1)} ms, p95 ${
              percentile(spaced, 0.95).toFixed(1)
            } ms`,
        );
        assert.equal((await api(service, "DELETE", `webhooks/${created.id}`)).status, 204);
      });

      await step("no learner text appears in any body any receiver got", () => {
        const everything = h.receivers.flatMap((r) => r.received.map((x) => x.body));
        assert.ok(everything.length > 60, `${everything.length} bodies`);
        for (const text of h.learnerTexts) {
          for (const body of everything) assert.ok(!body.includes(text), "learner text leaked");
        }
        return Promise.resolve();
      });
    } finally {
      await stack.stop();
      await Promise.all(h.receivers.map((r) => r.stop()));
    }
  });
}
