/**
 * The local Realtime's topics: public and private topics of one name are apart, a sender
 * without `self` is skipped, and each protocol version gets its own encoding of a message.
 */
import assert from "node:assert/strict";
import { Hub, type Subscriber, topicKey } from "../../dev/realtime/hub.ts";
import { negotiateVsn } from "../../dev/realtime/connect.ts";
import type { Broadcast, Vsn } from "../../dev/realtime/serializer.ts";

function subscriber(vsn: Vsn, topic = "realtime:room") {
  const frames: (string | Uint8Array)[] = [];
  const sub: Subscriber = { vsn, topic, deliver: (frame) => frames.push(frame) };
  return { sub, frames };
}

const MESSAGE: Broadcast = {
  kind: "user",
  event: "e",
  data: { encoding: "json", value: { a: 1 }, text: '{"a":1}' },
  metadata: { id: "m" },
};

Deno.test("private and public topics of one name are different topics", () => {
  const hub = new Hub();
  const open = subscriber("2.0.0");
  const closed = subscriber("2.0.0");
  hub.subscribe(topicKey("room", false), open.sub);
  hub.subscribe(topicKey("room", true), closed.sub);
  hub.publish(topicKey("room", true), MESSAGE);
  assert.equal(open.frames.length, 0);
  assert.equal(closed.frames.length, 1);
  assert.equal(hub.size, 2);
  hub.unsubscribe(topicKey("room", true), closed.sub);
  hub.unsubscribe(topicKey("room", true), closed.sub);
  assert.equal(hub.size, 1);
});

Deno.test("the sender is skipped when given; versions get their own frames", () => {
  const hub = new Hub();
  const sender = subscriber("2.0.0");
  const v2 = subscriber("2.0.0");
  const v1 = subscriber("1.0.0");
  for (const { sub } of [sender, v2, v1]) hub.subscribe("public:room", sub);
  hub.publish("public:room", MESSAGE, sender.sub);
  assert.equal(sender.frames.length, 0);
  assert.ok(v2.frames[0] instanceof Uint8Array);
  assert.deepEqual(JSON.parse(v1.frames[0] as string).payload.meta, { id: "m" });
});

Deno.test("Phoenix's version negotiation: ~> 1.0.0 and ~> 2.0.0, 1.0.0 by default", () => {
  assert.equal(negotiateVsn(null), "1.0.0");
  assert.equal(negotiateVsn("2.0.0"), "2.0.0");
  assert.equal(negotiateVsn("2.0.7"), "2.0.0");
  assert.equal(negotiateVsn("1.0.1"), "1.0.0");
  for (const vsn of ["2.1.0", "3.0.0", "2", "", "2.0.0-rc.1", "latest"]) {
    assert.equal(negotiateVsn(vsn), null, vsn);
  }
});
