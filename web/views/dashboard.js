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

/**
 * The dashboard's refreshes, each coalesced; `all` runs both.
 * @typedef {{ status: () => Promise<void>, history: () => Promise<void>,
 *   all: () => Promise<unknown> }} Refreshes
 */

/**
 * The cards, made in this order (each wires its own controls), and the Realtime feed.
 * @param {LearningOrchestrator} orchestrator
 * @param {Refreshes} refresh
 */
function createViews(orchestrator, refresh) {
  return {
    intent: createIntentView({ orchestrator, onSaved: refresh.status }),
    today: createTodayView({ orchestrator, onChange: refresh.all }),
    history: createHistoryView(),
    calendar: createCalendarView({ orchestrator }),
    pause: createPauseView({ orchestrator, onChange: refresh.all }),
    feed: createFeedView({
      orchestrator,
      onEvent: (event) => {
        // Another tab, device or the daily tick may have changed things: show them.
        if (event.type === "intent_synced") refresh.status();
        else refresh.all();
      },
    }),
  };
}

/** @typedef {ReturnType<typeof createViews>} DashboardViews */

/**
 * Loads the status into the cards that show it. `isActive` turns false on sign-out: an answer
 * that comes after it is dropped.
 * @param {LearningOrchestrator} orchestrator
 * @param {DashboardViews} views
 * @param {() => boolean} isActive
 */
async function refreshStatus(orchestrator, views, isActive) {
  try {
    const status = await orchestrator.getStatus();
    if (!isActive()) return;
    clearMessages(byId("status-card"));
    renderStatus(status);
    views.pause.render(status);
    views.intent.render(status);
    views.today.render(status);
  } catch (error) {
    if (isActive()) showError(byId("status-card"), describeError(error).message);
  }
}

/**
 * Loads the history (its latest `HISTORY_LIMIT` sessions) into its card, as `refreshStatus`.
 * @param {LearningOrchestrator} orchestrator
 * @param {DashboardViews["history"]} history
 * @param {() => boolean} isActive
 */
async function refreshHistory(orchestrator, history, isActive) {
  try {
    /** @type {SessionSummary[]} */
    const sessions = [];
    for await (const session of orchestrator.sessions({ limit: 100 })) {
      sessions.push(session);
      if (sessions.length >= HISTORY_LIMIT) break;
    }
    if (!isActive()) return;
    clearMessages(byId("history-card"));
    history.render(sessions);
  } catch (error) {
    if (isActive()) showError(byId("history-card"), describeError(error).message);
  }
}

/** @param {{ orchestrator: LearningOrchestrator }} deps */
export function createDashboard({ orchestrator }) {
  let active = false;
  const isActive = () => active;
  /** @type {Refreshes} */
  const refresh = {
    // `views` is made below, before any refresh can run.
    status: coalesced(() => refreshStatus(orchestrator, views, isActive)),
    history: coalesced(() => refreshHistory(orchestrator, views.history, isActive)),
    all: () => Promise.all([refresh.status(), refresh.history()]),
  };
  const views = createViews(orchestrator, refresh);

  return {
    async start() {
      active = true;
      await Promise.all([views.feed.start(), refresh.all()]);
    },
    async stop() {
      active = false;
      await views.feed.stop();
      views.intent.reset();
      views.today.reset();
      views.history.reset();
      views.calendar.reset();
      views.pause.reset();
    },
  };
}
