/** Closed-loop load: workers that each start their next call when the previous one settles. */
import { bulkhead } from "cockatiel";
import type { CallResult } from "../../test/support/orchestrator_client.ts";
import { LatencyRecorder } from "./stats.ts";

export interface MeasureOptions {
  /** Calls in flight at once. */
  concurrency: number;
  /** Calls to start in all. @default unlimited (then `durationMs` is required) */
  total?: number;
  /** Stop starting calls after this long. @default unlimited */
  durationMs?: number;
}

/**
 * `total` calls (or `durationMs` of them) at `concurrency`, each recorded (a throw as `threw`),
 * and the settled calls per second. Returns after `durationMs` + 60 s (or 10 min) at the latest,
 * so a call that never settles shows in the numbers instead of hanging the benchmark.
 */
export async function measure(options: MeasureOptions, call: (i: number) => Promise<CallResult>) {
  const { concurrency, total = Infinity, durationMs = Infinity } = options;
  if (total === Infinity && durationMs === Infinity) throw new Error("needs total or durationMs");
  const recorder = new LatencyRecorder();
  const started = performance.now();
  let next = 0;
  let settled = 0;
  const worker = async () => {
    while (next < total && performance.now() - started < durationMs) {
      recorder.record(await call(next++).catch(() => null));
      settled++;
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const boundMs = isFinite(durationMs) ? durationMs + 60_000 : 600_000;
  await Promise.race([
    Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker)),
    new Promise((resolve) => (timer = setTimeout(resolve, boundMs))),
  ]);
  clearTimeout(timer);
  const elapsedMs = performance.now() - started;
  return { recorder, elapsedMs, perSecond: settled / (elapsedMs / 1000) };
}

/** Runs `fn` on each item, at most `concurrency` at a time in input order; results in that order. */
export function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  // The agent client's bulkhead (cockatiel): `concurrency` run, the rest wait in line.
  const slots = bulkhead(Math.max(1, concurrency), Infinity);
  return Promise.all(items.map((item, i) => slots.execute(() => fn(item, i))));
}

/** Times `fn` as a call: status 200 when it resolves, 0 with the error as code when it throws. */
export async function timed(fn: () => Promise<unknown>): Promise<CallResult> {
  const started = performance.now();
  const code = await fn().then(
    () => null,
    (e) => e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 80) : "error",
  );
  const ms = performance.now() - started;
  return { status: code === null ? 200 : 0, code, ms, body: null, retryAfter: null, bytes: 0 };
}
