// @ts-check
/// <reference lib="dom" />
/**
 * "Take a break": pause the intent through a date (or, without one, until resumed: at most 60
 * days), and "Resume now". While paused nothing is prepared and the streak is kept (spec 12);
 * the progress card says so. The dates are the learner's local days, in the intent's zone.
 */
/** @import { LearningOrchestrator } from "@wisely/sdk" */
/** @import { StatusResponse } from "../../sdk/types.ts" */
import { byId, clearMessages, showError, showOk, whileBusy } from "../lib/dom.js";
import { describeError } from "../lib/errors.js";

/** @param {{ orchestrator: LearningOrchestrator, onChange: () => Promise<unknown> }} deps */
export function createPauseView({ orchestrator, onChange }) {
  const card = byId("status-card");
  const controls = byId("pause-controls");
  const pause = /** @type {HTMLButtonElement} */ (byId("pause-button"));
  const resume = /** @type {HTMLButtonElement} */ (byId("resume-button"));
  const until = /** @type {HTMLInputElement} */ (byId("pause-until"));

  /** @param {() => Promise<string>} action */
  const run = (/** @type {HTMLButtonElement} */ button, action) =>
    whileBusy(button, async () => {
      clearMessages(card);
      try {
        const message = await action();
        await onChange();
        showOk(card, message);
      } catch (error) {
        showError(card, describeError(error).message);
      }
    });

  pause.addEventListener("click", () =>
    run(pause, async () => {
      const body = until.value === "" ? {} : { until: until.value };
      const { paused_until } = await orchestrator.pauseIntent(body);
      return `Paused through ${paused_until}. Your streak is kept meanwhile.`;
    }));
  resume.addEventListener("click", () =>
    run(resume, async () => {
      await orchestrator.resumeIntent();
      return "Welcome back: plans are prepared again from today.";
    }));

  return {
    /** @param {StatusResponse} status */
    render(status) {
      const intent = status.active_intent;
      controls.hidden = !intent;
      const paused = intent?.paused_until != null;
      pause.textContent = paused ? "Change the break" : "Take a break";
      resume.hidden = !paused;
    },
    reset() {
      clearMessages(card);
      until.value = "";
      controls.hidden = true;
    },
  };
}
