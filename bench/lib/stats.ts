/**
 * Latency recording for the benchmarks: every sample is kept (runs are at most a few hundred
 * thousand requests), so percentiles are exact (nearest rank), not estimated.
 */

export interface LatencySummary {
  n: number;
  /** Milliseconds; NaN when there are no samples. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** Latency samples in milliseconds plus outcome counts (by status or error name). */
export class LatencyRecorder {
  readonly samples: number[] = [];
  readonly outcomes = new Map<string, number>();

  /** A successful sample. */
  add(ms: number): void {
    this.samples.push(ms);
  }

  /** Counts an outcome (e.g. `"200"`, `"503 DATABASE_UNAVAILABLE"`, `"timeout"`). */
  count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  summary(): LatencySummary {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const n = sorted.length;
    return {
      n,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: n ? sorted[n - 1] : NaN,
      mean: n ? sorted.reduce((a, b) => a + b, 0) / n : NaN,
    };
  }

  /** Outcomes that are not 2xx. */
  errors(): number {
    let errors = 0;
    for (const [outcome, n] of this.outcomes) if (!/^2\d\d$/.test(outcome)) errors += n;
    return errors;
  }

  /** `200×950 503×50`, sorted by outcome. */
  outcomeText(): string {
    return [...this.outcomes].sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}×${v}`).join(" ");
  }
}

/** Milliseconds with one decimal below 100, whole above; `—` for NaN. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  return ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

export function fmtRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "—";
}

export function fmtPct(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)} %` : "—";
}
