/**
 * What a request costs: statements and server time from pg_stat_statements over one measurement
 * (what the whole database did while the requests ran, background pollers included, a handful
 * of statements a second), and the CPU of the stack and the agents processes, each divided by
 * the requests.
 */
import type { CallResult } from "../../test/support/orchestrator_client.ts";
import type { ServedStack } from "../../test/support/served_stack.ts";
import { measure } from "./runner.ts";

/**
 * `total` calls at c=1, recorded, with statements, server ms and the CPU ms of both processes
 * per call, and the three statements with the most server time (calls per request × mean ms,
 * text); "—" without pg_stat_statements.
 */
export async function measureStatements(
  served: ServedStack,
  total: number,
  call: (i: number) => Promise<CallResult>,
) {
  const { admin } = served.cluster;
  if (served.statStatements) await admin`select pg_stat_statements_reset()`;
  const cpu0 = { stack: served.stack.cpuMs(), agents: served.agents.cpuMs() };
  const measured = await measure({ concurrency: 1, total }, call);
  const cpu = {
    stack: (served.stack.cpuMs() - cpu0.stack) / total,
    agents: (served.agents.cpuMs() - cpu0.agents) / total,
  };
  const cost = { ...measured, cpu };
  if (!served.statStatements) return { ...cost, statements: "—", serverMs: "—", top: "—" };
  const rows = await admin<{ query: string; calls: number; ms: number }[]>`
    select query, calls::int as calls, total_exec_time::float8 as ms from pg_stat_statements
    where query not like '%pg_stat_statements%' order by total_exec_time desc
  `;
  const calls = rows.reduce((n, r) => n + r.calls, 0);
  const ms = rows.reduce((n, r) => n + r.ms, 0);
  const top = rows.slice(0, 3).map((r) =>
    `${(r.calls / total).toFixed(1)} × ${(r.ms / r.calls).toFixed(3)} ms ` +
    `\`${r.query.replace(/\s+/g, " ").slice(0, 70)}\``
  );
  const statements = (calls / total).toFixed(1);
  return { ...cost, statements, serverMs: (ms / total).toFixed(2), top: top.join("; ") };
}
