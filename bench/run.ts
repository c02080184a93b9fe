/**
 * `deno task bench` (spec 10): the served stack on a real Postgres against limits measured in the
 * same run, one Markdown table written with the machine to bench/RESULTS.md. One function a
 * phase, run in this order (`--only` picks some): routes and saturation for each of status,
 * day.done and intent.sync (their limit: the same transaction run by pgbench, lib/pgbench.ts),
 * dayrun (against the agent latency), replay (cache hit rate), load (bench/load.ts's phase 1,
 * closed loop or with `--load-think-ms`) and profile (CPU profiles of the stack at saturation).
 */
import { freePort } from "../dev/pg_cluster.ts";
import type { Sql } from "../supabase/functions/_shared/db.ts";
import { createPool } from "../supabase/functions/_shared/pool.ts";
import { AGENT_NAMES } from "../supabase/functions/_shared/agents/protocol.ts";
import { clearFaults, setAllFaults } from "../test/support/faults.ts";
import { DayRunAnswer, NETWORK_SOURCES } from "../test/support/integrity.ts";
import { OrchestratorClient, weekDay } from "../test/support/orchestrator_client.ts";
import { type ServedStack, startServedStack } from "../test/support/served_stack.ts";
import { callSampleAgent, startServerProcess } from "../test/support/server_process.ts";
import type { TestUser } from "../test/support/users.ts";
import { healthyPhase } from "./load.ts";
import { parseFlags } from "./lib/cli.ts";
import { learningDays, runFlow } from "./lib/flow.ts";
import { machineLines } from "./lib/machine.ts";
import { runPgbench } from "./lib/pgbench.ts";
import { startProfiler } from "./lib/profile.ts";
import { agentLines, runReplay } from "./lib/replay.ts";
import { request, type RouteCase, routeCases, setUpLearners, transaction } from "./lib/routes.ts";
import { measure, measureStatements, timed } from "./lib/runner.ts";
import { fmtMs, fmtP50P95, fmtPct, fmtRatio, markdownTable } from "./lib/stats.ts";

const PHASES = ["routes", "saturation", "dayrun", "replay", "load", "profile"];
const flags = parseFlags(
  "deno task bench [flags]   (BENCH_DATABASE_URL: that Postgres instead of a throwaway cluster)",
  {
    users: ["64", "learners for the route phases"],
    requests: ["1000", "measured HTTP requests per route at c=1"],
    warmup: ["1000", "unmeasured requests per route first (V8 compiles the hot path)"],
    "pgbench-seconds": ["5", "seconds per pgbench run"],
    "sat-clients": ["16", "pgbench clients at saturation (-j 2)"],
    "sat-levels": ["16,32,64", "HTTP concurrency levels at saturation"],
    "sat-seconds": ["3", "seconds per HTTP saturation level"],
    "dayrun-requests": ["100", "day.run requests at c=1 per agent latency (new learners' day 1)"],
    "dayrun-warmup": ["200", "unmeasured day.runs first (other new learners, 8 at a time)"],
    "agent-latency": ["200", "fixed agent latency for day.run, ms"],
    "replay-users": ["200", "users in the learning-days replay"],
    "replay-days": ["14", "learning days per user"],
    "replay-concurrency": ["50", "users replaying at once"],
    "load-users": ["1000", "concurrent learners in the load phase"],
    "load-days": ["3", "learning days per learner in the load phase"],
    "load-think-ms": ["0", "a load learner's pause between requests, uniform in [0, this] ms"],
    "profile-seconds": ["3", "seconds of load per profiled route"],
    only: [PHASES.join(","), "phases to run"],
    pool: ["", "stack pool size (empty: the stack's, 10)"],
    out: ["bench/RESULTS.md", "results file"],
    "log-file": ["", "keep the stack's request log there (empty: discarded)"],
    "no-write": [false, "print only"],
  },
);
const ONLY = new Set(flags.str("only").split(",").map((p) => p.trim()).filter(Boolean));
for (const p of ONLY) if (!PHASES.includes(p)) throw new Error(`--only: unknown phase ${p}`);
const SAT_LEVELS = flags.str("sat-levels").split(",").map(Number).filter((n) => n > 0);
const DAYRUN_SLACK_MS = 15;
const log = (line: string) => console.error(`[bench] ${line}`);

/** A line of the table: what was measured against the limit measured in the same run. */
interface Row {
  measure: string;
  /** Concurrency, the limit and the ratio to it. @default "1", "—", "—" */
  c?: string;
  limit?: string;
  ratio?: string;
  n: string;
  /** Medians and percentiles, never a verdict by itself. */
  value: string;
  goal: string;
  /** null: only reported. */
  met: boolean | null;
}

interface Bench {
  served: ServedStack;
  users: TestUser[];
  /** The measured routes, bound to the learners' day-1 sessions. */
  routes: RouteCase[];
  /** A pool like the stack's (same settings, same size): the postgres.js path without HTTP. */
  pool: Sql;
  rows: Row[];
  notes: string[];
}

/** The i-th call's learner: the route phases cycle through `--users`. */
const userAt = (bench: Bench, i: number) => bench.users[i % bench.users.length];
const httpCall = (bench: Bench, route: RouteCase) => (i: number) =>
  request(bench.served.api, route, userAt(bench, i));

/** pgbench at `clients`, each client running the route's transaction of its own user. */
function pgbenchLimit(bench: Bench, route: RouteCase, clients: number) {
  const steps = bench.users.slice(0, clients).map((u) => (sql: Sql) => transaction(sql, route, u));
  return runPgbench(bench.served.cluster.url, steps, clients, flags.num("pgbench-seconds"));
}

const slash = (s: { p50: number; p95: number }) => `${fmtMs(s.p50)}/${fmtMs(s.p95)}`;

/** c=1 over HTTP (statements and stack CPU per request), via postgres.js and via pgbench. */
async function routesPhase(bench: Bench, route: RouteCase) {
  const requests = flags.num("requests");
  await measure({ concurrency: 1, total: flags.num("warmup") }, httpCall(bench, route));
  const cost = await measureStatements(bench.served, requests, httpCall(bench, route));
  const pg = await pgbenchLimit(bench, route, 1);
  const sql = (i: number) => timed(() => transaction(bench.pool, route, userAt(bench, i)));
  const driver = await measure({ concurrency: 1, total: requests }, sql);
  const [http, h, d] = [cost.recorder, cost.recorder.summary(), driver.recorder.summary()];
  const errors = http.errors() ? ` +${http.errors()} errors (${http.outcomeText()})` : "";
  bench.rows.push({
    measure: `${route.name} latency`,
    n: `${h.n}${errors}`,
    value: fmtP50P95(h),
    limit: `pgbench ${fmtP50P95(pg)} (${pg.count} tx)`,
    ratio: fmtRatio(h.p95 / pg.p95),
    goal: "p95 ≤ 2×",
    met: h.p95 / pg.p95 <= 2 && !errors && pg.failures === 0,
  });
  bench.notes.push(
    `${route.name} c=1: HTTP p50/p95 ${slash(h)} ms; the same transaction via postgres.js (no ` +
      `HTTP) ${slash(d)} ms; pgbench ${slash(pg)} ms (${pg.statements} statements); ` +
      `per HTTP request ${cost.statements} statements, ${cost.serverMs} ms server time, stack ` +
      `CPU ${fmtMs(cost.cpu.stack)} ms. Top statements: ${cost.top}`,
  );
  log(`${route.name} c=1: HTTP p95 ${fmtMs(h.p95)} vs pgbench ${fmtMs(pg.p95)} ms`);
}

/** The peak HTTP req/s over `--sat-levels` against pgbench's tps at `--sat-clients`. */
async function saturationPhase(bench: Bench, route: RouteCase) {
  const [durationMs, call] = [flags.num("sat-seconds") * 1000, httpCall(bench, route)];
  let http = { c: 0, rps: 0, errors: 0 };
  for (const c of SAT_LEVELS) {
    const { recorder, elapsedMs } = await measure({ concurrency: c, durationMs }, call);
    const rps = recorder.samples.length / (elapsedMs / 1000);
    log(`${route.name} saturation c=${c}: ${rps.toFixed(0)} req/s`);
    if (rps > http.rps) http = { c, rps, errors: recorder.errors() };
  }
  const clients = flags.num("sat-clients");
  const pg = await pgbenchLimit(bench, route, clients);
  bench.rows.push({
    measure: `${route.name} throughput at saturation`,
    c: `HTTP ${http.c}, pgbench ${clients}`,
    n: `${flags.num("sat-seconds")} s per level`,
    value: `${http.rps.toFixed(0)} req/s`,
    limit: `pgbench ${pg.tps.toFixed(0)} tps (p95 ${fmtMs(pg.p95)} ms)`,
    ratio: fmtPct(http.rps / pg.tps),
    goal: "≥ 60 %",
    met: http.rps / pg.tps >= 0.6 && http.errors === 0 && pg.failures === 0,
  });
}

/** Fan-outs measured for the limit of day.run, after a few unmeasured ones. */
const FAN_OUT_SAMPLES = 100;
const FAN_OUT_WARMUP = 20;

/**
 * The limit of day.run (spec 10, "slowest agent's latency, parallel fan-out"): the four agents
 * called at once straight on the agents process (same fault plan), as a run calls them; each
 * fan-out's latency is its slowest call's. Also one agent alone, one call at a time, for the
 * record: the fan-out's slowest answer comes later than one call's, since the agents process
 * answers the four with one thread.
 */
async function agentLimit(served: ServedStack) {
  const token = await served.faults.serviceToken();
  const callAgent = async (agent: string) => {
    const { ok, status } = await callSampleAgent(served.agents.functionsUrl, agent, token);
    if (!ok) throw new Error(`agent-${agent} answered ${status}`);
  };
  const fanOut = () => timed(() => Promise.all(AGENT_NAMES.map(callAgent)));
  await measure({ concurrency: 1, total: FAN_OUT_WARMUP }, fanOut);
  const fanned = await measure({ concurrency: 1, total: FAN_OUT_SAMPLES }, fanOut);
  const single = await measure({ concurrency: 1, total: 20 }, () => timed(() => callAgent("ta")));
  return {
    fanOut: fanned.recorder.summary(),
    errors: fanned.recorder.errors() + single.recorder.errors(),
    single: single.recorder.summary(),
  };
}

/**
 * day.run at c=1 for `users` (new learners: their day 1 has nothing cached, so every run fans
 * out), every agent answering after `latency` ms, with its limit: the fan-out at that latency.
 * The `warm` learners' runs come first, unmeasured, 8 at a time.
 */
async function dayRunsAt(
  served: ServedStack,
  users: TestUser[],
  latency: number,
  warm: TestUser[] = [],
) {
  await setAllFaults(served.faults, [{ fault: { latency_ms: latency }, count: "always" }]);
  await measure(
    { concurrency: 8, total: warm.length },
    (i) => served.api.call(warm[i].token, "POST", "day.run", weekDay(1)),
  );
  const limit = await agentLimit(served);
  let fannedOut = 0;
  const cost = await measureStatements(served, users.length, async (i) => {
    const result = await served.api.call(users[i].token, "POST", "day.run", weekDay(1));
    const signals = Object.values(DayRunAnswer.safeParse(result.body).data?.signal_quality ?? {});
    if (signals.length && signals.every((q) => NETWORK_SOURCES.has(q?.source ?? ""))) fannedOut++;
    return result;
  });
  const [summary, errors] = [cost.recorder.summary(), cost.recorder.errors() + limit.errors];
  const floor = limit.fanOut.p95;
  const over = (p95: number) => `${p95 >= floor ? "+" : "−"}${fmtMs(Math.abs(p95 - floor))} ms`;
  const limitText = `slowest agent p95 ${fmtMs(floor)} ms (${AGENT_NAMES.length} at once; ` +
    `one alone ${fmtMs(limit.single.p95)}; set ${latency})`;
  return { summary, errors, floor, over, limitText, cost, fannedOut };
}

/**
 * day.run against the agent latency (the goal), then the same runs of other learners with the
 * agents answering at once: the run's own work with no agent wait in it.
 */
async function dayRunPhase(bench: Bench) {
  const { served } = bench;
  const [total, latency] = [flags.num("dayrun-requests"), flags.num("agent-latency")];
  const users = await served.users(2 * total + flags.num("dayrun-warmup"));
  await runFlow(served.api, users, { days: [], concurrency: 8 });
  // Steady state, as for the other routes: V8 has compiled the run's code and the pool's
  // connections have run its statements.
  const run = await dayRunsAt(served, users.slice(0, total), latency, users.slice(2 * total));
  const chain = await chainLatency(served, total);
  const atOnce = await dayRunsAt(served, users.slice(total, 2 * total), 0);
  await clearFaults(served.faults);
  const countText = (r: { summary: { n: number }; errors: number }) =>
    `${r.summary.n}${r.errors ? ` +${r.errors} errors` : ""}`;
  bench.rows.push({
    measure: "day.run latency (agents in their own process)",
    n: countText(run),
    value: fmtP50P95(run.summary),
    limit: run.limitText,
    ratio: run.over(run.summary.p95),
    goal: `≤ +${DAYRUN_SLACK_MS} ms`,
    met: run.summary.p95 <= run.floor + DAYRUN_SLACK_MS && !run.errors,
  }, {
    measure: "day.run's shape with no work (its hops alone)",
    n: countText(chain),
    value: fmtP50P95(chain.summary),
    limit: run.limitText,
    ratio: run.over(chain.summary.p95),
    goal: "reported",
    met: null,
  }, {
    measure: "day.run with the agents answering at once",
    n: countText(atOnce),
    value: fmtP50P95(atOnce.summary),
    limit: atOnce.limitText,
    ratio: atOnce.over(atOnce.summary.p95),
    goal: "reported",
    met: null,
  }, {
    measure: "day.run CPU per run",
    n: String(total),
    value: `stack ${fmtMs(run.cost.cpu.stack)} ms, agents ${fmtMs(run.cost.cpu.agents)} ms`,
    limit: `${run.cost.statements} statements, ${run.cost.serverMs} ms server time per run ` +
      `(${atOnce.cost.serverMs} ms with the agents answering at once)`,
    goal: "reported",
    met: null,
  });
  bench.notes.push(
    `day.run c=1: ${run.fannedOut} of ${total} runs called every agent over the network ` +
      `(${atOnce.fannedOut} of ${total} with the agents answering at once); top statements: ` +
      `${run.cost.top}; with the agents answering at once: ${atOnce.cost.top}`,
  );
}

/**
 * `total` requests at c=1 (after half as many) to a `chain` process (test/support/
 * server_process.ts): day.run's hops with none of its work, against the same agents.
 */
async function chainLatency(served: ServedStack, total: number) {
  const chain = await startServerProcess({
    kind: "chain",
    databaseUrl: served.cluster.url,
    agentsUrl: served.agents.url,
  });
  try {
    const client = new OrchestratorClient(chain.functionsUrl);
    const call = () => client.call("-", "POST", "day.run", weekDay(1));
    await measure({ concurrency: 1, total: Math.ceil(total / 2) }, call);
    const { recorder } = await measure({ concurrency: 1, total }, call);
    return { summary: recorder.summary(), errors: recorder.errors() };
  } finally {
    await chain.stop();
  }
}

/** `--replay-users` × `--replay-days` learning days, the cache aged 24 h a day: the hit rate. */
async function replayPhase(bench: Bench) {
  const [days, concurrency] = [flags.num("replay-days"), flags.num("replay-concurrency")];
  const users = await bench.served.users(flags.num("replay-users"));
  const result = await runReplay(bench.served, users, { days, concurrency, log });
  const errors = result.errors ? `, ${result.errors} errors` : "";
  bench.rows.push({
    measure: `replay: ${users.length} users × ${days} days, cache aged 24 h a day`,
    c: `${concurrency} users`,
    n: `${result.hits + result.misses} agent answers${errors}`,
    value: `hit rate ${fmtPct(result.hitRate)}`,
    ratio: fmtPct(result.hitRate),
    goal: "≥ 85 %",
    met: result.hitRate >= 0.85 && result.errors === 0,
  });
  bench.notes.push(
    `replay per agent (hit = cache, revalidated, stale): ${agentLines(result.byAgent).join("; ")}`,
  );
}

/** `--load-users` learners at once through `--load-days` days (bench/load.ts's phase 1). */
async function loadPhase(bench: Bench) {
  const [users, days] = [flags.num("load-users"), learningDays(flags.num("load-days"))];
  const options = { users, days, thinkMs: flags.num("load-think-ms"), log };
  bench.rows.push(...(await healthyPhase(bench.served, options)).goals);
}

/** A CPU profile of the stack per route at the highest saturation level. */
async function profilePhase(bench: Bench, inspectPort: number) {
  const [c, durationMs] = [Math.max(...SAT_LEVELS), flags.num("profile-seconds") * 1000];
  for (const route of bench.routes) {
    const stopProfiler = await startProfiler(inspectPort);
    const { perSecond } = await measure({ concurrency: c, durationMs }, httpCall(bench, route));
    const where = `${route.name} at c=${c} (${perSecond.toFixed(0)} req/s)`;
    bench.notes.push(`CPU profile of the stack, ${where}: ${(await stopProfiler()).join("; ")}`);
  }
}

async function runPhases(bench: Bench, inspectPort: number | undefined) {
  for (const route of bench.routes) {
    if (ONLY.has("routes")) await routesPhase(bench, route);
    if (ONLY.has("saturation")) await saturationPhase(bench, route);
  }
  if (ONLY.has("dayrun")) await dayRunPhase(bench);
  if (ONLY.has("replay")) await replayPhase(bench);
  if (ONLY.has("load")) await loadPhase(bench);
  if (inspectPort !== undefined) await profilePhase(bench, inspectPort);
}

/** The text of bench/RESULTS.md. */
function report(bench: Bench, machine: string[], seconds: number): string {
  const table = markdownTable(
    ["measure", "c", "n", "measured", "limit (same run)", "ratio", "goal", "goal met"],
    bench.rows.map((r) =>
      [r.measure, r.c ?? "1", r.n, r.value, r.limit ?? "—", r.ratio ?? "—", r.goal]
        .concat(r.met === null ? "—" : r.met ? "met" : "NOT met")
    ),
    "llrrlrll",
  );
  const { poolMax } = bench.served.stack;
  const statements = bench.served.statStatements ? "on" : "unavailable";
  const notes = [...bench.notes, `stack pool max ${poolMax}; pg_stat_statements ${statements}`];
  return `# Benchmark results

Written by \`${`deno task bench ${Deno.args.join(" ")}`.trim()}\` (bench/run.ts) in \
${seconds.toFixed(0)} s.

## Machine

${machine.join("\n")}

## Results

${table}

## How to read it

- Limit of status, day.done, intent.sync: the route's own transaction (the statements its \
database step sends through postgres.js, recorded, parameters inlined, same claims and role) run \
by pgbench (\`-n -M simple\`, c=1, and at saturation \`-c 16 -j 2\`), against the same database, \
each pgbench client with its own user. Ratio = HTTP p95 / pgbench p95; at saturation HTTP peak \
req/s / pgbench tps.
- Warm-up: each c=1 measurement starts after ${flags.num("warmup")} unmeasured requests of the \
route (${flags.num("dayrun-warmup")} day.runs), so V8 has compiled the code it runs, as in an \
isolate that has been serving.
- day.run: every agent answers after the set latency, the agents in their own process; the \
limit is the slowest agent's latency (spec 10): the p95 of 100 fan-outs straight to that \
process, each the four agents called at once and timed to its slowest answer. One agent's call \
alone (20, one at a time) is shown beside it. The row below it is day.run's hops with none of its \
work (test/support/server_process.ts, kind chain: body read, a one-statement transaction, the same \
fan-out, another, the answers), against the same limit: the rest of day.run's latency is its own. \
The row after is the same runs (other new learners) with the agents answering at once, against \
the fan-out at 0 ms: day.run's own work with no agent wait in it; its \
server time per run is shown beside the first's.
- Statements and server time per request: pg_stat_statements over the c=1 measurement.
- CPU: user + system time of the stack process (and the agents process) per request, from /proc \
(10 ms ticks, so per-request values are averages over the run).
- The load generator, the stack, the agents and Postgres share the machine's cores.

## Breakdown

${notes.map((n) => `- ${n}`).join("\n")}
`;
}

async function main() {
  const t0 = performance.now();
  const inspectPort = ONLY.has("profile") ? freePort() : undefined;
  const [poolMax, logFile] = [flags.optionalNum("pool"), flags.str("log-file") || undefined];
  const options = { log, agentsProcess: true, poolMax, logFile, inspectPort, statStatements: true };
  const served = await startServedStack(options);
  try {
    const machine = await machineLines(served.cluster.admin);
    const users = await served.users(flags.num("users"));
    const pool = createPool(served.cluster.url, { max: served.stack.poolMax ?? 10 });
    const routes = routeCases(await setUpLearners(served.api, users));
    const bench: Bench = { served, users, routes, pool, rows: [], notes: [] };
    await runPhases(bench, inspectPort).finally(() => pool.end({ timeout: 5 }));
    const text = report(bench, machine, (performance.now() - t0) / 1000);
    console.log(text);
    if (!flags.bool("no-write")) await Deno.writeTextFile(flags.str("out"), text);
  } finally {
    await served.stop();
  }
}

await main();
