/**
 * `deno task bench` (spec 10): the served stack on a real Postgres against limits measured in the
 * same run, one Markdown table written with the machine to bench/RESULTS.md.
 *
 * - routes: status, day.done, intent.sync p50/p95 over HTTP at c=1 against the same transaction
 *   run by pgbench at c=1 (bench/lib/pgbench.ts; goal p95 ≤ 2×), with the same transaction via
 *   postgres.js beside it, the statements and server time per request (pg_stat_statements) and
 *   the stack's CPU per request.
 * - saturation: each route's peak throughput over HTTP against pgbench's at saturation (≥ 60 %).
 * - dayrun: every agent answers after `--agent-latency`, agents in their own process; p95 at c=1
 *   ≤ the agent call's p95 + 15 ms; CPU ms per run of the stack and of the agents.
 * - replay: learning days with the cache aged 24 h between days; hit rate ≥ 85 %.
 * - load: `--load-users` concurrent learners (bench/load.ts); zero errors, zero degraded plans,
 *   day.run p95 ≤ 6 s.
 * - profile: CPU profiles of the stack per route at saturation.
 */
import { parseArgs } from "node:util";
import { freePort } from "../dev/pg_cluster.ts";
import { clearFaults, setAllFaults } from "../test/support/faults.ts";
import type { TestUser } from "../test/support/users.ts";
import { loadRows } from "./load.ts";
import type { Sql } from "../supabase/functions/_shared/db.ts";
import { createPool } from "../supabase/functions/_shared/pool.ts";
import { machineLines } from "./lib/machine.ts";
import { startProfiler, summarize, summaryLines } from "./lib/profile.ts";
import { agentLines, runReplay } from "./lib/replay.ts";
import { type Learners, ROUTE_CASES, type RouteCase, setUpLearners } from "./lib/route_cases.ts";
import { type PgbenchResult, pgbenchScript, recordingPool, runPgbench } from "./lib/pgbench.ts";
import { mapConcurrent, measure, runConcurrent, timed } from "./lib/runner.ts";
import { INTENT_BODY } from "../test/support/orchestrator_client.ts";
import { SAMPLE_AGENT_REQUEST } from "../test/support/agent_fetch.ts";
import { fmtMs, fmtPct, fmtRatio } from "./lib/stats.ts";
import { reportText, type Row } from "./lib/report.ts";
import { statementsPer } from "./lib/statements.ts";
import { openWorld, type World } from "./lib/world.ts";

const PHASES = ["routes", "saturation", "dayrun", "replay", "load", "profile"] as const;
type Phase = (typeof PHASES)[number];

/** Every flag: default and meaning; `--help` prints them. Sizes default to the full benchmark. */
const OPTIONS = {
  users: ["64", "learners for the route phases"],
  requests: ["400", "measured HTTP requests per route at c=1"],
  warmup: ["100", "unmeasured requests first"],
  "pgbench-seconds": ["5", "seconds per pgbench run"],
  "sat-clients": ["16", "pgbench clients at saturation (-j 2)"],
  "sat-levels": ["16,32,64", "HTTP concurrency levels at saturation"],
  "sat-seconds": ["3", "seconds per HTTP saturation level"],
  "dayrun-requests": ["40", "day.run requests at c=1 (each a new learner's day 1)"],
  "agent-latency": ["200", "fixed agent latency for day.run, ms"],
  "replay-users": ["200", "users in the learning-days replay"],
  "replay-days": ["14", "learning days per user"],
  "replay-concurrency": ["50", "users replaying at once"],
  "load-users": ["1000", "concurrent learners in the load phase"],
  "load-days": ["3", "learning days per learner in the load phase"],
  "profile-seconds": ["3", "seconds of load per profiled route"],
  only: [PHASES.join(","), "phases to run"],
  pool: ["", "stack pool size (empty: the stack's, 10)"],
  out: ["bench/RESULTS.md", "results file"],
  "log-file": ["", "keep the stack's request log there (empty: discarded)"],
} as const;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    ...Object.fromEntries(
      Object.entries(OPTIONS).map((
        [name, [fallback]],
      ) => [name, { type: "string", default: fallback }]),
    ) as Record<keyof typeof OPTIONS, { type: "string"; default: string }>,
    help: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const HELP = [
  "deno task bench [flags]   (BENCH_DATABASE_URL: that Postgres instead of a throwaway cluster)",
  ...Object.entries(OPTIONS).map(([name, [fallback, what]]) =>
    `  --${name.padEnd(20)} ${what} (${fallback})`
  ),
  "  --no-write             print only",
].join("\n");

const num = (name: keyof typeof OPTIONS) => {
  const n = Number(flags[name]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number`);
  return n;
};
const ONLY = new Set(flags.only.split(",").map((p) => p.trim()).filter(Boolean));
for (const p of ONLY) {
  if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--only: unknown phase ${p}`);
}
const runs = (phase: Phase) => ONLY.has(phase);
const log = (line: string) => console.error(`[bench] ${line}`);
const DAYRUN_SLACK_MS = 15;

/** Everything the phases share. */
interface Bench extends Learners {
  world: World;
  users: TestUser[];
  /** A pool like the stack's (same settings, same size): the postgres.js path without HTTP. */
  pool: Sql;
  rows: Row[];
  notes: string[];
}

const verdict = (ok: boolean) => (ok ? "met" : "NOT met");

// ---- routes at c=1 -------------------------------------------------------------------------

/** The route's transaction for each of `n` users, as postgres.js sent it (see pgbench.ts). */
async function transactionsOf(bench: Bench, route: RouteCase, n: number) {
  const recorder = recordingPool(bench.world.cluster.url);
  try {
    // The first query of a connection also fetches the array types: not the route's.
    await recorder.sql`select 1`;
    recorder.take();
    const transactions = [];
    for (const user of bench.users.slice(0, n)) {
      await route.sql(recorder.sql, user, bench);
      transactions.push(recorder.take());
    }
    return transactions;
  } finally {
    await recorder.sql.end({ timeout: 5 });
  }
}

async function httpAtC1(bench: Bench, route: RouteCase) {
  const { world, users } = bench;
  const call = (i: number) => route.http(world.api, users[i % users.length], bench);
  await measure({ concurrency: 1, total: num("warmup") }, call);
  const cpu0 = world.stack.cpuMs();
  const counted = await statementsPer(world, num("requests"), async () => {
    return (await measure({ concurrency: 1, total: num("requests") }, call)).recorder;
  });
  return { ...counted, cpuMs: (world.stack.cpuMs() - cpu0) / num("requests") };
}

async function routeAtC1(bench: Bench, route: RouteCase) {
  const { recorder: http, statements, serverMs, top, cpuMs } = await httpAtC1(bench, route);
  const [transaction] = await transactionsOf(bench, route, 1);
  const script = pgbenchScript([transaction]);
  const pg = await runPgbench({
    url: bench.world.cluster.url,
    script,
    clients: 1,
    seconds: num("pgbench-seconds"),
  });
  const driver = await measure(
    { concurrency: 1, total: num("requests") },
    (i) => timed(() => route.sql(bench.pool, bench.users[i % bench.users.length], bench)),
  );
  const h = http.summary();
  const d = driver.recorder.summary();
  const ratio = h.p95 / pg.p95;
  bench.rows.push({
    measure: `${route.name} latency`,
    c: "1",
    n: `${h.n}${http.errors() ? ` +${http.errors()} errors (${http.outcomeText()})` : ""}`,
    value: `p50 ${fmtMs(h.p50)} / p95 ${fmtMs(h.p95)} ms`,
    limit: `pgbench p50 ${fmtMs(pg.p50)} / p95 ${fmtMs(pg.p95)} ms (${pg.transactions} tx)`,
    ratio: fmtRatio(ratio),
    goal: "p95 ≤ 2×",
    met: verdict(ratio <= 2 && http.errors() === 0 && pg.failures === 0),
  });
  bench.notes.push(
    `${route.name} c=1: HTTP p50/p95 ${fmtMs(h.p50)}/${fmtMs(h.p95)} ms; the same transaction ` +
      `via postgres.js (no HTTP) ${fmtMs(d.p50)}/${fmtMs(d.p95)} ms; pgbench ${fmtMs(pg.p50)}/` +
      `${fmtMs(pg.p95)} ms (${transaction.length} statements); per HTTP request ` +
      `${statements} statements, ${serverMs} ms server time, stack CPU ${fmtMs(cpuMs)}` +
      ` ms. Top statements: ${top}`,
  );
  log(`${route.name} c=1: HTTP p95 ${fmtMs(h.p95)} vs pgbench ${fmtMs(pg.p95)} ms`);
}

// ---- saturation ----------------------------------------------------------------------------

/** HTTP req/s at each level; the peak. */
async function httpPeak(bench: Bench, route: RouteCase) {
  const levels = flags["sat-levels"].split(",").map(Number).filter((n) => n > 0);
  let best = { c: 0, rps: 0, errors: 0 };
  for (const c of levels) {
    const { recorder, run } = await measure(
      { concurrency: c, durationMs: num("sat-seconds") * 1000 },
      (i) => route.http(bench.world.api, bench.users[i % bench.users.length], bench),
    );
    const rps = recorder.samples.length / (run.elapsedMs / 1000);
    log(`${route.name} saturation c=${c}: ${rps.toFixed(0)} req/s`);
    if (rps > best.rps) best = { c, rps, errors: recorder.errors() };
  }
  return best;
}

async function saturation(bench: Bench, route: RouteCase) {
  const clients = num("sat-clients");
  const http = await httpPeak(bench, route);
  const pg: PgbenchResult = await runPgbench({
    url: bench.world.cluster.url,
    script: pgbenchScript(await transactionsOf(bench, route, clients)),
    clients,
    seconds: num("pgbench-seconds"),
  });
  const share = http.rps / pg.tps;
  bench.rows.push({
    measure: `${route.name} throughput at saturation`,
    c: `HTTP ${http.c}, pgbench ${clients}`,
    n: `${num("sat-seconds")} s per level`,
    value: `${http.rps.toFixed(0)} req/s`,
    limit: `pgbench ${pg.tps.toFixed(0)} tps (p95 ${fmtMs(pg.p95)} ms)`,
    ratio: fmtPct(share),
    goal: "≥ 60 %",
    met: verdict(share >= 0.6 && http.errors === 0 && pg.failures === 0),
  });
}

// ---- day.run -------------------------------------------------------------------------------

/** One agent call straight to the agents process (same fault plan): the floor of a run. */
async function agentFloor(world: World): Promise<number> {
  const headers = {
    authorization: `Bearer ${await world.faults.serviceToken()}`,
    "content-type": "application/json",
  };
  const body = JSON.stringify(SAMPLE_AGENT_REQUEST);
  const { recorder } = await measure({ concurrency: 1, total: 20 }, () =>
    timed(async () => {
      const response = await fetch(`${world.agents.functionsUrl}/agent-ta`, {
        method: "POST",
        headers,
        body,
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`agent-ta answered ${response.status}`);
    }));
  return recorder.summary().p95;
}

/** Sources of a day.run answer's agents that came over the network this run. */
const NETWORK = new Set(["network", "revalidated"]);

/** Day 1 of each of `users` at c=1, with statements and the CPU of both processes per run. */
async function fanOuts(world: World, users: TestUser[]) {
  const cpu0 = { stack: world.stack.cpuMs(), agents: world.agents.cpuMs() };
  let fannedOut = 0;
  const counted = await statementsPer(
    world,
    users.length,
    async () =>
      (await measure({ concurrency: 1, total: users.length }, async (i) => {
        const result = await ROUTE_CASES.dayRun(world.api, users[i], 1);
        const sources = Object.values(result.body?.signal_quality ?? {}) as { source?: string }[];
        if (sources.length > 0 && sources.every((q) => NETWORK.has(q.source ?? ""))) fannedOut++;
        return result;
      })).recorder,
  );
  const cpu = {
    stack: (world.stack.cpuMs() - cpu0.stack) / users.length,
    agents: (world.agents.cpuMs() - cpu0.agents) / users.length,
  };
  return { ...counted, cpu, fannedOut };
}

async function dayRun(bench: Bench) {
  const { world } = bench;
  const total = num("dayrun-requests");
  // New learners with an intent: their day 1 has nothing cached, so every run fans out.
  const users = await world.users(total);
  await mapConcurrent(users, 8, (u) => world.api.call(u.token, "POST", "intent.sync", INTENT_BODY));
  const latency = num("agent-latency");
  await setAllFaults(world.faults, [{ fault: { latency_ms: latency }, count: "always" }]);
  const floor = await agentFloor(world);
  const { recorder, statements, serverMs, cpu, fannedOut, top } = await fanOuts(world, users);
  await clearFaults(world.faults);
  const r = recorder.summary();
  const errors = recorder.errors() ? ` +${recorder.errors()} errors` : "";
  bench.rows.push({
    measure: "day.run latency (agents in their own process)",
    c: "1",
    n: `${r.n}${errors}`,
    value: `p50 ${fmtMs(r.p50)} / p95 ${fmtMs(r.p95)} ms`,
    limit: `agent call p95 ${fmtMs(floor)} ms (set ${latency})`,
    ratio: `${r.p95 >= floor ? "+" : "−"}${fmtMs(Math.abs(r.p95 - floor))} ms`,
    goal: `≤ +${DAYRUN_SLACK_MS} ms`,
    met: verdict(r.p95 <= floor + DAYRUN_SLACK_MS && !errors),
  }, {
    measure: "day.run CPU per run",
    c: "1",
    n: String(total),
    value: `stack ${fmtMs(cpu.stack)} ms, agents ${fmtMs(cpu.agents)} ms`,
    limit: `${statements} statements, ${serverMs} ms server time per run`,
    ratio: "—",
    goal: "reported",
    met: "—",
  });
  bench.notes.push(
    `day.run c=1: ${fannedOut} of ${total} runs called every agent over the network; ` +
      `top statements: ${top}`,
  );
}

// ---- replay, load, profile -----------------------------------------------------------------

async function replay(bench: Bench) {
  const users = await bench.world.users(num("replay-users"));
  const result = await runReplay({
    api: bench.world.api,
    admin: bench.world.cluster.admin,
    users,
    days: num("replay-days"),
    concurrency: num("replay-concurrency"),
    log,
  });
  bench.rows.push({
    measure: `replay: ${users.length} users × ${num("replay-days")} days, cache aged 24 h a day`,
    c: `${num("replay-concurrency")} users`,
    n: `${result.hits + result.misses} agent answers${
      result.errors ? `, ${result.errors} errors` : ""
    }`,
    value: `hit rate ${fmtPct(result.hitRate)}`,
    limit: "—",
    ratio: fmtPct(result.hitRate),
    goal: "≥ 85 %",
    met: verdict(result.hitRate >= 0.85 && result.errors === 0),
  });
  bench.notes.push(
    `replay per agent (hit = cache, revalidated, stale): ${agentLines(result).join("; ")}`,
  );
}

async function profile(bench: Bench, port: number) {
  const c = Math.max(...flags["sat-levels"].split(",").map(Number));
  for (const route of ROUTE_CASES.timed) {
    const profiler = await startProfiler(port);
    const run = await runConcurrent({
      concurrency: c,
      durationMs: num("profile-seconds") * 1000,
      task: async (i) =>
        void await route.http(bench.world.api, bench.users[i % bench.users.length], bench),
    });
    const lines = summaryLines(summarize(await profiler.stop()));
    bench.notes.push(
      `CPU profile of the stack, ${route.name} at c=${c} (${run.perSecond.toFixed(0)} req/s): ${
        lines.join("; ")
      }`,
    );
  }
}

// ---- main ----------------------------------------------------------------------------------

async function phases(bench: Bench, inspectPort: number | undefined) {
  for (const route of ROUTE_CASES.timed) {
    if (runs("routes")) await routeAtC1(bench, route);
    if (runs("saturation")) await saturation(bench, route);
  }
  if (runs("dayrun")) await dayRun(bench);
  if (runs("replay")) await replay(bench);
  if (runs("load")) {
    const options = { users: num("load-users"), days: num("load-days"), log };
    bench.rows.push(...await loadRows(bench.world, options));
  }
  if (inspectPort !== undefined) await profile(bench, inspectPort);
}

async function main() {
  if (flags.help) return console.log(HELP);
  const t0 = performance.now();
  const inspectPort = runs("profile") ? freePort() : undefined;
  const world = await openWorld({
    log,
    poolMax: flags.pool ? num("pool") : undefined,
    logFile: flags["log-file"],
    inspectPort,
    statStatements: true,
  });
  try {
    const machine = await machineLines(world.cluster.admin);
    const users = await world.users(num("users"));
    const pool = createPool(world.cluster.url, { max: world.stack.poolMax ?? 10 });
    const learners = await setUpLearners(world, users);
    const bench: Bench = { world, users, pool, rows: [], notes: [], ...learners };
    await phases(bench, inspectPort).finally(() => pool.end({ timeout: 5 }));
    const report = reportText({
      command: `deno task bench ${Deno.args.join(" ")}`.trim(),
      seconds: (performance.now() - t0) / 1000,
      machine,
      rows: bench.rows,
      notes: [
        ...bench.notes,
        `stack pool max ${world.stack.poolMax}; pg_stat_statements ${
          world.statStatements ? "on" : "unavailable"
        }`,
      ],
    });
    console.log(report);
    if (!flags["no-write"]) await Deno.writeTextFile(flags.out, report);
  } finally {
    await world.stop();
  }
}

await main();
