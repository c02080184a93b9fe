/**
 * Numbers into text: latency samples (every one kept, runs are at most a few hundred thousand
 * requests, so percentiles are exact, nearest rank), their formats, and a Markdown table.
 */
import { type CallResult, isOk, outcomeOf } from "../../test/support/orchestrator_client.ts";

/** Nearest-rank percentile of an ascending array (p in 0..100); NaN when empty. */
export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ?? NaN;

/** Latency samples in milliseconds (2xx answers) and every answer's outcome, counted. */
export class LatencyRecorder {
  readonly samples: number[] = [];
  readonly outcomes = new Map<string, number>();

  /** Counts `result`'s outcome (`200`, `503 DATABASE_UNAVAILABLE`, `0 timeout`; null: `threw`). */
  record(result: CallResult | null): void {
    const outcome = result ? outcomeOf(result) : "threw";
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    if (result && isOk(result)) this.samples.push(result.ms);
  }

  /** n and p50/p95/p99/max in ms (NaN without samples). */
  summary() {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const [p50, p95, p99, max] = [50, 95, 99, 100].map((p) => percentile(sorted, p));
    return { n: sorted.length, p50, p95, p99, max };
  }

  errors(): number {
    return [...this.outcomes].reduce((n, [k, v]) => /^2\d\d$/.test(k) ? n : n + v, 0);
  }

  /** `200×950 503×50`, sorted by outcome. */
  outcomeText(): string {
    return [...this.outcomes].sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}×${v}`).join(" ");
  }
}

/** How often each item occurs, in the order first seen. */
export function countBy(items: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** Milliseconds with one decimal below 100, whole above; `—` for NaN. */
export const fmtMs = (ms: number) => Number.isFinite(ms) ? ms.toFixed(ms < 100 ? 1 : 0) : "—";

/** `p50 6.1 / p95 7.6 ms` */
export const fmtP50P95 = (s: { p50: number; p95: number }) =>
  `p50 ${fmtMs(s.p50)} / p95 ${fmtMs(s.p95)} ms`;

export const fmtRatio = (ratio: number) => Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "—";

export const fmtPct = (x: number) => Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : "—";

/** A Markdown table with padded columns, readable as plain text too; `r` aligns a column right. */
export function markdownTable(header: string[], rows: string[][], align: string): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i].length)));
  const right = (i: number) => align[i] === "r";
  const pad = (cell: string, i: number) =>
    right(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = widths.map((w, i) => right(i) ? `${"-".repeat(w - 1)}:` : "-".repeat(w));
  return [line(header), `| ${rule.join(" | ")} |`, ...rows.map(line)].join("\n");
}
