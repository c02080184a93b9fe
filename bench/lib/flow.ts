/**
 * Simulated learners: each intent.sync, then per learning day day.run, day.done, status; every
 * answer recorded by route and every acknowledged write kept, for `checkAcknowledged`.
 */
import { type Acknowledged, emptyAcknowledged } from "../../test/support/integrity.ts";
import {
  type CallResult,
  dayDoneBody,
  INTENT_BODY,
  isOk,
  type OrchestratorClient,
  weekDay,
} from "../../test/support/orchestrator_client.ts";
import type { TestUser } from "../../test/support/users.ts";
import { mapConcurrent } from "./runner.ts";
import { LatencyRecorder } from "./stats.ts";

export const ROUTES = ["intent.sync", "day.run", "day.done", "status"] as const;
export type RouteName = (typeof ROUTES)[number];

export interface FlowOptions {
  /** Learning days each learner runs (1-based; 8 = week 2, day 1). */
  days: number[];
  /** Learners at once. @default all of them */
  concurrency?: number;
  /** Whether a learner syncs the intent first. @default every one does */
  syncIntent?: (user: TestUser) => boolean;
  /** Whether a learner runs with force_refresh (a new revision of a day it ran). @default none */
  forceRefresh?: (user: TestUser) => boolean;
  /** Bound on each request. @default 60_000 */
  timeoutMs?: number;
}

export interface FlowRun {
  users: readonly TestUser[];
  recorders: Map<RouteName, LatencyRecorder>;
  ack: Acknowledged;
  /** Every day.run answer with its learner. */
  runs: { user: TestUser; result: CallResult }[];
  seconds: number;
}

/** Every user through the flow, `concurrency` at a time. */
export async function runFlow(
  api: OrchestratorClient,
  users: readonly TestUser[],
  options: FlowOptions,
): Promise<FlowRun> {
  const recorders = new Map(ROUTES.map((route) => [route, new LatencyRecorder()]));
  const [ack, runs]: [Acknowledged, FlowRun["runs"]] = [emptyAcknowledged(), []];
  const timeoutMs = options.timeoutMs ?? 60_000;
  const learner = async (user: TestUser) => {
    const call = async (route: RouteName, method: "GET" | "POST", body?: unknown) => {
      const result = await api.call(user.token, method, route, body, { timeoutMs });
      recorders.get(route)!.record(result);
      return result;
    };
    if (options.syncIntent?.(user) ?? true) {
      const intent = await call("intent.sync", "POST", INTENT_BODY);
      if (!isOk(intent)) return;
      ack.intents.push(intent.body.intent_id);
    }
    const refresh = options.forceRefresh?.(user) ? { force_refresh: true } : {};
    for (const n of options.days) {
      const result = await call("day.run", "POST", { ...weekDay(n), ...refresh });
      runs.push({ user, result });
      if (isOk(result)) {
        const { session_id: sessionId, revision } = result.body;
        ack.runs.push({ sessionId, revision });
        const done = await call("day.done", "POST", dayDoneBody(sessionId, n));
        if (isOk(done)) ack.completions.push(sessionId);
      }
      await call("status", "GET");
    }
  };
  const started = performance.now();
  await mapConcurrent(users, options.concurrency ?? users.length, learner);
  return { users, recorders, ack, runs, seconds: (performance.now() - started) / 1000 };
}

/** Non-2xx answers (timeouts included) on any route. */
export function flowErrors(run: FlowRun): number {
  return [...run.recorders.values()].reduce((n, r) => n + r.errors(), 0);
}
