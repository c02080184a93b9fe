/** One simulated learner: intent.sync, then per learning day day.run, day.done, status. */
import type { Acknowledged } from "../../test/support/integrity.ts";
import {
  type CallResult,
  dayDoneBody,
  INTENT_BODY,
  isOk as ok,
  type OrchestratorClient,
  weekDay,
} from "../../test/support/orchestrator_client.ts";
import { record } from "./runner.ts";
import { LatencyRecorder } from "./stats.ts";

export const ROUTES = ["intent.sync", "day.run", "day.done", "status"] as const;
export type RouteName = (typeof ROUTES)[number];

export function routeRecorders(): Map<RouteName, LatencyRecorder> {
  return new Map(ROUTES.map((r) => [r, new LatencyRecorder()]));
}

export interface LearnerOptions {
  api: OrchestratorClient;
  token: string;
  /** Learning days to run (1-based; 8 = week 2 day 1). */
  days: number[];
  /** Sync the intent first. Default true. */
  syncIntent?: boolean;
  /** day.run with force_refresh (a new revision of an existing day). */
  forceRefresh?: boolean;
  /** Bound on each request. */
  timeoutMs: number;
  recorders: Map<RouteName, LatencyRecorder>;
  ack: Acknowledged;
  /** Every call's result, for checks beyond latency. */
  onCall?: (route: RouteName, result: CallResult) => void;
}

export async function runLearner(options: LearnerOptions): Promise<void> {
  const { api, token, recorders, ack, timeoutMs } = options;
  const call = async (
    route: RouteName,
    method: "GET" | "POST",
    body?: unknown,
  ): Promise<CallResult> => {
    const result = record(
      recorders.get(route)!,
      await api.call(token, method, route, body, { timeoutMs }),
    );
    options.onCall?.(route, result);
    return result;
  };
  if (options.syncIntent ?? true) {
    const intent = await call("intent.sync", "POST", INTENT_BODY);
    if (ok(intent)) ack.intents.push(intent.body.intent_id);
    else return;
  }
  for (const n of options.days) {
    const body = options.forceRefresh ? { ...weekDay(n), force_refresh: true } : weekDay(n);
    const run = await call("day.run", "POST", body);
    if (ok(run)) {
      ack.runs.push({ sessionId: run.body.session_id, revision: run.body.revision });
      const done = await call("day.done", "POST", dayDoneBody(run.body.session_id, n));
      if (ok(done)) ack.completions.push(run.body.session_id);
    }
    await call("status", "GET");
  }
}
