/**
 * A closed-loop concurrency runner: `concurrency` workers, each starting its next task when the
 * previous one settles, so at most `concurrency` tasks are in flight. It stops starting tasks
 * after `total` tasks or `durationMs`, and returns after `maxTotalMs` at the latest even if
 * some task never settles (those are reported, not awaited).
 */

export interface RunOptions {
  /** Tasks in flight at once (workers). */
  concurrency: number;
  /** Tasks to start in all. Default: unlimited (then `durationMs` is required). */
  total?: number;
  /** Stop starting new tasks after this long. */
  durationMs?: number;
  /** Hard bound on the whole run. Default: durationMs + 60 s, or 10 min. */
  maxTotalMs?: number;
  /** One task; `index` counts from 0 across workers, `worker` is 0..concurrency-1. */
  task: (index: number, worker: number) => Promise<void>;
}

export interface RunResult {
  started: number;
  completed: number;
  /** Tasks that threw (the runner never lets one stop a worker). */
  failed: number;
  /** From first start to the last settled task (or to the hard bound). */
  elapsedMs: number;
  /** True when `maxTotalMs` passed with tasks still in flight. */
  timedOut: boolean;
  /** Completed tasks per second over `elapsedMs`. */
  perSecond: number;
  /** The first few errors thrown by tasks. */
  errors: unknown[];
}

export async function runConcurrent(options: RunOptions): Promise<RunResult> {
  const { concurrency, total = Infinity, durationMs = Infinity } = options;
  if (total === Infinity && durationMs === Infinity) {
    throw new Error("runConcurrent needs `total` or `durationMs`.");
  }
  const maxTotalMs = options.maxTotalMs ??
    (Number.isFinite(durationMs) ? durationMs + 60_000 : 600_000);
  const started = performance.now();
  const stopStartingAt = started + durationMs;
  let next = 0;
  let completed = 0;
  let failed = 0;
  const errors: unknown[] = [];

  async function worker(id: number) {
    while (next < total && performance.now() < stopStartingAt) {
      const index = next++;
      try {
        await options.task(index, id);
        completed++;
      } catch (error) {
        failed++;
        if (errors.length < 5) errors.push(error);
      }
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), maxTotalMs);
  });
  const workers = Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, (_, i) => worker(i)),
  ).then(() => "done" as const);
  const how = await Promise.race([workers, bound]);
  clearTimeout(timer);
  const elapsedMs = performance.now() - started;
  return {
    started: next,
    completed,
    failed,
    elapsedMs,
    timedOut: how === "timeout",
    perSecond: (completed + failed) / (elapsedMs / 1000),
    errors,
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
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker),
  );
  return results;
}
