// @ts-check
/// <reference lib="dom" />
/**
 * The progress card: streak, days completed, time spent, average confidence, next plan (or the
 * pause, while the intent is paused).
 */
/** @import { StatusResponse } from "../../sdk/types.ts" */
import { byId, h } from "../lib/dom.js";
import { dateTime, days, minutes } from "../lib/format.js";

/** @param {StatusResponse} status */
export function renderStatus(status) {
  const stats = status.learning_stats;
  byId("stat-streak").textContent = String(stats.current_streak_days);
  byId("stat-streak-unit").textContent = days(stats.current_streak_days);
  byId("stat-completed").textContent = String(stats.completed_sessions);
  byId("stat-minutes").textContent = minutes(stats.total_time_min);
  byId("stat-confidence").textContent = stats.average_confidence === null
    ? "—"
    : `${stats.average_confidence.toFixed(1)} / 10`;

  const next = byId("next-run");
  const run = status.next_scheduled_run;
  if (!status.active_intent || !run) {
    next.replaceChildren("Set a learning intent to schedule your first plan.");
    return;
  }
  const paused = status.active_intent.paused_until;
  if (paused !== null) {
    // Spec 12: nothing is pre-generated while paused, and the streak is frozen.
    next.replaceChildren(
      "Paused until ",
      h("strong", { text: paused }),
      ` — no plans are prepared meanwhile and your streak is kept. Next plan: week ${run.week}, ` +
        `day ${run.day}.`,
    );
    return;
  }
  // The learner's own zone (the intent's), which may differ from this browser's.
  next.replaceChildren(
    "Next plan: ",
    h("strong", { text: `week ${run.week}, day ${run.day}` }),
    ` — ${dateTime(run.estimated_time, run.timezone)} (${run.timezone})`,
  );
}
