/** The benchmark's table and the text of bench/RESULTS.md. */
import { markdownTable } from "./table.ts";

export interface Row {
  measure: string;
  c: string;
  n: string;
  /** What was measured: medians and percentiles, never a verdict by itself. */
  value: string;
  /** The limit measured in the same run. */
  limit: string;
  ratio: string;
  goal: string;
  /** "met", "NOT met", or "—" for what is only reported. */
  met: string;
}

export interface Report {
  command: string;
  seconds: number;
  machine: string[];
  rows: Row[];
  notes: string[];
}

export function reportText(report: Report): string {
  const table = markdownTable(
    ["measure", "c", "n", "measured", "limit (same run)", "ratio", "goal", "goal met"],
    report.rows.map((r) => [r.measure, r.c, r.n, r.value, r.limit, r.ratio, r.goal, r.met]),
    ["left", "left", "right", "right", "left", "right", "left", "left"],
  );
  return [
    "# Benchmark results",
    "",
    `Written by \`${report.command}\` (bench/run.ts) in ${report.seconds.toFixed(0)} s.`,
    "",
    "## Machine",
    "",
    ...report.machine,
    "",
    "## Results",
    "",
    table,
    "",
    "## How to read it",
    "",
    "- Limit of status, day.done, intent.sync: the route's own transaction (the statements its " +
    "database step sends through postgres.js, recorded, parameters inlined, same claims and " +
    "role) run by pgbench (`-n -M simple`, c=1, and at saturation `-c 16 -j 2`), against the " +
    "same database, each pgbench client with its own user. Ratio = HTTP p95 / pgbench p95; at " +
    "saturation HTTP peak req/s / pgbench tps.",
    "- day.run: every agent answers after the set latency, the agents in their own process; " +
    "the limit is one agent call's p95 measured straight against that process.",
    "- Statements and server time per request: pg_stat_statements over the c=1 measurement.",
    "- CPU: user + system time of the stack process (and the agents process) per request, from " +
    "/proc (10 ms ticks, so per-request values are averages over the run).",
    "- The load generator, the stack, the agents and Postgres share the machine's cores.",
    "",
    "## Breakdown",
    "",
    ...report.notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
}
