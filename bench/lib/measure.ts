/** Timed runs of one kind of call at a fixed concurrency, into a `LatencyRecorder`. */
import type { CallResult } from "./client.ts";
import { outcomeOf } from "./client.ts";
import { runConcurrent } from "./runner.ts";
import { LatencyRecorder } from "./stats.ts";

export interface Sample {
  ok: boolean;
  ms: number;
  outcome: string;
}

export function httpSample(result: CallResult): Sample {
  return {
    ok: result.status >= 200 && result.status < 300,
    ms: result.ms,
    outcome: outcomeOf(result),
  };
}

/** Times `fn` (anything that settles): ok when it resolves, outcome the error's name if not. */
export async function timed(fn: () => Promise<unknown>): Promise<Sample> {
  const started = performance.now();
  try {
    await fn();
    return { ok: true, ms: performance.now() - started, outcome: "ok" };
  } catch (error) {
    const name = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 80) : "error";
    return { ok: false, ms: performance.now() - started, outcome: name };
  }
}

export interface MeasureOptions {
  concurrency: number;
  total: number;
  /** Hard bound on the whole measurement. */
  maxTotalMs?: number;
}

/** Runs `total` calls with `concurrency` in flight; successful ones are latency samples. */
export async function measure(
  options: MeasureOptions,
  call: (index: number) => Promise<Sample>,
  into: LatencyRecorder = new LatencyRecorder(),
): Promise<{ recorder: LatencyRecorder; perSecond: number; elapsedMs: number }> {
  const result = await runConcurrent({
    concurrency: options.concurrency,
    total: options.total,
    maxTotalMs: options.maxTotalMs,
    task: async (index) => {
      const sample = await call(index);
      into.count(sample.outcome);
      if (sample.ok) into.add(sample.ms);
    },
  });
  if (result.failed > 0) {
    into.count(`threw`);
    console.error("measure: task threw:", result.errors[0]);
  }
  return { recorder: into, perSecond: result.perSecond, elapsedMs: result.elapsedMs };
}

/**
 * Measures several kinds of call in `rounds` interleaved rounds (A B C A B C …) so that a
 * change in background load over time hits every kind alike. Each kind gets `total` calls in
 * all, split evenly across rounds.
 */
export async function interleaved(
  kinds: { name: string; warm: number; call: (index: number) => Promise<Sample> }[],
  options: { concurrency: number; total: number; rounds: number; maxTotalMs?: number },
): Promise<Map<string, LatencyRecorder>> {
  const recorders = new Map(kinds.map((k) => [k.name, new LatencyRecorder()]));
  const counters = new Map(kinds.map((k) => [k.name, 0]));
  for (const kind of kinds) {
    if (kind.warm > 0) {
      await measure({ concurrency: options.concurrency, total: kind.warm }, (i) => kind.call(i));
      counters.set(kind.name, kind.warm);
    }
  }
  const perRound = Math.max(1, Math.ceil(options.total / options.rounds));
  for (let round = 0; round < options.rounds; round++) {
    for (const kind of kinds) {
      const offset = counters.get(kind.name)!;
      await measure(
        { concurrency: options.concurrency, total: perRound, maxTotalMs: options.maxTotalMs },
        (i) => kind.call(offset + i),
        recorders.get(kind.name)!,
      );
      counters.set(kind.name, offset + perRound);
    }
  }
  return recorders;
}
