/**
 * Running one learning day (spec 5.4), in three steps, one file each under `run_day/`:
 *
 * 1. `claim.ts`: one transaction loads the intent and the day's session; when a run is needed
 *    it claims the (intent, week, day) and loads agents, settings, history and cache.
 *    Concurrent identical requests find the claim and wait for the session instead (single
 *    flight across isolates).
 * 2. `fan_out.ts`: the agents are called with no database connection held, and the plan is
 *    composed from their signals.
 * 3. `store.ts`: one statement stores session, revision, cache, call log and event, and
 *    releases the claim.
 *
 * `deadline.ts` says how the run's deadline is shared between the steps.
 */
import { runInBackground } from "../_shared/background.ts";
import { noActiveIntent } from "../_shared/errors.ts";
import { composeProvisional, type ProvisionalRun } from "./provisional.ts";
import { type SessionView, sessionView } from "./sessions.ts";
import {
  type ClaimedRun,
  loadDay,
  releaseAfterFailure,
  waitForClaimedRun,
} from "./run_day/claim.ts";
import { waitEndsAt } from "./run_day/deadline.ts";
import { fanOutAndCompose, type FanOutDay, type FanOutDeps } from "./run_day/fan_out.ts";
import { storeRun } from "./run_day/store.ts";

/** What a run of the day needs: the pool, the config, and the agents' HTTP client and policies. */
export type RunDayDeps = FanOutDeps;

export interface RunDayInput extends FanOutDay {
  /**
   * The learner is shown the session (their own day.run): it is marked opened. day.tick's
   * pre-generation passes false. @default true
   */
  opens?: boolean;
  /**
   * `performance.now()` when the request arrived; the run's deadline counts from here, so time
   * spent queueing for a database connection is inside it. Default: when runDay is called.
   */
  receivedAt?: number;
}

export interface RunDayResult {
  session: SessionView;
  /** True when this call created the session (201). */
  created: boolean;
}

/** Load → wait → load cycles before giving up on a day whose runs keep failing. */
const MAX_CLAIM_ROUNDS = 5;

/**
 * Runs the day's session for the user's active intent, or returns it when it exists (or when a
 * concurrent identical request creates it). A request that waits on another run of the day
 * until its own deadline answers with a provisional plan instead (provisional.ts).
 */
export async function runDay(
  deps: RunDayDeps,
  input: RunDayInput,
): Promise<RunDayResult | ProvisionalRun> {
  const receivedAt = input.receivedAt ?? performance.now();
  for (let round = 1;; round++) {
    const loadStarted = performance.now();
    const loaded = await loadDay(input, deps.config.edgeBaseUrl, input.opens !== false);
    switch (loaded.kind) {
      case "no_intent":
        throw noActiveIntent();
      case "existing":
        return { session: sessionView(loaded.session), created: false };
      case "run":
        return await execute(deps, input, loaded.claimed, {
          receivedAt,
          loadMs: performance.now() - loadStarted,
        });
      case "busy": {
        const { waiting, expiresAt } = loaded;
        const endsAt = waitEndsAt(deps.sql, input.body, waiting.settings, receivedAt);
        const waited = await waitForClaimedRun(input, waiting.intent.id, expiresAt, endsAt);
        if (waited.kind === "session") {
          return { session: sessionView(waited.session), created: false };
        }
        // Out of time (or of rounds, when runs keep ending without a session): answer now.
        if (
          waited.kind === "deadline" || performance.now() >= endsAt || round >= MAX_CLAIM_ROUNDS
        ) {
          return await composeProvisional({
            waiting,
            claimExpiresAt: expiresAt,
            traceId: input.traceId,
            onAgentSettled: input.onAgentSettled,
          });
        }
      }
    }
  }
}

/** Calls the agents, composes the plan and stores everything; the claim is released either way. */
async function execute(
  deps: RunDayDeps,
  input: RunDayInput,
  claimed: ClaimedRun,
  timing: { receivedAt: number; loadMs: number },
): Promise<RunDayResult> {
  try {
    const fanned = await fanOutAndCompose(deps, input, claimed, timing);
    const session = await storeRun({ ...input, opens: input.opens !== false }, claimed, fanned);
    return { session: sessionView(session), created: session.revision === 1 };
  } catch (error) {
    // Let waiting requests take over now rather than when the claim expires; not awaited, so
    // the caller gets its error (a 503 when the database is down) at once.
    runInBackground(releaseAfterFailure(input, claimed));
    throw error;
  }
}
