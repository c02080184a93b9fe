/**
 * The pure parts of Idempotency-Key and rate limiting: key validation, the request hash, which
 * responses are stored, how an SSE response is reduced to its stored JSON, the 429 error.
 */
import assert from "node:assert/strict";
import { ApiError } from "../../supabase/functions/_shared/errors.ts";
import { bufferBody } from "../../supabase/functions/_shared/http/body.ts";
import { readIdempotencyKey } from "../../supabase/functions/_shared/http/idempotency_key.ts";
import {
  isStorable,
  storedSseBody,
} from "../../supabase/functions/_shared/http/idempotency_store.ts";
import { requestHash } from "../../supabase/functions/_shared/http/request_hash.ts";
import { SseTail } from "../../supabase/functions/_shared/http/sse_tail.ts";
import {
  BUCKET_DEFAULTS,
  bucketForRoute,
  rateLimited,
} from "../../supabase/functions/_shared/http/rate_limit.ts";
import { errorResponse } from "../../supabase/functions/_shared/http/respond.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("Idempotency-Key: 1–255 printable ASCII characters, taken as sent", () => {
  const key = (value: string | null) =>
    readIdempotencyKey(new Headers(value === null ? {} : { "idempotency-key": value }));
  assert.equal(key(null), null);
  assert.equal(key("a"), "a");
  assert.equal(key("8e03978e-40d5-43e8-bc93-6894a57f9324"), "8e03978e-40d5-43e8-bc93-6894a57f9324");
  assert.equal(key('"quoted sf-string"'), '"quoted sf-string"');
  assert.equal(key("x".repeat(255)), "x".repeat(255));
  assert.equal(key("with inner space~"), "with inner space~");
  for (const bad of ["", "x".repeat(256), "tab\there", "ümlaut", "nul\u007f"]) {
    assert.throws(
      () => key(bad),
      (error: unknown) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, 400);
        assert.equal(error.code, "INVALID_REQUEST");
        assert.deepEqual(error.details?.[0].path, ["headers", "idempotency-key"]);
        return true;
      },
      JSON.stringify(bad),
    );
  }
});

Deno.test("the request hash: method, route and the body's JSON value", async () => {
  const hash = (method: string, route: string, body: string) =>
    requestHash(method, route, bytes(body));
  const base = await hash("POST", "day.run", '{"week":1,"day":2}');
  assert.match(base, /^[0-9a-f]{64}$/);
  // Whitespace and key order do not change what the handler reads.
  assert.equal(await hash("POST", "day.run", ' { "day" : 2,\n "week": 1 } '), base);
  assert.equal(await hash("post", "day.run", '{"week":1,"day":2}'), base);
  // Anything the handler would read differently does.
  assert.notEqual(await hash("POST", "day.run", '{"week":1,"day":3}'), base);
  assert.notEqual(await hash("POST", "day.done", '{"week":1,"day":2}'), base);
  assert.notEqual(await hash("POST", "day.run", '{"week":1,"day":"2"}'), base);
  assert.notEqual(await hash("POST", "day.run", '{"week":1,"day":2,"force_refresh":true}'), base);
  // An empty body reads as {}.
  assert.equal(await hash("POST", "day.run", ""), await hash("POST", "day.run", "{}"));
  // Not JSON: the raw bytes, kept apart from any JSON body.
  const raw = await hash("POST", "day.run", "week=1&day=2");
  assert.match(raw, /^[0-9a-f]{64}$/);
  assert.notEqual(raw, await hash("POST", "day.run", "week=1&day=3"));
  assert.notEqual(await hash("POST", "day.run", '"json:{}"'), await hash("POST", "day.run", ""));
});

Deno.test("bufferBody hands the handler the same bytes, and refuses more than the limit", async () => {
  const original = new Request("http://local/orchestrator/day.run", {
    method: "POST",
    headers: { "content-type": "application/json", "x-extra": "1" },
    body: '{"week":1}',
  });
  const { req, bytes: read } = await bufferBody(original);
  assert.equal(new TextDecoder().decode(read), '{"week":1}');
  assert.equal(await req.text(), '{"week":1}');
  assert.equal(req.method, "POST");
  assert.equal(req.headers.get("x-extra"), "1");

  const empty = await bufferBody(new Request("http://local/x", { method: "POST" }));
  assert.equal(empty.bytes.byteLength, 0);
  assert.equal(await empty.req.text(), "");

  const chunked = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(100));
      controller.close();
    },
  });
  await assert.rejects(
    bufferBody(new Request("http://local/x", { method: "POST", body: chunked }), 300),
    (error: unknown) => error instanceof ApiError && error.status === 413,
  );
});

Deno.test("stored: finished 2xx and the handler's own outcomes; released: 202, 4xx of the request, 5xx", () => {
  for (const status of [200, 201, 204, 404, 409, 422]) assert.equal(isStorable(status), true);
  for (const status of [202, 400, 401, 403, 408, 413, 415, 429, 500, 502, 503, 504, 101]) {
    assert.equal(isStorable(status), false, String(status));
  }
});

Deno.test("an SSE response is stored as its last event's JSON, never an error event", () => {
  const tail = new SseTail();
  tail.push('event: agent\ndata: {"agent":"clo"}\n\n: comment\n\nevent: pl');
  tail.push('an\r\ndata: {"session_id":"s",\ndata: "n":1}\n\n');
  assert.deepEqual(tail.last(), { event: "plan", data: '{"session_id":"s",\n"n":1}' });
  assert.equal(storedSseBody(tail.last()), '{"session_id":"s",\n"n":1}');

  const failed = new SseTail();
  failed.push('event: agent\ndata: {}\n\nevent: error\ndata: {"code":"INTERNAL"}\n\n');
  assert.equal(storedSseBody(failed.last()), null);

  const unfinished = new SseTail();
  unfinished.push('event: plan\ndata: {"a":1}');
  assert.equal(storedSseBody(unfinished.last()), null, "an event without its blank line");

  assert.equal(storedSseBody({ event: "plan", data: "not json" }), null);

  const huge = new SseTail(10);
  huge.push('event: plan\ndata: {"a":"' + "x".repeat(50));
  huge.push('"}\n\n');
  assert.equal(huge.last(), null, "an event past the size limit is not followed");
});

Deno.test("rate limits: day.run has its own bucket; 429 carries whole seconds ≥ 1", async () => {
  assert.equal(bucketForRoute("day.run"), "day_run");
  for (const path of ["status", "sessions", "intent.sync", "day.done"]) {
    assert.equal(bucketForRoute(path), "default");
  }
  assert.deepEqual(BUCKET_DEFAULTS.day_run, { burst: 10, refill_per_s: 1 / 30 });
  assert.deepEqual(BUCKET_DEFAULTS.default, { burst: 60, refill_per_s: 1 });

  for (const [wait, header] of [[0, "1"], [0.2, "1"], [1, "1"], [29.01, "30"]] as const) {
    const error = rateLimited(wait);
    assert.equal(error.status, 429);
    assert.equal(error.code, "RATE_LIMITED");
    assert.equal(new Headers(error.headers).get("retry-after"), header);
  }
  const response = errorResponse(rateLimited(7));
  assert.deepEqual(await response.json(), {
    error: "Too many requests; try again in 7 seconds.",
    code: "RATE_LIMITED",
  });
  assert.deepEqual(await errorResponse(rateLimited(0.4)).json(), {
    error: "Too many requests; try again in 1 second.",
    code: "RATE_LIMITED",
  });
});
