/**
 * A persistent, in-memory fault plan for one reference agent instance (spec 6.4, issue 3 item
 * 7): a queue of steps, each a fault for "the next N calls" or for every call from then on,
 * plus a counter of the protocol calls the agent received. Tests drive it over HTTP through the
 * agent's `_faults` control endpoint (`control_route.ts`), which exists only when
 * `config.agentFaultInjection` is true.
 *
 * `next()` takes the head step's fault and consumes one of its calls; a step whose count
 * reaches zero is dropped, so `[{status: 500, count: 2}, {latency_ms: 200, count: "always"}]`
 * fails twice and is slow ever after. Steps after an `"always"` step are never reached.
 */
import { z } from "zod";
import { type Fault, type FaultPlan, FaultSchema } from "./faults.ts";

/** The most calls one step may be queued for (a finite count; use `"always"` for more). */
export const MAX_STEP_COUNT = 1_000_000;
/** The most steps one plan may hold. */
export const MAX_STEPS = 100;

export const FaultStepSchema = z.strictObject({
  fault: FaultSchema,
  /** How many of the next calls get this fault; `"always"` never runs out. Default 1. */
  count: z.union([z.int().min(1).max(MAX_STEP_COUNT), z.literal("always")]).default(1),
});
/** A step as written by a caller (`count` optional). */
export type FaultStepInput = z.input<typeof FaultStepSchema>;
/** A step as held by the plan (`count` = the calls it still applies to). */
export type FaultStep = z.output<typeof FaultStepSchema>;

/** The control endpoint's `PUT` body: the steps that replace the plan. */
export const FaultStepsBodySchema = z.strictObject({
  steps: z.array(FaultStepSchema).max(MAX_STEPS),
});

/** What `GET …/_faults` answers: the remaining steps and the calls since the last reset. */
export interface FaultPlanState {
  steps: FaultStep[];
  calls: number;
}

export interface ScriptedFaultPlan extends FaultPlan {
  /** The head step's fault (consuming one of its calls), or null when the queue is empty. */
  next(request?: Request): Fault | null;
  /** Replaces the queue with `steps` (validated) and resets `calls`. */
  set(steps: readonly FaultStepInput[]): void;
  /** Empties the queue and resets `calls`. */
  clear(): void;
  /** Counts one protocol call (the server calls it for every attempt, faulted or not). */
  recordCall(): void;
  /** Protocol calls received since the last `set` or `clear`. */
  readonly calls: number;
  /** A copy of the remaining steps and `calls`. */
  state(): FaultPlanState;
}

/** A new, empty plan with its call counter at zero. */
export function createScriptedFaultPlan(): ScriptedFaultPlan {
  let steps: FaultStep[] = [];
  let calls = 0;
  return {
    next() {
      const head = steps[0];
      if (!head) return null;
      if (head.count !== "always") {
        head.count -= 1;
        if (head.count <= 0) steps.shift();
      }
      return structuredClone(head.fault);
    },
    set(input) {
      // Parsed as a whole first, so an invalid step leaves the current plan untouched.
      steps = z.array(FaultStepSchema).max(MAX_STEPS).parse(input);
      calls = 0;
    },
    clear() {
      steps = [];
      calls = 0;
    },
    recordCall() {
      calls += 1;
    },
    get calls() {
      return calls;
    },
    state() {
      return { steps: structuredClone(steps), calls };
    },
  };
}
