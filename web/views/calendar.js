// @ts-check
/// <reference lib="dom" />
/**
 * "Add to calendar": a private feed URL of the next 14 learning days (calendar.link), shown
 * with a copy button and a `webcal://` link that opens the calendar app, and "Stop sharing",
 * which revokes it. The server keeps only the URL's hash, so the address is shown once: a new
 * click makes a new address and the old one stops working.
 */
/** @import { LearningOrchestrator } from "@wisely/sdk" */
import { byId, clearMessages, showError, showOk, whileBusy } from "../lib/dom.js";
import { describeError } from "../lib/errors.js";

/** The feed URL as calendar apps subscribe to it (`webcal://`, the same host and path). */
export function webcalUrl(/** @type {string} */ url) {
  return url.replace(/^https?:/, "webcal:");
}

/** The card's controls, looked up once. */
function calendarElements() {
  return {
    card: byId("calendar-card"),
    add: /** @type {HTMLButtonElement} */ (byId("calendar-add")),
    stop: /** @type {HTMLButtonElement} */ (byId("calendar-stop")),
    copy: /** @type {HTMLButtonElement} */ (byId("calendar-copy")),
    field: /** @type {HTMLInputElement} */ (byId("calendar-url")),
    webcal: /** @type {HTMLAnchorElement} */ (byId("calendar-webcal")),
  };
}

/** @typedef {ReturnType<typeof calendarElements>} CalendarElements */

/**
 * Shows the feed address, or hides the link when there is none.
 * @param {CalendarElements} elements
 * @param {string | null} url
 */
function showLink({ add, field, webcal }, url) {
  byId("calendar-link").hidden = url === null;
  field.value = url ?? "";
  webcal.href = url === null ? "#" : webcalUrl(url);
  add.textContent = url === null ? "Add to calendar" : "Get a new address";
}

/**
 * "Add to calendar" (or "Get a new address"): a new address, shown and selected.
 * @param {CalendarElements} elements
 * @param {LearningOrchestrator} orchestrator
 */
function wireAdd(elements, orchestrator) {
  const { card, add, field } = elements;
  add.addEventListener("click", () =>
    whileBusy(add, async () => {
      clearMessages(card);
      try {
        const { url } = await orchestrator.calendarLink();
        showLink(elements, url);
        showOk(card, "Your calendar address is ready. Any earlier one no longer works.");
        field.focus();
        field.select();
      } catch (error) {
        showError(card, describeError(error).message);
      }
    }));
}

/**
 * "Stop sharing": revokes the address.
 * @param {CalendarElements} elements
 * @param {LearningOrchestrator} orchestrator
 */
function wireStop(elements, orchestrator) {
  const { card, stop } = elements;
  stop.addEventListener("click", () =>
    whileBusy(stop, async () => {
      clearMessages(card);
      try {
        const { revoked } = await orchestrator.revokeCalendarLink();
        showLink(elements, null);
        showOk(
          card,
          revoked
            ? "Sharing stopped: the calendar address no longer works."
            : "There was no calendar address to stop.",
        );
      } catch (error) {
        showError(card, describeError(error).message);
      }
    }));
}

/**
 * "Copy": the address to the clipboard, or selected for the learner to copy.
 * @param {CalendarElements} elements
 */
function wireCopy({ card, copy, field }) {
  copy.addEventListener("click", async () => {
    clearMessages(card);
    try {
      await navigator.clipboard.writeText(field.value);
      showOk(card, "Address copied.");
    } catch {
      // No clipboard access (an insecure origin, a refused permission): let them copy it.
      field.focus();
      field.select();
      showOk(card, "Press Ctrl+C (⌘C) to copy the selected address.");
    }
  });
}

/** @param {{ orchestrator: LearningOrchestrator }} deps */
export function createCalendarView({ orchestrator }) {
  const elements = calendarElements();
  wireAdd(elements, orchestrator);
  wireStop(elements, orchestrator);
  wireCopy(elements);
  return {
    reset() {
      clearMessages(elements.card);
      showLink(elements, null);
    },
  };
}
