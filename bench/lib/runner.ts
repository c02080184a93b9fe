/**
 * Closed-loop load: `concurrency` workers, each starting its next task when the previous one
 * settles, until `total` tasks or `durationMs`; returns after `maxTotalMs` at the latest even if
 * a task never settles (reported, not awaited). `measure` records each call's latency.
 */
import { type CallResult, isOk, outcomeOf } from "../../test/support/orchestrator_client.ts";
import { LatencyRecorder } from "./stats.ts";

export interface RunOptions {
  /** Tasks in flight at once (workers). */
  concurrency: number;
  /** Tasks to start in all. @default unlimited (then `durationMs` is required) */
  total?: number;
  /** Stop starting new tasks after this long. @default unlimited */
  durationMs?: number;
  /** Hard bound on the whole run. @default durationMs + 60 s, or 10 min */
  maxTotalMs?: number;
  /** One task; `index` counts from 0 across workers. */
  task: (index: number) => Promise<void>;
}

export interface RunResult {
  completed: number;
  /** Tasks that threw (a throw never stops a worker); the first few errors. */
  failed: number;
  errors: unknown[];
  /** From first start to the last settled task (or to the hard bound). */
  elapsedMs: number;
  /** Settled tasks per second over `elapsedMs`. */
  perSecond: number;
}

export async function runConcurrent(options: RunOptions): Promise<RunResult> {
  const { concurrency, total = Infinity, durationMs = Infinity } = options;
  if (total === Infinity && durationMs === Infinity) throw new Error("needs total or durationMs");
  const maxTotalMs = options.maxTotalMs ?? (isFinite(durationMs) ? durationMs + 60_000 : 600_000);
  const started = performance.now();
  let next = 0;
  const result = { completed: 0, failed: 0, errors: [] as unknown[] };
  async function worker() {
    while (next < total && performance.now() - started < durationMs) {
      const index = next++;
      try {
        await options.task(index);
        result.completed++;
      } catch (error) {
        if (result.failed++ < 5) result.errors.push(error);
      }
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxTotalMs)));
  await Promise.race([
    Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker)),
    bound,
  ]);
  clearTimeout(timer);
  const elapsedMs = performance.now() - started;
  return {
    ...result,
    elapsedMs,
    perSecond: (result.completed + result.failed) / (elapsedMs / 1000),
  };
}

/** Runs `fn` on each item with at most `concurrency` in flight; results in input order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }
  const workers = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/** Counts `result`'s outcome into `into`; a 2xx answer is also a latency sample. */
export function record(into: LatencyRecorder, result: CallResult): CallResult {
  into.count(outcomeOf(result));
  if (isOk(result)) into.add(result.ms);
  return result;
}

/** `total` calls (or `durationMs` of them) at `concurrency`, recorded. */
export async function measure(
  options: Omit<RunOptions, "task">,
  call: (index: number) => Promise<CallResult>,
): Promise<{ recorder: LatencyRecorder; run: RunResult }> {
  const recorder = new LatencyRecorder();
  const run = await runConcurrent({
    ...options,
    task: async (i) => void record(recorder, await call(i)),
  });
  if (run.failed > 0) recorder.count("threw");
  return { recorder, run };
}

/** Times `fn`: a sample when it resolves, the error's name as outcome when it throws. */
export async function timed(fn: () => Promise<unknown>): Promise<CallResult> {
  const started = performance.now();
  const result = { body: null, retryAfter: null, bytes: 0 };
  try {
    await fn();
    return { ...result, status: 200, code: null, ms: performance.now() - started };
  } catch (error) {
    const code = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 80) : "error";
    return { ...result, status: 0, code, ms: performance.now() - started };
  }
}
