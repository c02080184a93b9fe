/**
 * One webhook attempt (attempt.ts) against real local servers: redirects are failures and are
 * not followed, the excerpt is capped however large the body, a hanging receiver ends in the
 * timeout, the stop signal aborts (throws, so nothing is recorded), and a refused URL is never
 * requested.
 */
import assert from "node:assert/strict";
import { EXCERPT_CHARS, sendAttempt } from "../../supabase/functions/_shared/webhooks/attempt.ts";
import { newWebhookSecret } from "../../supabase/functions/_shared/webhooks/signing.ts";
import { startReceiver, until } from "../support/receivers.ts";

const request = (url: string) => ({
  url,
  secret: newWebhookSecret(),
  webhookId: "msg_test",
  body: '{"type":"x","timestamp":"t","data":{}}',
});

Deno.test("a 2xx succeeds with the signed body; a 500 fails with its excerpt", async () => {
  const ok = startReceiver({ kind: "ok" });
  const failing = startReceiver({ kind: "status", status: 500 });
  try {
    const good = await sendAttempt(request(ok.url), { local: true });
    assert.deepEqual({ ...good, latencyMs: 0 }, {
      ok: true,
      status: 200,
      latencyMs: 0,
      excerpt: "thanks",
      error: null,
    });
    assert.equal(ok.received[0].headers.get("webhook-id"), "msg_test");
    assert.match(ok.received[0].headers.get("webhook-signature") ?? "", /^v1,/);
    assert.equal(ok.received[0].body, request(ok.url).body);
    const bad = await sendAttempt(request(failing.url), { local: true });
    assert.equal(bad.ok, false);
    assert.equal(bad.status, 500);
    assert.equal(bad.error, "HTTP 500");
    assert.equal(bad.excerpt, "status 500");
  } finally {
    await ok.stop();
    await failing.stop();
  }
});

Deno.test("a redirect fails the attempt and its Location is never requested", async () => {
  const target = startReceiver({ kind: "ok" });
  const redirecting = startReceiver({ kind: "redirect", location: target.url });
  try {
    const outcome = await sendAttempt(request(redirecting.url), { local: true });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.status, 302);
    assert.equal(outcome.error, "redirect (302) not followed");
    assert.equal(target.received.length, 0);
  } finally {
    await target.stop();
    await redirecting.stop();
  }
});

Deno.test("the excerpt is capped however large the response", async () => {
  const huge = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    let sent = 0;
    // 64 MiB if anyone read it all; the attempt reads a few KiB and cancels.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 1024) return controller.close();
        controller.enqueue(new Uint8Array(64 * 1024).fill(120));
      },
    });
    return new Response(body, { status: 400 });
  });
  try {
    const outcome = await sendAttempt(request(`http://127.0.0.1:${huge.addr.port}/`), {
      local: true,
    });
    assert.equal(outcome.status, 400);
    assert.equal(outcome.excerpt, "x".repeat(EXCERPT_CHARS));
  } finally {
    await huge.shutdown();
  }
});

Deno.test("control characters in the answer are replaced (Postgres text holds no NUL)", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("a\u0000b\u0007c\nd", { status: 500 }),
  );
  try {
    const outcome = await sendAttempt(request(`http://127.0.0.1:${server.addr.port}/`), {
      local: true,
    });
    assert.equal(outcome.excerpt, "a\ufffdb\ufffdc\nd");
  } finally {
    await server.shutdown();
  }
});

Deno.test("a hanging receiver ends in the timeout; the stop signal aborts", async () => {
  const hanging = startReceiver({ kind: "hang" });
  try {
    const timedOut = await sendAttempt(request(hanging.url), { local: true, timeoutMs: 200 });
    assert.equal(timedOut.ok, false);
    assert.equal(timedOut.status, null);
    assert.equal(timedOut.error, "timed out");

    const stop = new AbortController();
    const attempt = sendAttempt(request(hanging.url), {
      local: true,
      timeoutMs: 60_000,
      signal: stop.signal,
    });
    await until(() => hanging.open() === 1, "the held request");
    stop.abort();
    await assert.rejects(attempt);
  } finally {
    await hanging.stop();
  }
});

Deno.test("a refused URL fails without a request", async () => {
  const ok = startReceiver({ kind: "ok" });
  try {
    const outcome = await sendAttempt(request(ok.url), { local: false });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.status, null);
    assert.match(outcome.error ?? "", /^URL refused: .*https/);
    assert.equal(ok.received.length, 0);
  } finally {
    await ok.stop();
  }
});
