// @ts-check
/// <reference lib="dom" />
/**
 * The intent form: topic, goal, depth, minutes a day, time zone (the browser's preselected)
 * and the local time the next plan is due. The API validates; its answer is shown per field.
 */
/** @import { LearningOrchestrator } from "@wisely/sdk" */
/** @import { IntentSyncRequest, StatusResponse } from "../../sdk/types.ts" */
import { byId, clearMessages, h, showError, showOk, whileBusy } from "../lib/dom.js";
import { describeError } from "../lib/errors.js";

/** API field → form control. */
const CONTROLS = /** @type {Record<string, string>} */ ({
  topic: "intent-topic",
  end_goal: "intent-goal",
  depth: "intent-depth",
  time_per_day_min: "intent-minutes",
  user_tz: "intent-tz",
  plan_time: "intent-plan-time",
  meta: "intent-plan-time",
});

/** The browser's IANA zone (what the intent's `user_tz` should be unless the learner says). */
export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Fills the zone list once, with `selected` chosen (added if the runtime does not list it). */
function fillZones(
  /** @type {HTMLSelectElement} */ select,
  /** @type {string} */ selected,
) {
  if (select.options.length === 0) {
    const zones = typeof Intl.supportedValuesOf === "function"
      ? Intl.supportedValuesOf("timeZone")
      : [];
    for (const zone of zones.length ? zones : ["UTC"]) {
      select.append(h("option", { text: zone }));
    }
  }
  if (![...select.options].some((o) => o.value === selected)) {
    select.append(h("option", { text: selected }));
  }
  select.value = selected;
}

/** @param {string} id */
const value = (id) => /** @type {HTMLInputElement} */ (byId(id)).value;
/** @param {string} id @param {string} text */
const set = (id, text) => (/** @type {HTMLInputElement} */ (byId(id)).value = text);

/** The form as intent.sync's body. */
function read() {
  const minutesText = value("intent-minutes").trim();
  /** @type {IntentSyncRequest} */
  const intent = {
    topic: value("intent-topic"),
    end_goal: value("intent-goal"),
    depth: /** @type {IntentSyncRequest["depth"]} */ (value("intent-depth")),
    // Not a number stays not a number: the API says what is wrong with it.
    time_per_day_min: minutesText === "" ? Number.NaN : Number(minutesText),
    user_tz: value("intent-tz"),
    meta: { plan_time: value("intent-plan-time") },
  };
  return intent;
}

/** Fills the form from the active intent (or, without one, just the browser's zone). */
function fill(/** @type {StatusResponse["active_intent"]} */ intent) {
  const zones = /** @type {HTMLSelectElement} */ (byId("intent-tz"));
  if (!intent) {
    fillZones(zones, browserTimeZone());
    return;
  }
  set("intent-topic", intent.topic);
  set("intent-goal", intent.end_goal);
  set("intent-depth", intent.depth);
  set("intent-minutes", String(intent.time_per_day_min));
  const planTime = intent.meta.plan_time;
  set("intent-plan-time", typeof planTime === "string" ? planTime : "07:00");
  fillZones(zones, intent.user_tz);
}

/** Shows the API's refusal: the sentence, and the fields it names marked and focused. */
function showRefusal(/** @type {unknown} */ error) {
  const { message, fields } = describeError(error);
  showError(byId("intent-card"), message);
  const controls = fields.map((field) => CONTROLS[field]).filter(Boolean);
  for (const id of controls) byId(id).setAttribute("aria-invalid", "true");
  if (controls[0]) byId(controls[0]).focus();
}

/** @param {{ orchestrator: LearningOrchestrator, onSaved: () => void }} deps */
export function createIntentView({ orchestrator, onSaved }) {
  const form = /** @type {HTMLFormElement} */ (byId("intent-form"));
  const card = byId("intent-card");
  /** The active intent's id, to tell a new intent from an update. */
  let currentId = /** @type {string | null} */ (null);
  /** The learner has typed since the last fill: a status refresh must not overwrite it. */
  let edited = false;
  form.addEventListener("input", () => (edited = true));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearMessages(card);
    const button = /** @type {HTMLButtonElement} */ (byId("intent-submit"));
    try {
      const saved = await whileBusy(button, () => orchestrator.createIntent(read()));
      const fresh = saved.intent_id !== currentId;
      currentId = saved.intent_id;
      edited = false;
      showOk(card, fresh ? "New intent saved. Your next plan follows it." : "Intent updated.");
      onSaved();
    } catch (error) {
      showRefusal(error);
    }
  });

  return {
    /** Shows the active intent, unless the learner is in the middle of editing the form. */
    render(/** @type {StatusResponse} */ status) {
      currentId = status.active_intent?.id ?? null;
      byId("intent-submit").textContent = status.active_intent ? "Update intent" : "Save intent";
      if (!edited) fill(status.active_intent);
    },
    reset() {
      form.reset();
      currentId = null;
      edited = false;
      clearMessages(card);
    },
  };
}
