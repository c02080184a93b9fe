/**
 * Statements and server time per request, from pg_stat_statements over one measurement: what
 * the whole database did while the requests ran (background pollers included, a handful of
 * statements a second), divided by the requests.
 */
import type { LatencyRecorder } from "./stats.ts";
import type { World } from "./world.ts";

export interface Counted {
  recorder: LatencyRecorder;
  /** Per request; "—" without pg_stat_statements. */
  statements: string;
  serverMs: string;
  /** The three statements with the most server time: calls per request × mean ms, text. */
  top: string;
}

interface StatementRow {
  query: string;
  calls: number;
  ms: number;
}

export async function statementsPer(
  world: World,
  requests: number,
  run: () => Promise<LatencyRecorder>,
): Promise<Counted> {
  const { admin } = world.cluster;
  if (!world.statStatements) {
    return { recorder: await run(), statements: "—", serverMs: "—", top: "—" };
  }
  await admin`select pg_stat_statements_reset()`;
  const recorder = await run();
  const rows = await admin<StatementRow[]>`
    select query, calls::int as calls, total_exec_time::float8 as ms from pg_stat_statements
    where query not like '%pg_stat_statements%' order by total_exec_time desc
  `;
  const calls = rows.reduce((n, r) => n + r.calls, 0);
  const ms = rows.reduce((n, r) => n + r.ms, 0);
  const top = rows.slice(0, 3).map((r) =>
    `${(r.calls / requests).toFixed(1)} × ${(r.ms / r.calls).toFixed(3)} ms ` +
    `\`${r.query.replace(/\s+/g, " ").slice(0, 70)}\``
  );
  return {
    recorder,
    statements: (calls / requests).toFixed(1),
    serverMs: (ms / requests).toFixed(2),
    top: top.join("; "),
  };
}
