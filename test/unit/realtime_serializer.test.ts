/**
 * The local Realtime's wire formats against realtime-js 2.119.0's own serializer (the one a
 * `RealtimeClient` uses for vsn 2.0.0): what the client encodes decodes here, what we encode
 * the client decodes into the shape `.on("broadcast")` callbacks get. Anything else decodes to
 * `MalformedMessageError`, never another exception.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { RealtimeClient } from "@supabase/supabase-js";
import {
  decodeFrame,
  encodeBroadcast,
  encodePush,
  encodeReply,
  MalformedMessageError,
} from "../../dev/realtime/serializer.ts";

/** realtime-js's Serializer, as its RealtimeClient holds it (the class itself is not exported). */
const clientSerializer = new RealtimeClient("ws://127.0.0.1:9/realtime/v1", {
  params: { apikey: "test" },
}).serializer;

function clientEncode(message: Record<string, unknown>): string | Uint8Array {
  let out: string | ArrayBuffer = "";
  clientSerializer.encode(
    message as Parameters<typeof clientSerializer.encode>[0],
    (result) => out = result,
  );
  return typeof out === "string" ? out : new Uint8Array(out);
}

function clientDecode(frame: string | Uint8Array): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  const raw = typeof frame === "string" ? frame : frame.slice().buffer;
  clientSerializer.decode(raw, (message: Record<string, unknown>) => out = message);
  return out;
}

Deno.test("a client's broadcast push (binary kind 3, JSON payload) decodes with its refs", () => {
  const frame = clientEncode({
    join_ref: "1",
    ref: "7",
    topic: "realtime:room",
    event: "broadcast",
    payload: { type: "broadcast", event: "cursör ✓", payload: { x: 1, y: [2] } },
  });
  assert.ok(frame instanceof Uint8Array, "realtime-js sends broadcasts as binary frames");
  const message = decodeFrame("2.0.0", frame);
  assert.equal(message.joinRef, "1");
  assert.equal(message.ref, "7");
  assert.equal(message.topic, "realtime:room");
  assert.equal(message.event, "broadcast");
  assert.ok(message.payload.kind === "user_broadcast");
  assert.equal(message.payload.event, "cursör ✓");
  assert.ok(message.payload.data.encoding === "json");
  assert.deepEqual(message.payload.data.value, { x: 1, y: [2] });
});

Deno.test("a client's binary broadcast payload stays bytes", () => {
  const bytes = new Uint8Array([0, 255, 7]);
  const frame = clientEncode({
    join_ref: "1",
    ref: null,
    topic: "realtime:room",
    event: "broadcast",
    payload: { type: "broadcast", event: "bin", payload: bytes.buffer },
  });
  const message = decodeFrame("2.0.0", frame as Uint8Array);
  assert.ok(message.payload.kind === "user_broadcast");
  assert.ok(message.payload.data.encoding === "binary");
  assert.deepEqual(message.payload.data.bytes, bytes);
});

Deno.test("client text frames decode on 2.0.0 (arrays) and 1.0.0 (objects)", () => {
  const v2 = decodeFrame(
    "2.0.0",
    clientEncode({
      join_ref: "3",
      ref: "3",
      topic: "realtime:room",
      event: "phx_join",
      payload: { config: {} },
    }),
  );
  assert.deepEqual(v2, {
    joinRef: "3",
    ref: "3",
    topic: "realtime:room",
    event: "phx_join",
    payload: { kind: "json", value: { config: {} } },
  });
  const v1 = decodeFrame(
    "1.0.0",
    JSON.stringify({ topic: "phoenix", event: "heartbeat", payload: {}, ref: "9" }),
  );
  assert.deepEqual(v1, {
    joinRef: null,
    ref: "9",
    topic: "phoenix",
    event: "heartbeat",
    payload: { kind: "json", value: {} },
  });
});

Deno.test("a database broadcast reaches realtime-js as {type, event, payload, meta}", () => {
  const frame = encodeBroadcast("2.0.0", "realtime:wisely.events:u", {
    kind: "user",
    event: "day_completed",
    data: { encoding: "json", value: { week: 1 }, text: '{"week": 1}' },
    metadata: { id: "m-1" },
  });
  assert.ok(frame instanceof Uint8Array, "kind 4, the binary kind realtime-js decodes");
  assert.deepEqual(clientDecode(frame), {
    join_ref: null,
    ref: null,
    topic: "realtime:wisely.events:u",
    event: "broadcast",
    payload: {
      type: "broadcast",
      event: "day_completed",
      payload: { week: 1 },
      meta: { id: "m-1" },
    },
  });
});

Deno.test("on 1.0.0 the same broadcast is a JSON object; binary payloads are skipped", () => {
  const frame = encodeBroadcast("1.0.0", "realtime:t", {
    kind: "user",
    event: "e",
    data: { encoding: "json", value: { a: 1 }, text: '{"a":1}' },
    metadata: { id: "m" },
  });
  assert.deepEqual(JSON.parse(frame as string), {
    topic: "realtime:t",
    event: "broadcast",
    payload: { event: "e", payload: { a: 1 }, type: "broadcast", meta: { id: "m" } },
    ref: null,
  });
  const binary = encodeBroadcast("1.0.0", "realtime:t", {
    kind: "user",
    event: "e",
    data: { encoding: "binary", bytes: new Uint8Array([1]) },
    metadata: null,
  });
  assert.equal(binary, null);
});

Deno.test("a topic too long for a length byte falls back to a JSON text broadcast", () => {
  const topic = `realtime:${"t".repeat(300)}`;
  const frame = encodeBroadcast("2.0.0", topic, {
    kind: "user",
    event: "e",
    data: { encoding: "json", value: [1], text: "[1]" },
    metadata: null,
  });
  assert.equal(typeof frame, "string");
  assert.deepEqual(clientDecode(frame!), {
    join_ref: null,
    ref: null,
    topic,
    event: "broadcast",
    payload: { event: "e", payload: [1], type: "broadcast" },
  });
});

Deno.test("replies and pushes in both versions", () => {
  const reply = {
    joinRef: "1",
    ref: "2",
    topic: "realtime:t",
    status: "ok" as const,
    response: {},
  };
  assert.deepEqual(JSON.parse(encodeReply("2.0.0", reply)), [
    "1",
    "2",
    "realtime:t",
    "phx_reply",
    { status: "ok", response: {} },
  ]);
  assert.deepEqual(JSON.parse(encodeReply("1.0.0", reply)), {
    topic: "realtime:t",
    event: "phx_reply",
    payload: { status: "ok", response: {} },
    ref: "2",
  });
  const close = { joinRef: "1", ref: "1", topic: "realtime:t", event: "phx_close", payload: {} };
  assert.deepEqual(clientDecode(encodePush("2.0.0", close)), {
    join_ref: "1",
    ref: "1",
    topic: "realtime:t",
    event: "phx_close",
    payload: {},
  });
});

Deno.test("malformed frames", () => {
  const cases: [("1.0.0" | "2.0.0"), string | Uint8Array][] = [
    ["2.0.0", "not json"],
    ["2.0.0", ""],
    ["2.0.0", "[1, 2, 3]"],
    ["2.0.0", '{"topic": "phoenix"}'],
    ["2.0.0", '[null, null, 1, "heartbeat", {}]'],
    ["2.0.0", new Uint8Array([])],
    ["2.0.0", new Uint8Array([0, 1, 1, 1, 1])],
    ["2.0.0", new Uint8Array([3, 10, 0, 0, 0, 0, 1])],
    ["2.0.0", new Uint8Array([3, 0, 0, 0, 0, 0, 9])],
    ["2.0.0", new Uint8Array([3, 0, 0, 0, 0, 0, 1, 0x7b])],
    ["2.0.0", new Uint8Array([3, 1, 0, 0, 0, 0, 1, 0xff])],
    ["1.0.0", '["1", "1", "realtime:x", "phx_join", {}]'],
    ["1.0.0", '{"topic": "t", "event": "e", "payload": {}}'],
  ];
  for (const [vsn, frame] of cases) {
    assert.throws(() => decodeFrame(vsn, frame), MalformedMessageError, String(frame));
  }
});

Deno.test("no frame makes decodeFrame throw anything but MalformedMessageError", () => {
  const frames = fc.oneof(
    fc.string(),
    fc.json(),
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => new Uint8Array([3, ...bytes])),
  );
  fc.assert(
    fc.property(frames, fc.constantFrom("1.0.0" as const, "2.0.0" as const), (frame, vsn) => {
      try {
        decodeFrame(vsn, frame);
      } catch (error) {
        assert.ok(error instanceof MalformedMessageError, String(error));
      }
    }),
    { numRuns: 2000 },
  );
});
