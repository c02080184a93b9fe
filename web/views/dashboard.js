// @ts-check
/// <reference lib="dom" />
/**
 * The signed-in learner's dashboard: loads status and history, keeps them current (after the
 * learner's own actions and whenever a Realtime event says something changed), and wires the
 * cards together.
 */
/** @import { LearningOrchestrator } from "@wisely/sdk" */
/** @import { SessionSummary } from "../../sdk/types.ts" */
import { byId, clearMessages, showError } from "../lib/dom.js";
import { describeError } from "../lib/errors.js";
import { createCalendarView } from "./calendar.js";
import { createFeedView } from "./feed.js";
import { createHistoryView } from "./history.js";
import { createIntentView } from "./intent.js";
import { createPauseView } from "./pause.js";
import { renderStatus } from "./status.js";
import { createTodayView } from "./today.js";

/** The most sessions the history shows (a year of days). */
const HISTORY_LIMIT = 366;

/**
 * Runs `task` now, or once more after the run in progress when asked meanwhile: many events
 * in a burst cost one or two refreshes, never one each, and never two at once.
 * @param {() => Promise<void>} task
 */
function coalesced(task) {
  /** @type {Promise<void> | null} */
  let running = null;
  let again = false;
  const run = () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await task();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

/** @param {{ orchestrator: LearningOrchestrator }} deps */
export function createDashboard({ orchestrator }) {
  let active = false;

  const refreshStatus = coalesced(async () => {
    try {
      const status = await orchestrator.getStatus();
      if (!active) return;
      clearMessages(byId("status-card"));
      renderStatus(status);
      pause.render(status);
      intent.render(status);
      today.render(status);
    } catch (error) {
      if (active) showError(byId("status-card"), describeError(error).message);
    }
  });

  const refreshHistory = coalesced(async () => {
    try {
      /** @type {SessionSummary[]} */
      const sessions = [];
      for await (const session of orchestrator.sessions({ limit: 100 })) {
        sessions.push(session);
        if (sessions.length >= HISTORY_LIMIT) break;
      }
      if (!active) return;
      clearMessages(byId("history-card"));
      history.render(sessions);
    } catch (error) {
      if (active) showError(byId("history-card"), describeError(error).message);
    }
  });

  const refreshAll = () => Promise.all([refreshStatus(), refreshHistory()]);

  const intent = createIntentView({ orchestrator, onSaved: refreshStatus });
  const today = createTodayView({ orchestrator, onChange: refreshAll });
  const history = createHistoryView();
  const calendar = createCalendarView({ orchestrator });
  const pause = createPauseView({ orchestrator, onChange: refreshAll });
  const feed = createFeedView({
    orchestrator,
    onEvent: (event) => {
      // Another tab, device or the daily tick may have changed things: show them.
      if (event.type === "intent_synced") refreshStatus();
      else refreshAll();
    },
  });

  return {
    async start() {
      active = true;
      await Promise.all([feed.start(), refreshAll()]);
    },
    async stop() {
      active = false;
      await feed.stop();
      intent.reset();
      today.reset();
      history.reset();
      calendar.reset();
      pause.reset();
    },
  };
}
