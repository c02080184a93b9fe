// @ts-check
/**
 * The learner's Realtime events: a private broadcast channel `wisely.events:<user_id>` that
 * only that user may join (RLS on realtime.messages), carrying one message per state change.
 */
/** @import { RealtimeChannel, SupabaseClient } from "@supabase/supabase-js" */
/** @import { LearnerEvent, LearnerEventType } from "./types.ts" */
/** @import { LearnerEventSubscription, SubscribeOptions } from "./options.ts" */
import { OrchestratorError } from "./errors.mjs";

/** The event types the API broadcasts (event_schemas.ts). */
export const LEARNER_EVENT_TYPES = /** @type {const} */ ([
  "intent_synced",
  "instructor_plan_created",
  "day_completed",
  "intent_paused",
  "intent_resumed",
  "intent_cancelled",
]);

/** @param {unknown} value @returns {value is LearnerEventType} */
function isKnownType(value) {
  return LEARNER_EVENT_TYPES.some((type) => type === value);
}

/**
 * A broadcast's payload as a `LearnerEvent`, or null when it is not one of the known types.
 * The payload's shape is the API's (checked against its zod schema in the SDK's tests); here
 * only what tells one event from another is checked.
 * @param {string} event
 * @param {unknown} payload
 * @returns {LearnerEvent | null}
 */
export function toLearnerEvent(event, payload) {
  if (!isKnownType(event) || typeof payload !== "object" || payload === null) {
    return null;
  }
  const fields = /** @type {Record<string, unknown>} */ (payload);
  if (fields.type !== event || typeof fields.user_id !== "string") return null;
  return /** @type {LearnerEvent} */ (fields);
}

/**
 * Subscribes; resolves with null once joined, or with the error that ended the first attempt.
 * Later status changes go to `onStatus`.
 * @param {RealtimeChannel} channel
 * @param {SubscribeOptions} options
 * @returns {Promise<OrchestratorError | null>}
 */
function joinChannel(channel, options) {
  return new Promise((resolve) => {
    /** @type {"joining" | "joined" | "failed"} */
    let state = "joining";
    channel.subscribe((status, error) => {
      if (state === "joined") options.onStatus?.(status, error);
      if (state !== "joining") return; // statuses of a failed join (its CLOSED) end here
      if (status === "SUBSCRIBED") {
        state = "joined";
        resolve(null);
        return;
      }
      state = "failed";
      const reason = (error?.message ?? status.toLowerCase().replace("_", " "))
        .replace(/[.\s]+$/, "");
      resolve(
        new OrchestratorError(`Could not listen for live updates: ${reason}.`, {
          status: 0,
          code: "REALTIME_ERROR",
          cause: error,
        }),
      );
    }, options.timeoutMs ?? 10_000);
  });
}

/** @param {SupabaseClient} supabase @returns {Promise<string>} */
async function signedInUserId(supabase) {
  const { data } = await supabase.auth.getSession();
  const id = data.session?.user.id;
  if (!id) {
    throw new OrchestratorError(
      "Sign in before subscribing to the learner's events.",
      {
        status: 401,
        code: "UNAUTHORIZED",
      },
    );
  }
  return id;
}

/**
 * Joins the learner's private channel; resolves once joined, rejects with an
 * `OrchestratorError` (`REALTIME_ERROR`) when the join is refused or times out.
 * @param {SupabaseClient} supabase
 * @param {SubscribeOptions} options
 * @returns {Promise<LearnerEventSubscription>}
 */
export async function subscribeToLearnerEvents(supabase, options) {
  const userId = options.userId ?? await signedInUserId(supabase);
  const topic = `wisely.events:${userId}`;
  if (supabase.getChannels().some((c) => c.topic === `realtime:${topic}`)) {
    throw new OrchestratorError(
      "This client already listens to these events; unsubscribe the other subscription first.",
      { status: 0, code: "REALTIME_ERROR" },
    );
  }
  const channel = supabase.channel(topic, { config: { private: true } });
  channel.on("broadcast", { event: "*" }, (message) => {
    const event = toLearnerEvent(String(message.event), message.payload);
    if (event) options.onEvent(event);
    else options.onOther?.(String(message.event), message.payload);
  });
  const unsubscribe = async () => {
    await supabase.removeChannel(channel);
  };
  const failure = await joinChannel(channel, options);
  if (failure) {
    await unsubscribe();
    throw failure;
  }
  return { topic, userId, channel, unsubscribe };
}
