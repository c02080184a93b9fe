/**
 * Simulated learners: each intent.sync, then per learning day day.run, day.done, status; every
 * answer recorded by route and every acknowledged write kept, for `checkAcknowledged`. Closed
 * loop (the next request leaves when the previous one is answered), or with `thinkMs` pauses
 * between requests, as a person reading the plan takes.
 */
import { bulkhead } from "cockatiel";
import { emptyAcknowledged } from "../../test/support/integrity.ts";
import {
  type CallResult,
  dayDoneBody,
  INTENT_BODY,
  isOk,
  type OrchestratorClient,
  storedRun,
  weekDay,
} from "../../test/support/orchestrator_client.ts";
import type { TestUser } from "../../test/support/users.ts";
import { LatencyRecorder } from "./stats.ts";

export const ROUTES = ["intent.sync", "day.run", "day.done", "status"] as const;

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
  /** A learner's pause before each request, uniform in [0, thinkMs] (`pauses`). @default 0 */
  thinkMs?: number;
}

/**
 * Learner `index`'s pauses, uniform in [0, thinkMs] ms: Mulberry32 seeded with the index, so a
 * run repeats itself. The first pause staggers the learner's start.
 */
function pauses(thinkMs: number, index: number): () => Promise<void> {
  let state = index + 1;
  return async () => {
    if (thinkMs === 0) return;
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const uniform = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    await new Promise((resolve) => setTimeout(resolve, uniform * thinkMs));
  };
}

export const learningDays = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/**
 * Every user through the flow, `concurrency` at a time: the users, a recorder per route, the
 * acknowledged writes, every day.run answer with its learner, the non-2xx answers (timeouts
 * included) on any route, and the seconds it took.
 */
export async function runFlow(
  api: OrchestratorClient,
  users: readonly TestUser[],
  options: FlowOptions,
) {
  const recorders = new Map(ROUTES.map((route) => [route, new LatencyRecorder()]));
  const [ack, runs] = [emptyAcknowledged(), [] as { user: TestUser; result: CallResult }[]];
  const timeoutMs = options.timeoutMs ?? 60_000;
  const learner = async (user: TestUser, index: number) => {
    const pause = pauses(options.thinkMs ?? 0, index);
    const call = async (route: (typeof ROUTES)[number], method: "GET" | "POST", body?: unknown) => {
      await pause();
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
      const stored = storedRun(result);
      if (stored) {
        ack.runs.push(stored);
        const done = await call("day.done", "POST", dayDoneBody(stored.sessionId, n));
        if (isOk(done)) ack.completions.push(stored.sessionId);
      }
      await call("status", "GET");
    }
  };
  const started = performance.now();
  // The agent client's bulkhead (cockatiel): `concurrency` learners run, the rest wait in line.
  const slots = bulkhead(Math.max(1, options.concurrency ?? users.length), Infinity);
  await Promise.all(users.map((user, i) => slots.execute(() => learner(user, i))));
  const seconds = (performance.now() - started) / 1000;
  const errors = [...recorders.values()].reduce((n, r) => n + r.errors(), 0);
  return { users, recorders, ack, runs, errors, seconds };
}

export type FlowRun = Awaited<ReturnType<typeof runFlow>>;
