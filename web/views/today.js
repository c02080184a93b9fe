// @ts-check
/// <reference lib="dom" />
/**
 * Today's plan: which day is next, the run with each agent's progress as it settles (day.run's
 * Server-Sent Events through the SDK), the plan rendered from Markdown, and the completion form.
 */
/** @import { LearningOrchestrator } from "@wisely/sdk" */
/** @import { DayRunAgentEvent, DayRunResult, StatusResponse } from "../../sdk/types.ts" */
import { byId, clearMessages, h, showError, whileBusy } from "../lib/dom.js";
import { describeError } from "../lib/errors.js";
import { minutes, weekDay } from "../lib/format.js";
import { renderMarkdown } from "../lib/markdown.js";

/** The agents and what they do for the learner (spec 6.1). */
const AGENTS = /** @type {const} */ ([
  ["clo", "Curriculum lead", "today's focus"],
  ["alex", "Researcher", "resources"],
  ["ta", "Teaching assistant", "practice"],
  ["socratic", "Socratic tutor", "reflection"],
]);

/** How an agent's answer came, in words. */
const SOURCES = /** @type {Record<DayRunAgentEvent["source"], [string, string]>} */ ({
  cache: ["ready", "Saved answer"],
  revalidated: ["ready", "Still current"],
  network: ["ready", "New answer"],
  stale: ["stale", "Older answer"],
  fallback: ["fallback", "Unavailable, fallback used"],
});

/**
 * What the card shows and knows.
 * @typedef {object} Today
 * @property {LearningOrchestrator} orchestrator
 * @property {() => void} onChange Called after a completion (status and history change).
 * @property {StatusResponse | null} status The latest status.
 * @property {{ id: string, week: number, day: number } | null} shown The open plan on screen.
 * @property {boolean} running A run is streaming.
 */

/**
 * The day to show: the latest session while it is open, else the next scheduled one.
 * @param {StatusResponse} status
 * @returns {{ week: number, day: number, open: string | null }}
 */
export function currentDay(status) {
  const latest = status.latest_session;
  if (latest && !latest.completion) return { week: latest.week, day: latest.day, open: latest.id };
  const next = status.next_scheduled_run;
  return { week: next?.week ?? 1, day: next?.day ?? 1, open: null };
}

/** @param {string} name */
function agentItem(name) {
  const known = AGENTS.find(([id]) => id === name);
  return h("li", { className: "agent", attrs: { "data-agent": name, "data-state": "waiting" } }, [
    h("span", { className: "agent-dot", attrs: { "aria-hidden": "true" } }),
    h("span", { className: "agent-name", text: known ? known[1] : name }),
    h("span", { className: "agent-detail", text: `Waiting… (${known ? known[2] : "signals"})` }),
  ]);
}

/** Marks one agent settled, with how its answer came and how long it took. */
function settle(/** @type {DayRunAgentEvent} */ event) {
  const agents = byId("agents");
  let item = agents.querySelector(`[data-agent="${CSS.escape(event.agent)}"]`);
  if (!item) agents.append(item = agentItem(event.agent));
  const [state, words] = SOURCES[event.source] ?? ["ready", "Ready"];
  item.setAttribute("data-state", state);
  const detail = item.querySelector(".agent-detail");
  if (detail) detail.textContent = `${words}\n${event.latency_ms} ms`;
}

/** Shows a plan; a stored one gets the completion form, a provisional one a notice. */
function showPlan(/** @type {Today} */ today, /** @type {DayRunResult} */ plan) {
  byId("plan-body").replaceChildren(renderMarkdown(plan.plan_md));
  byId("plan-degraded").hidden = !plan.degraded_mode;
  byId("plan").hidden = false;
  byId("done").hidden = true;
  byId("today-actions").hidden = true;
  const form = byId("completion-form");
  if (plan.session_id === null) {
    const wait = "provisional" in plan ? plan.retry_after_s : 30;
    showError(
      byId("today-card"),
      `This plan is a preview while your day is still being prepared. ` +
        `Try again in ${wait} seconds to keep it.`,
    );
    form.hidden = true;
    today.shown = null;
    return;
  }
  today.shown = { id: plan.session_id, week: plan.week, day: plan.day };
  const minutesInput = /** @type {HTMLInputElement} */ (byId("completion-minutes"));
  minutesInput.value = String(today.status?.active_intent?.time_per_day_min ?? 30);
  form.hidden = false;
}

/** Runs (or opens) a day, with live progress when the agents are asked. */
async function run(
  /** @type {Today} */ today,
  /** @type {number} */ week,
  /** @type {number} */ day,
) {
  clearMessages(byId("today-card"));
  today.running = true;
  const agents = byId("agents");
  const progress = byId("progress");
  agents.replaceChildren(...AGENTS.map(([name]) => agentItem(name)));
  agents.setAttribute("aria-busy", "true");
  progress.hidden = false;
  byId("plan").hidden = true;
  byId("completion-form").hidden = true;
  let asked = false;
  try {
    const research = /** @type {HTMLInputElement} */ (byId("run-research")).checked;
    for await (const step of today.orchestrator.runDay(week, day, { research })) {
      if (step.type === "agent") {
        asked = true;
        settle(step.data);
      } else {
        showPlan(today, step.data);
      }
    }
    if (!asked) progress.hidden = true; // a stored plan: no agent was asked
    if (!byId("plan").hidden) byId("plan").focus();
  } catch (error) {
    progress.hidden = !asked;
    showError(byId("today-card"), describeError(error).message);
    byId("today-actions").hidden = false;
  } finally {
    agents.removeAttribute("aria-busy");
    today.running = false;
  }
}

/** The completion summary (and the next day's hint, when there is one). */
function showDone(
  /** @type {{ week: number, day: number }} */ session,
  /** @type {{ completion_time_min: number, confidence: number }} */ completion,
  /** @type {string} */ hint,
) {
  byId("done-summary").textContent = `${weekDay(session.week, session.day)}: ` +
    `${minutes(completion.completion_time_min)}, confidence ${completion.confidence} of 10.`;
  byId("done-hint").textContent = hint;
  byId("done").hidden = false;
}

/** Records the completion of the open plan from the form. */
async function complete(/** @type {Today} */ today) {
  const form = /** @type {HTMLFormElement} */ (byId("completion-form"));
  const session = today.shown;
  if (!session) return;
  clearMessages(form);
  const minutesText = /** @type {HTMLInputElement} */ (byId("completion-minutes")).value.trim();
  const confidence = /** @type {HTMLInputElement} */ (byId("completion-confidence"));
  const notes = /** @type {HTMLTextAreaElement} */ (byId("completion-notes")).value.trim();
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
  try {
    const done = await whileBusy(submit, () =>
      today.orchestrator.completeDay(session.id, {
        // Not a number stays not a number: the API says what is wrong with it.
        completion_time_min: minutesText === "" ? Number.NaN : Number(minutesText),
        confidence: Number(confidence.value),
        notes: notes === "" ? null : notes,
      }));
    showDone(session, done.completion_summary, done.next_day_hint);
    for (const id of ["plan", "completion-form", "progress"]) byId(id).hidden = true;
    form.reset();
    byId("completion-confidence-value").textContent = confidence.value;
    today.shown = null;
    today.onChange();
  } catch (error) {
    const { message, fields } = describeError(error);
    showError(form, message);
    if (fields.includes("completion_time_min")) {
      byId("completion-minutes").setAttribute("aria-invalid", "true");
      byId("completion-minutes").focus();
    }
  }
}

/** Follows the status: which day is next, and opens a plan that is still open. */
function render(/** @type {Today} */ today, /** @type {StatusResponse} */ status) {
  today.status = status;
  const hasIntent = status.active_intent !== null;
  byId("today-empty").hidden = hasIntent;
  byId("today-day").hidden = !hasIntent;
  if (!hasIntent || today.running) {
    byId("today-actions").hidden = true;
    return;
  }
  const target = currentDay(status);
  byId("today-day").textContent = weekDay(target.week, target.day);
  const runButton = /** @type {HTMLButtonElement} */ (byId("run-day"));
  if (target.open !== null) {
    // A plan made earlier (here, elsewhere, or by the daily tick) and not completed yet.
    if (today.shown?.id !== target.open) {
      whileBusy(runButton, () => run(today, target.week, target.day));
    }
    return;
  }
  const latest = status.latest_session;
  if (latest?.completion && byId("done").hidden && today.shown === null) {
    showDone(latest, latest.completion, "");
  }
  runButton.textContent = latest
    ? `Start week ${target.week}, day ${target.day}`
    : "Get today's plan";
  byId("today-actions").hidden = false;
}

/** @param {{ orchestrator: LearningOrchestrator, onChange: () => void }} deps */
export function createTodayView({ orchestrator, onChange }) {
  /** @type {Today} */
  const today = { orchestrator, onChange, status: null, shown: null, running: false };
  const runButton = /** @type {HTMLButtonElement} */ (byId("run-day"));
  runButton.addEventListener("click", () => {
    if (!today.status) return;
    const { week, day } = currentDay(today.status);
    whileBusy(runButton, () => run(today, week, day));
  });
  const confidence = /** @type {HTMLInputElement} */ (byId("completion-confidence"));
  confidence.addEventListener("input", () => {
    byId("completion-confidence-value").textContent = confidence.value;
  });
  byId("completion-form").addEventListener("submit", (event) => {
    event.preventDefault();
    complete(today);
  });
  return {
    render: (/** @type {StatusResponse} */ status) => render(today, status),
    reset() {
      Object.assign(today, { status: null, shown: null });
      for (const id of ["progress", "plan", "completion-form", "done", "today-actions"]) {
        byId(id).hidden = true;
      }
      byId("agents").replaceChildren();
      clearMessages(byId("today-card"));
    },
  };
}
