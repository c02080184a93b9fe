/**
 * The events a client receives, as zod schemas: the one place their shapes are written down.
 * `events.ts` takes the payload types from here, the SDK (`sdk/types.ts`) its event types, and
 * the tests check real Realtime messages and SSE events against them.
 *
 * - Realtime: each `wisely.events` row is broadcast on `wisely.events:<user_id>` with the event
 *   type as the broadcast's `event` and, as its `payload`, the row's payload followed by the
 *   row's own fields (`broadcast_event`, migration 20260101000600). The payload keys are those
 *   `wisely.event_payload_spec` allows (same migration): keep the two in step.
 * - Server-Sent Events of `day.run` (routes/day_run.ts): `agent` per settled agent, then `plan`
 *   (the route's JSON body), or `error` when the run fails after streaming started.
 */
import { z } from "zod";
import { AGENT_NAMES } from "./agents/protocol.ts";
import { DaySchema, WeekSchema } from "./day_range.ts";
import { SIGNAL_SOURCES } from "./responses.ts";

// The kinds of wisely.event_payload_spec: uuid, flag, week (1..520), day (1..7),
// count (0..2^31-1), revision (1..2^31-1), date (YYYY-MM-DD, a local date).
const INT4_MAX = 2147483647;
const uuid = z.uuid();
const flag = z.boolean();
const week = WeekSchema;
const day = DaySchema;
const count = z.int().min(0).max(INT4_MAX);
const revision = z.int().min(1).max(INT4_MAX);
const date = z.iso.date();

/** What the orchestrator records per event type: ids, week, day and flags, never user text. */
export const EventPayloadSchemas = {
  intent_synced: z.strictObject({
    intent_id: uuid,
    created: flag,
    replaced_intent_id: uuid.nullable(),
  }),
  instructor_plan_created: z.strictObject({
    session_id: uuid,
    intent_id: uuid,
    week,
    day,
    revision,
    degraded_mode: flag,
    cache_hits: count,
    cache_misses: count,
  }),
  day_completed: z.strictObject({
    session_id: uuid,
    intent_id: uuid,
    week,
    day,
    next_week: week,
    next_day: day,
  }),
  /** Paused through `paused_until` (the last paused local day); sent again when it moves. */
  intent_paused: z.strictObject({ intent_id: uuid, paused_until: date }),
  intent_resumed: z.strictObject({ intent_id: uuid }),
  intent_cancelled: z.strictObject({ intent_id: uuid }),
} as const;

export type EventType = keyof typeof EventPayloadSchemas;
export const EVENT_TYPES = Object.keys(EventPayloadSchemas) as EventType[];

/**
 * The row's own fields, which the broadcast applies after the payload, and the id Realtime
 * gives the `realtime.messages` row it delivers.
 */
const envelope = {
  event_id: z.int().min(1),
  user_id: uuid,
  created_at: z.iso.datetime({ offset: true }).describe(
    "timestamptz as Postgres prints it",
  ),
  id: uuid.optional().describe(
    "The Realtime message's id, when Realtime sends it.",
  ),
};

/** A broadcast's `payload` on `wisely.events:<user_id>`, told apart by `type`. */
export const LearnerEvent = z.discriminatedUnion("type", [
  EventPayloadSchemas.intent_synced.extend({
    type: z.literal("intent_synced"),
    ...envelope,
  }),
  EventPayloadSchemas.instructor_plan_created.extend({
    type: z.literal("instructor_plan_created"),
    ...envelope,
  }),
  EventPayloadSchemas.day_completed.extend({
    type: z.literal("day_completed"),
    ...envelope,
  }),
  EventPayloadSchemas.intent_paused.extend({ type: z.literal("intent_paused"), ...envelope }),
  EventPayloadSchemas.intent_resumed.extend({ type: z.literal("intent_resumed"), ...envelope }),
  EventPayloadSchemas.intent_cancelled.extend({
    type: z.literal("intent_cancelled"),
    ...envelope,
  }),
]);

/** day.run's SSE `agent` event: one agent settled (spec 5.4). */
export const DayRunAgentEvent = z.strictObject({
  agent: z.enum(AGENT_NAMES),
  source: z.enum(SIGNAL_SOURCES),
  available: z.boolean(),
  fresh: z.boolean(),
  latency_ms: z.int().min(0),
});

/** day.run's SSE `error` event: the run failed after the stream started. */
export const DayRunErrorEvent = z.strictObject({
  error: z.string(),
  code: z.string(),
});
