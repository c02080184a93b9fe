/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-id`,
 * `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<body>">`, made with the `standardwebhooks` package, which receivers use
 * to verify them. The secret is `whsec_` and the base64 of 24 random bytes.
 */
import { Webhook } from "standardwebhooks";

/** Random bytes in a new secret: 192 bits (the specification asks for 24 to 64). */
export const SECRET_BYTES = 24;

/** A new endpoint secret, `whsec_<base64>`. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** The three headers of one attempt of `body` (sent byte for byte as signed). */
export function signDelivery(
  secret: string,
  webhookId: string,
  sentAt: Date,
  body: string,
): SignedHeaders {
  return {
    "webhook-id": webhookId,
    "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(webhookId, sentAt, body),
  };
}
