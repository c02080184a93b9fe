/**
 * A bulkhead per agent (spec 6.3): at most `maxConcurrency` calls to one agent in flight from
 * this isolate, and at most `queue` more waiting for a slot; a call beyond that fails at once
 * with `AgentCallError("bulkhead_full")` (cockatiel's `BulkheadRejectedError` kept as `cause`),
 * before any attempt, and is served from the cache.
 *
 * Built on cockatiel's `bulkhead`. A queued call whose run ends is released by the client at once
 * (it races every call against the run's signal); its queue entry is dropped when it comes up.
 */
import { bulkhead, isBulkheadRejectedError, isTaskCancelledError } from "cockatiel";
import { AgentCallError } from "./call_error.ts";
import type { CallPolicy } from "./policy.ts";

export interface BulkheadOptions {
  /** Calls in flight at once (`wisely.agents.max_concurrency`). */
  maxConcurrency: number;
  /** Calls waiting for a slot. Default 0: refuse at once when all slots are taken. */
  queue?: number;
}

export interface AgentBulkhead extends CallPolicy {
  readonly maxConcurrency: number;
  /** Calls holding a slot now. */
  readonly inFlight: number;
  /** Calls waiting for a slot now. */
  readonly queued: number;
}

export function agentBulkhead(options: BulkheadOptions): AgentBulkhead {
  const { maxConcurrency } = options;
  const queue = options.queue ?? 0;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
    throw new RangeError(`maxConcurrency must be an integer ≥ 1, got ${maxConcurrency}.`);
  }
  if (!Number.isInteger(queue) || queue < 0) {
    throw new RangeError(`queue must be an integer ≥ 0, got ${queue}.`);
  }
  const policy = bulkhead(maxConcurrency, queue);
  return {
    maxConcurrency,
    get inFlight() {
      return maxConcurrency - policy.executionSlots;
    },
    get queued() {
      return queue - policy.queueSlots;
    },
    async execute(fn, signal) {
      try {
        return await policy.execute(fn, signal);
      } catch (error) {
        if (isBulkheadRejectedError(error)) {
          throw new AgentCallError(
            "bulkhead_full",
            `The agent already has ${maxConcurrency} calls in flight and ${queue} waiting.`,
            { cause: error },
          );
        }
        // cockatiel's "cancelled" for a run that ended before it got a slot: report the run's
        // own reason, as every other wait does.
        if (isTaskCancelledError(error) && signal.aborted) throw signal.reason;
        throw error;
      }
    },
  };
}
