/**
 * `deno task load` (spec 10): concurrent simulated learners through the whole flow, the served
 * stack on a real Postgres, the reference agents in their own process. Exit code 1 when a check
 * fails. Phase 1 (also `deno task bench`'s load phase): `--users` learners at once, healthy
 * agents, each intent.sync then `--days` × (day.run, day.done, status); zero errors, zero
 * degraded plans, day.run p95 ≤ 6 s. Phase 2: alex down (500), ta 50 % 5xx, socratic 429 with
 * `Retry-After: 1`, clo hangs `--hang-ms`; half the learners re-run their phase-1 days with
 * force_refresh (everything cached: stale, never degraded), half are new (degraded); every
 * day.run answers within the run deadline, flags agree with signal_quality, nothing is lost.
 */
import { AGENT_NAMES } from "../supabase/functions/_shared/agents/protocol.ts";
import { clearFaults, faultState, setFaults } from "../test/support/faults.ts";
import { type Check, storageChecks } from "../test/support/integrity.ts";
import { isOk } from "../test/support/orchestrator_client.ts";
import { type ServedStack, startServedStack } from "../test/support/served_stack.ts";
import { parseFlags } from "./lib/cli.ts";
import { flowErrors, type FlowRun, ROUTES, runFlow } from "./lib/flow.ts";
import { machineLines } from "./lib/machine.ts";
import { HIT_SOURCES } from "./lib/replay.ts";
import { fmtMs, fmtP50P95, markdownTable } from "./lib/stats.ts";

const FRESH_SOURCES = new Set(["cache", "revalidated", "network"]);
const DAYRUN_P95_GOAL_MS = 6_000;
const learningDays = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

export interface LoadOptions {
  users: number;
  days: number;
  /** Bound on every request. @default 60_000 */
  timeoutMs?: number;
  log: (line: string) => void;
}

/** Phase 1: `options.users` new learners at once, healthy agents. */
async function healthyPhase(served: ServedStack, options: LoadOptions): Promise<FlowRun> {
  await clearFaults(served.faults);
  const users = await served.users(options.users);
  options.log(`load: ${users.length} learners × (intent.sync + ${options.days} days)`);
  const { timeoutMs } = options;
  return await runFlow(served.api, users, { days: learningDays(options.days), timeoutMs });
}

/** Phase 1's goals, as the benchmark's table shows them. */
function healthyGoals(run: FlowRun) {
  const errors = flowErrors(run);
  const degraded = run.runs.filter((r) => isOk(r.result) && r.result.body.degraded_mode).length;
  const dayRun = run.recorders.get("day.run")!.summary();
  return [
    { measure: "load: errors", value: String(errors), goal: "0", met: errors === 0 },
    { measure: "load: degraded plans", value: String(degraded), goal: "0", met: degraded === 0 },
    {
      measure: "load: day.run latency",
      value: fmtP50P95(dayRun),
      goal: `p95 ≤ ${DAYRUN_P95_GOAL_MS} ms`,
      met: dayRun.p95 <= DAYRUN_P95_GOAL_MS,
    },
  ];
}

/** Phase 1 for `deno task bench`: its goals, with the concurrency and the number of runs. */
export async function loadRows(served: ServedStack, options: LoadOptions) {
  const run = await healthyPhase(served, options);
  const c = `${options.users} learners, healthy agents`;
  return healthyGoals(run).map((goal) => ({ ...goal, c, n: `${run.runs.length} runs` }));
}

function routeTable(run: FlowRun): string {
  const rows = ROUTES.map((route) => {
    const recorder = run.recorders.get(route)!;
    const s = recorder.summary();
    return [route, String(s.n), ...[s.p50, s.p95, s.p99, s.max].map(fmtMs)]
      .concat(String(recorder.errors()), recorder.outcomeText());
  });
  const all = ROUTES.reduce((n, r) => n + run.recorders.get(r)!.samples.length, 0);
  const header = ["route", "ok", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "outcomes"];
  return markdownTable(header, rows, "lrrrrrrl") +
    `\n\n${all} answers in ${run.seconds.toFixed(1)} s: ${(all / run.seconds).toFixed(0)}/s`;
}

/** `storageChecks` of the phase's learners, named for the phase. */
async function verify(served: ServedStack, phase: string, run: FlowRun): Promise<Check[]> {
  const checks = await storageChecks(served.cluster.admin, run.ack, run.users.map((u) => u.id));
  return checks.map((c) => ({ ...c, name: `${phase}: ${c.name}` }));
}

/** The chaos fault plans; ta's alternation is topped up while `running()` (plans hold 100 steps). */
async function failAgents(served: ServedStack, hangMs: number, running: () => boolean) {
  const f = served.faults;
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

/** Phase 2's checks of the day.run answers; `warm` are the learners that re-ran their days. */
function chaosChecks(run: FlowRun, warm: Set<string>, deadlineMs: number): Check[] {
  const failed = run.runs.filter((r) => !isOk(r.result)).map((r) => r.result);
  const answered = run.runs.filter((r) => isOk(r.result));
  const over = run.runs.filter((r) => r.result.ms > deadlineMs).length;
  const slowest = fmtMs(Math.max(...run.runs.map((r) => r.result.ms)));
  const problems = answered.flatMap((r) => flagProblems(r.result.body));
  const degraded = (w: boolean) => {
    const runs = answered.filter((r) => warm.has(r.user.id) === w);
    return [runs.filter((r) => r.result.body.degraded_mode).length, runs.length];
  };
  const [[hot, warmN], [cold, coldN], errors] = [degraded(true), degraded(false), flowErrors(run)];
  const check = (name: string, ok: boolean, detail: string) => ({
    name: `phase 2: ${name}`,
    ok,
    detail,
  });
  const failures = failed.length ? `: ${tally(failed.map((f) => `${f.status} ${f.code}`))}` : "";
  return [
    check(
      "every day.run answered 2xx",
      !failed.length,
      `${failed.length} of ${run.runs.length} not 2xx${failures}`,
    ),
    check(
      `every day.run within the ${deadlineMs} ms deadline`,
      !over,
      `max ${slowest} ms; ${over} over`,
    ),
    check(
      "flags agree with signal_quality",
      !problems.length,
      tally(problems) || `${answered.length} consistent`,
    ),
    check("warm learners (everything cached) are never degraded", !hot, `${hot} of ${warmN}`),
    check(
      "cold learners (alex down, nothing cached) are always degraded",
      cold === coldN,
      `${cold} of ${coldN}`,
    ),
    check("zero errors on any route", !errors, `${errors} non-2xx or timed out`),
  ];
}

/** Phase 2: half the phase-1 learners again with force_refresh, half new, failing agents. */
async function chaosPhase(
  served: ServedStack,
  phase1: FlowRun,
  options: LoadOptions & { hangMs: number },
  print: (line: string) => void,
) {
  const [row] = await served.cluster.admin<{ v: number | null }[]>`
    select (value #>> '{}')::int as v from wisely.settings where key = 'run.deadline_ms'
  `;
  const deadlineMs = row?.v ?? 12_000;
  const half = Math.floor(options.users / 2);
  const again = phase1.users.slice(0, options.users - half);
  const warm = new Set(again.map((u) => u.id));
  const learners = [...again, ...await served.users(half)];
  let running = true;
  const taCalls = failAgents(served, options.hangMs, () => running);
  const run = await runFlow(served.api, learners, {
    days: learningDays(options.days),
    syncIntent: (u) => !warm.has(u.id),
    forceRefresh: (u) => warm.has(u.id),
    timeoutMs: options.timeoutMs,
  });
  running = false;
  print(
    `\n## Phase 2: ${learners.length} learners, failing agents (${run.seconds.toFixed(1)} s)\n`,
  );
  print(
    `alex 500 always, ta 503/200 alternating (${await taCalls} calls), socratic 429 ` +
      `Retry-After 1, clo hangs ${options.hangMs} ms; ${warm.size} warm learners re-run ` +
      `with force_refresh, ${half} cold; run deadline ${deadlineMs} ms\n`,
  );
  print(routeTable(run));
  await clearFaults(served.faults);
  return [...chaosChecks(run, warm, deadlineMs), ...await verify(served, "phase 2", run)];
}

/** `deno task load`'s flags, parsed in `main` only (bench/run.ts imports this module). */
const FLAGS = {
  users: ["1000", "concurrent learners"],
  days: ["3", "learning days per learner"],
  "hang-ms": ["20000", "how long clo hangs in phase 2, ms"],
  "timeout-ms": ["60000", "bound on every request, ms"],
  pool: ["", "stack pool size (empty: the stack's, 10)"],
  "skip-chaos": [false, "phase 1 only"],
  "log-file": ["", "keep the stack's request log there (empty: discarded)"],
} as const;

async function main() {
  const flags = parseFlags("deno task load [flags]", FLAGS);
  const log = (line: string) => console.error(`[load] ${line}`);
  const print = (line: string) => console.log(line);
  const printChecks = (checks: Check[]) =>
    checks.forEach((c) => print(`- ${c.ok ? "ok" : "FAIL"} — ${c.name}: ${c.detail}`));
  // The seeded rate limits stay: 1000 learners at a person's pace never meet them.
  const served = await startServedStack({
    log,
    agentsProcess: true,
    poolMax: flags.optionalNum("pool"),
    logFile: flags.str("log-file") || undefined,
    relaxRateLimits: false,
  });
  try {
    print(`# Load test\n\n\`deno task load ${Deno.args.join(" ")}\`\n`);
    for (const line of await machineLines(served.cluster.admin)) print(line);
    const options = { users: flags.num("users"), days: flags.num("days"), log };
    const [timeoutMs, hangMs] = [flags.num("timeout-ms"), flags.num("hang-ms")];
    const phase1 = await healthyPhase(served, { ...options, timeoutMs });
    print(
      `\n## Phase 1: ${options.users} learners, healthy agents (${phase1.seconds.toFixed(1)} s)\n`,
    );
    print(routeTable(phase1) + "\n");
    const checks: Check[] = healthyGoals(phase1).map((goal) => ({
      name: `phase 1: ${goal.measure}, goal ${goal.goal}`,
      ok: goal.met,
      detail: goal.value,
    }));
    checks.push(...await verify(served, "phase 1", phase1));
    printChecks(checks);
    const chaos = flags.bool("skip-chaos")
      ? []
      : await chaosPhase(served, phase1, { ...options, timeoutMs, hangMs }, print);
    printChecks(chaos);
    if ([...checks, ...chaos].some((c) => !c.ok)) Deno.exitCode = 1;
  } finally {
    await served.stop();
  }
}

if (import.meta.main) await main();
