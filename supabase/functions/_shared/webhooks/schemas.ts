/**
 * Request schemas of the webhook routes (routes/webhooks*.ts), here so the OpenAPI document
 * (openapi.ts) is generated from the same zod schemas that validate the requests.
 */
import { z } from "zod";
import { EVENT_TYPES } from "../event_schemas.ts";

/** Event types, or `["*"]` for all; read from event_schemas.ts, so new types count at once. */
export const WebhookEvents = z.array(z.string().max(64)).min(1).max(64).superRefine(
  (events, ctx) => {
    if (events.includes("*") && events.length > 1) {
      ctx.addIssue({ code: "custom", message: '"*" stands alone: it means every event type.' });
    }
    const known = new Set<string>(EVENT_TYPES);
    for (const [i, type] of events.entries()) {
      if (type === "*" || known.has(type)) continue;
      ctx.addIssue({
        code: "custom",
        path: [i],
        message: `Unknown event type; use one of ${EVENT_TYPES.join(", ")}, or "*".`,
      });
    }
  },
).transform((events) => [...new Set(events)]).describe(
  'Event types to deliver (see the Realtime events), or ["*"] for all.',
);

export const CreateWebhookBody = z.strictObject({
  url: z.string().min(1).max(2048).describe(
    "https; must not be or resolve to a private, loopback or link-local address.",
  ),
  events: WebhookEvents,
  description: z.string().max(500).optional(),
});

export const DeliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(100).optional(),
  state: z.enum(["pending", "succeeded", "failed"]).optional(),
});

export const DeliverBody = z.strictObject({
  /** No attempt starts after this long. Default 20 s. */
  budget_ms: z.int().min(100).max(40_000).default(20_000),
});
