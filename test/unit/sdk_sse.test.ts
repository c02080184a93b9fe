/**
 * The SDK's Server-Sent Events reader: the WHATWG event-stream rules (fields, comments,
 * multi-line data, the three line endings, a BOM), chunks split anywhere (inside a line, a
 * `\r\n`, a UTF-8 character), an unfinished event at the end dropped, and an early exit
 * cancelling the stream.
 */
import assert from "node:assert/strict";
import { readServerSentEvents } from "../../sdk/mod.mjs";
import { splitLines } from "../../sdk/sse.mjs";

const encoder = new TextEncoder();

/** A stream that delivers `bytes` cut at `cuts`, recording whether it was cancelled. */
function streamOf(bytes: Uint8Array, cuts: number[] = []) {
  const bounds = [0, ...cuts, bytes.length];
  let next = 0;
  const state = { cancelled: false, pulls: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulls++;
      if (next >= bounds.length - 1) return controller.close();
      controller.enqueue(bytes.slice(bounds[next], bounds[next + 1]));
      next++;
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { body, state };
}

async function readAll(body: ReadableStream<Uint8Array>) {
  const events = [];
  for await (const event of readServerSentEvents(body)) events.push(event);
  return events;
}

const SAMPLE = [
  ": keep-alive comment",
  "event: agent",
  'data: {"agent":"clo","note":"naïve – ✓ 🦀"}',
  "",
  "id: 7",
  "data: first line",
  "data:second line",
  "data",
  "",
  "event: plan",
  'data: {"ok":true}',
  "",
  "",
].join("\n");

const EXPECTED = [
  { event: "agent", data: '{"agent":"clo","note":"naïve – ✓ 🦀"}', id: null },
  { event: "message", data: "first line\nsecond line\n", id: "7" },
  { event: "plan", data: '{"ok":true}', id: "7" },
];

Deno.test("sse: fields, comments, multi-line data, default event name, last id", async () => {
  assert.deepEqual(
    await readAll(streamOf(encoder.encode(SAMPLE)).body),
    EXPECTED,
  );
});

Deno.test("sse: the same events whatever byte the chunks are cut at", async () => {
  const bytes = encoder.encode(SAMPLE);
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(
      await readAll(streamOf(bytes, [cut]).body),
      EXPECTED,
      `cut at ${cut}`,
    );
  }
  // One byte per chunk: every UTF-8 character arrives in pieces.
  const everyByte = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
  assert.deepEqual(await readAll(streamOf(bytes, everyByte).body), EXPECTED);
});

Deno.test("sse: \\r\\n and \\r line endings, split between chunks too, and a BOM", async () => {
  for (const ending of ["\r\n", "\r"]) {
    const text = "\uFEFF" + SAMPLE.replaceAll("\n", ending);
    const bytes = encoder.encode(text);
    for (let cut = 1; cut < bytes.length; cut += 3) {
      assert.deepEqual(
        await readAll(streamOf(bytes, [cut]).body),
        EXPECTED,
        JSON.stringify(ending),
      );
    }
  }
});

Deno.test("sse: an event the stream did not finish is dropped", async () => {
  const events = await readAll(
    streamOf(encoder.encode("event: agent\ndata: 1\n\nevent: plan\ndata: 2"))
      .body,
  );
  assert.deepEqual(events.map((e) => e.event), ["agent"]);
  // …but a final line ending that is a lone \r still ends its line.
  const ended = await readAll(streamOf(encoder.encode("data: 1\n\r")).body);
  assert.deepEqual(ended.map((e) => e.data), ["1"]);
});

Deno.test("sse: leaving the loop early cancels the stream", async () => {
  const { body, state } = streamOf(encoder.encode(SAMPLE), [40, 80]);
  for await (const event of readServerSentEvents(body)) {
    assert.equal(event.event, "agent");
    break;
  }
  assert.equal(state.cancelled, true);
});

Deno.test("sse: splitLines keeps a trailing \\r for the next chunk", () => {
  assert.deepEqual(splitLines("a\r\nb\nc\rd\r"), {
    lines: ["a", "b", "c"],
    rest: "d\r",
  });
  assert.deepEqual(splitLines("no ending"), { lines: [], rest: "no ending" });
});
