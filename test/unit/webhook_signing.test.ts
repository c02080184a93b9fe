/** Standard Webhooks signatures: what signing.ts makes, `standardwebhooks` verifies. */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import {
  newWebhookSecret,
  SECRET_BYTES,
  signDelivery,
} from "../../supabase/functions/_shared/webhooks/signing.ts";
import { webhookPayload } from "../../supabase/functions/_shared/webhooks/payload.ts";

Deno.test("secrets are whsec_ and 24 random bytes in base64, each new", () => {
  const a = newWebhookSecret();
  assert.match(a, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
  assert.equal(atob(a.slice("whsec_".length)).length, SECRET_BYTES);
  assert.ok(SECRET_BYTES >= 24);
  assert.notEqual(newWebhookSecret(), a);
});

Deno.test("signed headers verify with the package; any change breaks them", () => {
  const secret = newWebhookSecret();
  const body = JSON.stringify({ type: "day_completed", timestamp: "t", data: { day: 2 } });
  const headers = signDelivery(secret, "msg_1", new Date(), body);
  assert.match(headers["webhook-signature"], /^v1,[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(new Webhook(secret).verify(body, { ...headers }), JSON.parse(body));
  assert.throws(() => new Webhook(secret).verify(body.replace("2", "3"), { ...headers }));
  assert.throws(() => new Webhook(secret).verify(body, { ...headers, "webhook-id": "msg_2" }));
  assert.throws(() => new Webhook(newWebhookSecret()).verify(body, { ...headers }));
  const old = signDelivery(secret, "msg_1", new Date(Date.now() - 3600_000), body);
  assert.throws(() => new Webhook(secret).verify(body, { ...old }), "a replay an hour late");
});

Deno.test("the body is the event's fields plus event_id and user_id, row fields last", () => {
  const user = crypto.randomUUID();
  const payload = webhookPayload({
    event_id: "42",
    type: "intent_synced",
    user_id: user,
    payload: { intent_id: "i", created: true, replaced_intent_id: null, user_id: "forged" },
    created_at: new Date("2026-01-02T03:04:05.678Z"),
  });
  assert.deepEqual(payload, {
    type: "intent_synced",
    timestamp: "2026-01-02T03:04:05.678Z",
    data: { intent_id: "i", created: true, replaced_intent_id: null, event_id: 42, user_id: user },
  });
  assert.throws(() =>
    webhookPayload({
      ...{ event_id: "1", type: "x", user_id: user, created_at: new Date() },
      payload: { note: { text: "nested" } },
    })
  );
});
