/**
 * `deno task load` (spec 10): many concurrent simulated learners through the whole flow against
 * the served stack on a real Postgres, the reference agents in their own process.
 *
 * Phase 1, healthy agents: `--users` learners at once, each intent.sync, then `--days` ×
 * (day.run, day.done, status). Goals: zero errors, zero degraded plans, day.run p95 ≤ 6 s.
 * `deno task bench` runs this phase too (`loadRows`).
 *
 * Phase 2, failing agents (fault plans): alex down (500), ta 50 % 5xx (503/200 alternating),
 * socratic 429 with `Retry-After: 1`, clo hangs `--hang-ms`. Half the learners are phase-1
 * learners re-running their days with force_refresh (everything cached: served stale, never
 * degraded), half new (nothing cached: degraded). Every day.run answers within the run deadline,
 * the flags agree with signal_quality, nothing is lost. Exit code 1 when a check fails.
 */
import { parseArgs } from "node:util";
import { AGENT_NAMES } from "../supabase/functions/_shared/agents/protocol.ts";
import { clearFaults, faultState, setFaults } from "../test/support/faults.ts";
import {
  type Acknowledged,
  checkAcknowledged,
  checkIntegrity,
  emptyAcknowledged,
} from "../test/support/integrity.ts";
import { type CallResult, isOk } from "../test/support/orchestrator_client.ts";
import type { TestUser } from "../test/support/users.ts";
import { type RouteName, routeRecorders, ROUTES, runLearner } from "./lib/flow.ts";
import { machineLines } from "./lib/machine.ts";
import type { Row } from "./lib/report.ts";
import { mapConcurrent } from "./lib/runner.ts";
import { fmtMs, type LatencyRecorder } from "./lib/stats.ts";
import { markdownTable } from "./lib/table.ts";
import { openWorld, type World } from "./lib/world.ts";

const HIT_SOURCES = new Set(["cache", "revalidated", "stale"]);
const FRESH_SOURCES = new Set(["cache", "revalidated", "network"]);
const DAYRUN_P95_GOAL_MS = 6_000;

export interface LoadOptions {
  users: number;
  days: number;
  /** Bound on every request. @default 60_000 */
  timeoutMs?: number;
  log: (line: string) => void;
}

interface PhaseRun {
  learners: TestUser[];
  recorders: Map<RouteName, LatencyRecorder>;
  ack: Acknowledged;
  runs: { warm: boolean; result: CallResult }[];
  seconds: number;
}

/** Every learner through intent.sync (unless warm) and `days` learning days, all at once. */
async function runPhase(
  world: World,
  learners: { user: TestUser; warm: boolean }[],
  options: LoadOptions,
): Promise<PhaseRun> {
  const recorders = routeRecorders();
  const ack = emptyAcknowledged();
  const runs: PhaseRun["runs"] = [];
  const days = Array.from({ length: options.days }, (_, i) => i + 1);
  const started = performance.now();
  await mapConcurrent(learners, learners.length, ({ user, warm }) =>
    runLearner({
      api: world.api,
      token: user.token,
      days,
      syncIntent: !warm,
      forceRefresh: warm,
      timeoutMs: options.timeoutMs ?? 60_000,
      recorders,
      ack,
      onCall: (route, result) => route === "day.run" && runs.push({ warm, result }),
    }));
  const seconds = (performance.now() - started) / 1000;
  return { learners: learners.map((l) => l.user), recorders, ack, runs, seconds };
}

/** Phase 1: `options.users` new learners, healthy agents. */
export async function healthyPhase(world: World, options: LoadOptions): Promise<PhaseRun> {
  await clearFaults(world.faults);
  const users = await world.users(options.users);
  options.log(`load: ${users.length} learners × (intent.sync + ${options.days} days)`);
  return await runPhase(world, users.map((user) => ({ user, warm: false })), options);
}

const errorsOf = (run: PhaseRun) => [...run.recorders.values()].reduce((n, r) => n + r.errors(), 0);
const degradedOf = (run: PhaseRun) =>
  run.runs.filter((r) => isOk(r.result) && r.result.body.degraded_mode).length;

/** Phase 1's goals: zero errors, zero degraded plans, day.run p95 ≤ 6 s. */
function healthyGoals(run: PhaseRun) {
  const errors = errorsOf(run);
  const degraded = degradedOf(run);
  const dayRun = run.recorders.get("day.run")!.summary();
  return [
    { measure: "load: errors", value: String(errors), goal: "0", ok: errors === 0 },
    { measure: "load: degraded plans", value: String(degraded), goal: "0", ok: degraded === 0 },
    {
      measure: "load: day.run latency",
      value: `p50 ${fmtMs(dayRun.p50)} / p95 ${fmtMs(dayRun.p95)} ms`,
      goal: `p95 ≤ ${DAYRUN_P95_GOAL_MS} ms`,
      ok: dayRun.p95 <= DAYRUN_P95_GOAL_MS,
    },
  ];
}

/** The benchmark's rows: phase 1 and its goals. */
export async function loadRows(world: World, options: LoadOptions): Promise<Row[]> {
  const run = await healthyPhase(world, options);
  return healthyGoals(run).map(({ ok, ...goal }) => ({
    ...goal,
    c: `${options.users} learners, healthy agents`,
    n: `${run.runs.length} runs`,
    limit: "—",
    ratio: "—",
    met: ok ? "met" : "NOT met",
  }));
}

// ---- the report of `deno task load` ----------------------------------------------------------

type Check = (name: string, ok: boolean, detail: string) => void;

function routeTable(run: PhaseRun): string {
  const rows = ROUTES.map((route) => {
    const rec = run.recorders.get(route)!;
    const s = rec.summary();
    return [route, String(s.n), fmtMs(s.p50), fmtMs(s.p95), fmtMs(s.p99), fmtMs(s.max)]
      .concat([String(rec.errors()), rec.outcomeText()]);
  });
  const all = ROUTES.reduce((n, r) => n + run.recorders.get(r)!.samples.length, 0);
  return markdownTable(
    ["route", "ok", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "outcomes"],
    rows,
    ["left", "right", "right", "right", "right", "right", "right", "left"],
  ) + `\n\n${all} answers in ${run.seconds.toFixed(1)} s: ${(all / run.seconds).toFixed(0)}/s`;
}

async function verify(world: World, phase: string, run: PhaseRun, check: Check) {
  const lost = await checkAcknowledged(world.cluster.admin, run.ack);
  const { ack } = run;
  check(
    `${phase}: every acknowledged write is stored`,
    lost.length === 0,
    lost.join("; ") ||
      `${ack.runs.length} runs, ${ack.completions.length} completions, ${ack.intents.length} intents`,
  );
  const integrity = await checkIntegrity(world.cluster.admin, run.learners.map((u) => u.id));
  check(
    `${phase}: no half-written session, completion or event`,
    integrity.problems.length === 0,
    (integrity.problems.length ? integrity.problems.join("; ") + " — " : "") +
      `${integrity.sessions} sessions, ${integrity.revisions} revisions, ` +
      `${integrity.completions} completions, events ${JSON.stringify(integrity.events)}`,
  );
}

/** The chaos fault plans; ta's alternation is topped up while `running()` (plans hold 100 steps). */
async function failAgents(world: World, hangMs: number, running: () => boolean) {
  const f = world.faults;
  await setFaults(f, "alex", [{ fault: { status: 500 }, count: "always" }]);
  await setFaults(f, "socratic", [{ fault: { status: 429, retry_after: "1" }, count: "always" }]);
  await setFaults(f, "clo", [{ fault: { latency_ms: hangMs }, count: "always" }]);
  const alternating = Array.from({ length: 100 }, (_, i) => ({
    fault: i % 2 === 0 ? { status: 503 } : {},
    count: 1,
  }));
  let taCalls = 0;
  while (running()) {
    const state = await faultState(f, "ta");
    if (state.steps.length < 50) {
      taCalls += state.calls;
      await setFaults(f, "ta", alternating);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return taCalls + (await faultState(f, "ta")).calls;
}

/** Spec 5.4/6.3: degraded iff some agent unavailable; available/fresh/source and counts agree. */
// deno-lint-ignore no-explicit-any
function flagProblems(body: any): string[] {
  const problems: string[] = [];
  const entries = Object.entries(body.signal_quality ?? {}) as [
    string,
    { available: boolean; fresh: boolean; source?: string },
  ][];
  if (entries.length !== AGENT_NAMES.length) problems.push(`${entries.length} agents`);
  if (body.degraded_mode !== entries.some(([, q]) => !q.available)) {
    problems.push(`degraded_mode ${body.degraded_mode} disagrees with availability`);
  }
  for (const [agent, q] of entries) {
    if (q.available !== (q.source !== "fallback")) problems.push(`${agent}: available/source`);
    if (q.fresh !== FRESH_SOURCES.has(q.source ?? "")) problems.push(`${agent}: fresh/source`);
    if (agent !== "ta" && (q.source === "network" || q.source === "revalidated")) {
      problems.push(`${agent} answered (${q.source}) although it always fails`);
    }
  }
  const hits = entries.filter(([, q]) => HIT_SOURCES.has(q.source ?? "")).length;
  if (body.cache_hits !== hits) problems.push(`cache_hits ${body.cache_hits}, sources say ${hits}`);
  if (body.cache_hits + body.cache_misses !== entries.length) problems.push("hits + misses");
  return problems;
}

/** The first few distinct items with counts. */
function tally(items: string[]): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].slice(0, 6).map(([k, n]) => `${n}× ${k}`).join("; ");
}

function checkChaos(run: PhaseRun, deadlineMs: number, check: Check) {
  const failed = run.runs.filter((r) => !isOk(r.result));
  check(
    "phase 2: every day.run answered 2xx",
    failed.length === 0,
    `${failed.length} of ${run.runs.length} not 2xx` +
      (failed.length ? `: ${tally(failed.map((f) => `${f.result.status} ${f.result.code}`))}` : ""),
  );
  const maxMs = Math.max(...run.runs.map((r) => r.result.ms));
  const over = run.runs.filter((r) => r.result.ms > deadlineMs).length;
  check(
    `phase 2: every day.run within the ${deadlineMs} ms deadline`,
    over === 0,
    `max ${fmtMs(maxMs)} ms; ${over} over`,
  );
  const answered = run.runs.filter((r) => isOk(r.result));
  const problems = answered.flatMap((r) => flagProblems(r.result.body));
  check(
    "phase 2: flags agree with signal_quality",
    problems.length === 0,
    tally(problems) || `${answered.length} consistent`,
  );
  const warm = answered.filter((r) => r.warm);
  const cold = answered.filter((r) => !r.warm);
  const degraded = (rs: typeof answered) => rs.filter((r) => r.result.body.degraded_mode).length;
  check(
    "phase 2: warm learners (everything cached) are never degraded",
    degraded(warm) === 0,
    `${degraded(warm)} of ${warm.length}`,
  );
  check(
    "phase 2: cold learners (alex down, nothing cached) are always degraded",
    degraded(cold) === cold.length,
    `${degraded(cold)} of ${cold.length}`,
  );
  check(
    "phase 2: zero errors on any route",
    errorsOf(run) === 0,
    `${errorsOf(run)} non-2xx or timed out`,
  );
}

async function chaosPhase(
  world: World,
  phase1: PhaseRun,
  flags: Flags,
  print: (l?: string) => void,
  check: Check,
) {
  const [row] = await world.cluster.admin<{ v: number | null }[]>`
    select (value #>> '{}')::int as v from wisely.settings where key = 'run.deadline_ms'
  `;
  const deadlineMs = row?.v ?? 12_000;
  const half = Math.floor(flags.users / 2);
  const learners = [
    ...phase1.learners.slice(0, flags.users - half).map((user) => ({ user, warm: true })),
    ...(await world.users(half)).map((user) => ({ user, warm: false })),
  ];
  let running = true;
  const taCalls = failAgents(world, flags.hangMs, () => running);
  const run = await runPhase(world, learners, { ...flags, log: () => {} });
  running = false;
  print(
    `\n## Phase 2: ${learners.length} learners, failing agents (${run.seconds.toFixed(1)} s)\n`,
  );
  print(
    `alex 500 always, ta 503/200 alternating (${await taCalls} calls), socratic 429 ` +
      `Retry-After 1, clo hangs ${flags.hangMs} ms; ${flags.users - half} warm learners re-run ` +
      `with force_refresh, ${half} cold; run deadline ${deadlineMs} ms\n`,
  );
  print(routeTable(run));
  await clearFaults(world.faults);
  checkChaos(run, deadlineMs, check);
  await verify(world, "phase 2", run, check);
}

interface Flags {
  users: number;
  days: number;
  hangMs: number;
  timeoutMs: number;
  skipChaos: boolean;
}

function parseFlags() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      users: { type: "string", default: "1000" },
      days: { type: "string", default: "3" },
      "hang-ms": { type: "string", default: "20000" },
      "timeout-ms": { type: "string", default: "60000" },
      pool: { type: "string" },
      "skip-chaos": { type: "boolean", default: false },
      "log-file": { type: "string" },
    },
  });
  const flags: Flags = {
    users: Number(values.users),
    days: Number(values.days),
    hangMs: Number(values["hang-ms"]),
    timeoutMs: Number(values["timeout-ms"]),
    skipChaos: values["skip-chaos"],
  };
  return {
    flags,
    pool: values.pool ? Number(values.pool) : undefined,
    logFile: values["log-file"],
  };
}

async function main() {
  const { flags, pool, logFile } = parseFlags();
  const log = (line: string) => console.error(`[load] ${line}`);
  const print = (line = "") => console.log(line);
  const checks: boolean[] = [];
  const check: Check = (name, ok, detail) => {
    checks.push(ok);
    print(`- ${ok ? "ok" : "FAIL"} — ${name}: ${detail}`);
  };
  // The seeded rate limits stay: 1000 learners at a person's pace never meet them.
  const world = await openWorld({
    log,
    poolMax: pool,
    logFile,
    relaxRateLimits: false,
  });
  try {
    print(`# Load test\n\n\`deno task load ${Deno.args.join(" ")}\`\n`);
    for (const line of await machineLines(world.cluster.admin)) print(line);
    const phase1 = await healthyPhase(world, { ...flags, log });
    print(
      `\n## Phase 1: ${flags.users} learners, healthy agents (${phase1.seconds.toFixed(1)} s)\n`,
    );
    print(routeTable(phase1) + "\n");
    for (const goal of healthyGoals(phase1)) {
      check(`phase 1: ${goal.measure}, goal ${goal.goal}`, goal.ok, goal.value);
    }
    await verify(world, "phase 1", phase1, check);
    if (!flags.skipChaos) await chaosPhase(world, phase1, flags, print, check);
    if (checks.includes(false)) Deno.exitCode = 1;
  } finally {
    await world.stop();
  }
}

if (import.meta.main) await main();
