/**
 * The body of a webhook delivery (spec 12): `{type, timestamp, data}`, where `data` is the
 * event's own payload (ids, week, day, flags: `wisely.record_event` admits nothing else) plus
 * `event_id` and `user_id`, and `timestamp` is when the event was recorded. The payload is
 * read back from the database, so it is validated as flat scalars before it leaves: a nested
 * object could only be something no event type defines.
 */
import { z } from "zod";

const Scalar = z.union([z.string().max(64), z.number(), z.boolean(), z.null()]);
const StoredPayload = z.record(z.string().max(64), Scalar);

export interface OutboxEvent {
  /** bigint, as postgres.js returns it (a string). */
  event_id: string;
  type: string;
  user_id: string;
  payload: unknown;
  created_at: Date;
}

export interface WebhookPayload {
  type: string;
  timestamp: string;
  data: Record<string, z.infer<typeof Scalar>> & { event_id: number; user_id: string };
}

export class UnexpectedPayload extends Error {
  constructor(eventId: string, options?: ErrorOptions) {
    super(`Event ${eventId} has a payload that is not flat scalars.`, options);
    this.name = "UnexpectedPayload";
  }
}

/** The body of `event`'s deliveries; throws UnexpectedPayload for a payload no type defines. */
export function webhookPayload(event: OutboxEvent): WebhookPayload {
  const parsed = StoredPayload.safeParse(event.payload);
  if (!parsed.success) throw new UnexpectedPayload(event.event_id, { cause: parsed.error });
  return {
    type: event.type,
    timestamp: event.created_at.toISOString(),
    // The row's own fields last, so a payload key can never stand in for them.
    data: { ...parsed.data, event_id: Number(event.event_id), user_id: event.user_id },
  };
}
