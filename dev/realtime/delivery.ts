/**
 * Delivery from the database: every `realtime.messages` row with `extension = 'broadcast'`
 * (what `realtime.send` inserts) goes to the subscribers of its topic, in commit order, as
 * Supabase Realtime's ReplicationConnection sends rows it reads from the WAL: a user broadcast
 * of the row's `event` and JSON `payload`, with `meta: {id}`. Rows without an event or a
 * payload are skipped, as Realtime skips them.
 *
 * How rows are found depends on the database (delivery_listen.ts, delivery_poll.ts).
 */
import { z } from "zod";
import { type Hub, topicKey } from "./hub.ts";
import type { RealtimeLog } from "./log.ts";
import type { Broadcast } from "./serializer.ts";

/** A stored message, as read from `realtime.messages` or its notification. */
export const MessageRow = z.object({
  id: z.string(),
  topic: z.string(),
  event: z.string().nullable(),
  private: z.boolean().nullable(),
  payload: z.unknown(),
});
export type MessageRow = z.infer<typeof MessageRow>;

export interface Delivery {
  /** Stops reading; resolves once nothing is in flight. */
  stop(): Promise<void>;
}

/** Hands one row to the hub. */
export type Deliver = (row: MessageRow) => void;

export function createDeliver(hub: Hub, log: RealtimeLog): Deliver {
  return (row) => {
    if (row.event === null || row.payload === null || row.payload === undefined) {
      log({
        level: "info",
        code: "UnableToBroadcastChanges",
        message: `Message ${row.id} has no ${row.event === null ? "event" : "payload"}`,
        topic: row.topic,
      });
      return;
    }
    const broadcast: Broadcast = {
      kind: "user",
      event: row.event,
      data: { encoding: "json", value: row.payload, text: JSON.stringify(row.payload) },
      metadata: { id: row.id },
    };
    hub.publish(topicKey(row.topic, row.private ?? false), broadcast);
  };
}
