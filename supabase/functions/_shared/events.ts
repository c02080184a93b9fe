/**
 * State-change events. Written into `wisely.events` inside the transaction that makes the
 * change; a trigger broadcasts them on Realtime. Payloads are ids, week, day and flags only.
 *
 * Users cannot insert events themselves: `wisely.record_event` (migration 20260101000600) writes
 * them with `user_id = auth.uid()` and `now()`, and accepts only the keys of the type's schema
 * (event_schemas.ts), each of its kind, naming the caller's own rows as stored. Keep the two in
 * step.
 */
import type { z } from "zod";
import { jsonb, type Tx } from "./db.ts";
import type { EventPayloadSchemas, EventType } from "./event_schemas.ts";

export type { EventType };
/** Each event type's payload, from its zod schema (event_schemas.ts). */
export type EventPayloads = { [T in EventType]: z.infer<(typeof EventPayloadSchemas)[T]> };

/**
 * Records an event for the transaction's user (auth.uid()). The statement is handed to the
 * connection when this is called (`execute`; a bare `await` would do it a microtask later), so
 * it runs after the statements sent before the call and before those sent after it.
 */
export async function recordEvent<T extends EventType>(
  tx: Tx,
  type: T,
  payload: EventPayloads[T],
): Promise<void> {
  await tx`select wisely.record_event(${type}, ${jsonb(tx, payload)})`.execute();
}
