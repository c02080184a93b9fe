/** Closed-loop load (each worker starts its next call when its last one settles) and its cost. */
import type { CallResult } from "../../test/support/orchestrator_client.ts";
import type { ServedStack } from "../../test/support/served_stack.ts";
import { LatencyRecorder } from "./stats.ts";

/** The i-th call of a measurement. */
type Call = (i: number) => Promise<CallResult>;

/**
 * `total` calls or as many as start within `durationMs` (one of them is required), `concurrency`
 * in flight, each recorded (a throw as `threw`), and the settled calls per second. Returns after
 * `durationMs` + 60 s (or 10 min) at the latest, so a call that never settles shows in the
 * numbers instead of hanging the benchmark.
 */
export async function measure(
  options: { concurrency: number; total?: number; durationMs?: number },
  call: Call,
) {
  const { concurrency, total = Infinity, durationMs = Infinity } = options;
  if (total === Infinity && durationMs === Infinity) throw new Error("needs total or durationMs");
  const recorder = new LatencyRecorder();
  const started = performance.now();
  let [next, settled] = [0, 0];
  const worker = async () => {
    while (next < total && performance.now() - started < durationMs) {
      recorder.record(await call(next++).catch(() => null));
      settled++;
    }
  };
  const bound = Promise.withResolvers<void>();
  const timer = setTimeout(bound.resolve, isFinite(durationMs) ? durationMs + 60_000 : 600_000);
  const workers = Array.from({ length: Math.max(1, concurrency) }, worker);
  await Promise.race([Promise.all(workers), bound.promise]);
  clearTimeout(timer);
  const elapsedMs = performance.now() - started;
  return { recorder, elapsedMs, perSecond: settled / (elapsedMs / 1000) };
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

/**
 * What a request costs: `total` calls at c=1, recorded, with the CPU ms of the stack and the
 * agents processes per call, and statements and server ms per call from pg_stat_statements (what
 * the whole database did meanwhile, background pollers included, a handful of statements a
 * second) with the three statements of the most server time (calls per request × mean ms, text);
 * "—" without pg_stat_statements.
 */
export async function measureStatements(served: ServedStack, total: number, call: Call) {
  const { admin } = served.cluster;
  if (served.statStatements) await admin`select pg_stat_statements_reset()`;
  const [stack0, agents0] = [served.stack.cpuMs(), served.agents.cpuMs()];
  const measured = await measure({ concurrency: 1, total }, call);
  const stack = (served.stack.cpuMs() - stack0) / total;
  const cost = { ...measured, cpu: { stack, agents: (served.agents.cpuMs() - agents0) / total } };
  if (!served.statStatements) return { ...cost, statements: "—", serverMs: "—", top: "—" };
  const rows = await admin<{ query: string; calls: number; ms: number }[]>`
    select query, calls::int as calls, total_exec_time::float8 as ms from pg_stat_statements
    where query not like '%pg_stat_statements%' order by total_exec_time desc
  `;
  const perCall = (key: "calls" | "ms") => rows.reduce((n, r) => n + r[key], 0) / total;
  const top = rows.slice(0, 3).map((r) =>
    `${(r.calls / total).toFixed(1)} × ${(r.ms / r.calls).toFixed(3)} ms ` +
    `\`${r.query.replace(/\s+/g, " ").slice(0, 70)}\``
  );
  const [statements, serverMs] = [perCall("calls").toFixed(1), perCall("ms").toFixed(2)];
  return { ...cost, statements, serverMs, top: top.join("; ") };
}
