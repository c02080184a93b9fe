// @ts-check
/// <reference lib="dom" />
/**
 * The live feed: the learner's Realtime events (through the SDK's subscription helper), newest
 * first, each as a sentence, and the connection's state.
 */
/** @import { LearningOrchestrator } from "@wisely/sdk" */
/** @import { LearnerEvent } from "../../sdk/types.ts" */
/** @import { LearnerEventSubscription } from "../../sdk/options.ts" */
import { byId, h, showError } from "../lib/dom.js";
import { describeError } from "../lib/errors.js";
import { clock } from "../lib/format.js";

/** How many events the feed keeps on screen. */
const KEEP = 50;

/**
 * A title and a detail line for an event.
 * @param {LearnerEvent} event
 * @returns {[string, string]}
 */
export function describeEvent(event) {
  switch (event.type) {
    case "intent_synced":
      return event.created
        ? [
          "New learning intent",
          event.replaced_intent_id ? "The previous intent ended; its history stays." : "",
        ]
        : ["Learning intent updated", "Your next plans follow the changes."];
    case "instructor_plan_created": {
      const agents = event.cache_hits + event.cache_misses;
      const parts = [
        event.revision > 1 ? `Revision ${event.revision}` : "",
        `${event.cache_hits} of ${agents} agents answered from saved work`,
        event.degraded_mode ? "some parts from a fallback" : "",
      ];
      return [
        `Plan ready for week ${event.week}, day ${event.day}`,
        parts.filter(Boolean).join(" · "),
      ];
    }
    case "day_completed":
      return [
        `Completed week ${event.week}, day ${event.day}`,
        `Next up: week ${event.next_week}, day ${event.next_day}.`,
      ];
    case "intent_paused":
      return ["Learning paused", `Through ${event.paused_until}; your streak is kept meanwhile.`];
    case "intent_resumed":
      return ["Learning resumed", "Your next plans are prepared again."];
    case "intent_cancelled":
      return ["Learning intent ended", "Its sessions and completions stay in your history."];
  }
}

/** @param {"connecting" | "live" | "offline"} state */
function setState(state) {
  const element = byId("feed-state");
  element.dataset.state = state;
  element.textContent = { connecting: "Connecting…", live: "Live", offline: "Offline" }[state];
}

/**
 * @param {{ orchestrator: LearningOrchestrator, onEvent: (event: LearnerEvent) => void }} deps
 */
export function createFeedView({ orchestrator, onEvent }) {
  const list = byId("events");
  /** @type {LearnerEventSubscription | null} */
  let subscription = null;

  /** @param {LearnerEvent} event */
  function add(event) {
    const [title, detail] = describeEvent(event);
    const item = h("li", {
      className: "event",
      attrs: { "data-type": event.type },
    }, [
      h("time", {
        text: clock(event.created_at),
        attrs: { datetime: event.created_at },
      }),
      h("span", { className: "event-title", text: title }),
      h("span", { className: "event-detail", text: detail }),
    ]);
    list.prepend(item);
    while (list.children.length > KEEP) list.lastElementChild?.remove();
    byId("feed-empty").hidden = true;
    onEvent(event);
  }

  return {
    async start() {
      setState("connecting");
      try {
        subscription = await orchestrator.subscribe({
          onEvent: add,
          onStatus: (status) => setState(status === "SUBSCRIBED" ? "live" : "offline"),
        });
        setState("live");
      } catch (error) {
        setState("offline");
        showError(byId("feed-card"), describeError(error).message);
      }
    },
    async stop() {
      const current = subscription;
      subscription = null;
      await current?.unsubscribe();
      list.replaceChildren();
      byId("feed-empty").hidden = false;
      setState("connecting");
    },
  };
}
