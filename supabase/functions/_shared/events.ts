/**
 * State-change events. Written into `wisely.events` inside the transaction that makes the
 * change; a trigger broadcasts them on Realtime. Payloads are ids, week, day and flags only.
 */
import { jsonb, type Tx } from "./db.ts";

export interface EventPayloads {
  intent_synced: { intent_id: string; created: boolean; replaced_intent_id: string | null };
  instructor_plan_created: {
    session_id: string;
    intent_id: string;
    week: number;
    day: number;
    revision: number;
    degraded_mode: boolean;
    cache_hits: number;
    cache_misses: number;
  };
  day_completed: {
    session_id: string;
    intent_id: string;
    week: number;
    day: number;
    next_week: number;
    next_day: number;
  };
}

export type EventType = keyof EventPayloads;

export async function recordEvent<T extends EventType>(
  tx: Tx,
  userId: string,
  type: T,
  payload: EventPayloads[T],
): Promise<void> {
  await tx`
    insert into wisely.events (user_id, type, payload)
    values (${userId}, ${type}, ${jsonb(tx, payload)})
  `;
}
