/**
 * `deno task load` (spec 10): concurrent simulated learners through the whole flow, the served
 * stack on a real Postgres, the reference agents in their own process. Exit code 1 when a check
 * fails. Phase 1 (also `deno task bench`'s load phase): `--users` learners at once, healthy
 * agents, each intent.sync then `--days` × (day.run, day.done, status); zero errors, zero
 * degraded plans, day.run p95 ≤ 6 s. Phase 2: alex down (500), ta 50 % 5xx, socratic 429 with
 * `Retry-After: 1`, clo hangs `--hang-ms`; half the learners re-run their phase-1 days with
 * force_refresh (everything cached: stale, never degraded), half are new (degraded); every
 * day.run answers within the run deadline, flags agree with signal_quality, nothing is lost.
 * `--think-ms` turns the closed loop into learners who pause between requests (flow.ts).
 */
import { loadSettings } from "../supabase/functions/_shared/settings.ts";
import { clearFaults, faultState, setFaults } from "../test/support/faults.ts";
import { type Check, checkLine, flagProblems, storageChecks } from "../test/support/integrity.ts";
import { isOk, outcomeOf } from "../test/support/orchestrator_client.ts";
import { type ServedStack, startServedStack } from "../test/support/served_stack.ts";
import { parseFlags } from "./lib/cli.ts";
import { type FlowOptions, type FlowRun, learningDays, runFlow } from "./lib/flow.ts";
import { machineLines } from "./lib/machine.ts";
import { countBy, fmtMs, fmtP50P95, markdownTable } from "./lib/stats.ts";

/** The agents that fail every call in phase 2 (ta fails every other one). */
const FAILING = ["alex", "socratic", "clo"];
const P95_GOAL_MS = 6_000;

/** Phase 1's learners and how they run (`days`: as `runFlow` takes them). */
export type LoadOptions = FlowOptions & { users: number; log: (line: string) => void };

type ChaosOptions = LoadOptions & { hangMs: number };

/** `3 learners, healthy agents`; with think time `3 learners, think 0–8000 ms`. */
const learnersText = ({ users, thinkMs }: LoadOptions, agents: string) =>
  `${users} learners, ${thinkMs ? `think 0–${thinkMs} ms` : agents}`;

/** Phase 1: `options.users` new learners at once, healthy agents; its goals as table rows. */
export async function healthyPhase(served: ServedStack, options: LoadOptions) {
  await clearFaults(served.faults);
  const users = await served.users(options.users);
  options.log(`load: ${users.length} learners × (intent.sync + ${options.days.length} days)`);
  const run = await runFlow(served.api, users, options);
  const degraded = run.runs.filter((r) => isOk(r.result) && r.result.body.degraded_mode).length;
  const dayRun = run.recorders.get("day.run")!.summary();
  const [p95Goal, fast] = [`p95 ≤ ${P95_GOAL_MS} ms`, dayRun.p95 <= P95_GOAL_MS];
  const goals = [
    { measure: "errors", value: String(run.errors), goal: "0", met: run.errors === 0 },
    { measure: "degraded plans", value: String(degraded), goal: "0", met: degraded === 0 },
    { measure: "day.run latency", value: fmtP50P95(dayRun), goal: p95Goal, met: fast },
  ];
  const [c, n] = [learnersText(options, "healthy agents"), `${run.runs.length} runs`];
  return { run, goals: goals.map((g) => ({ ...g, measure: `load: ${g.measure}`, c, n })) };
}

function routeTable(run: FlowRun): string {
  const rows = [...run.recorders].map(([route, recorder]) => {
    const s = recorder.summary();
    return [route, String(s.n), ...[s.p50, s.p95, s.p99, s.max].map(fmtMs)]
      .concat(String(recorder.errors()), recorder.outcomeText());
  });
  const all = [...run.recorders.values()].reduce((n, r) => n + r.samples.length, 0);
  const header = ["route", "ok", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "outcomes"];
  return markdownTable(header, rows, "lrrrrrrl") +
    `\n\n${all} answers in ${run.seconds.toFixed(1)} s: ${(all / run.seconds).toFixed(0)}/s`;
}

/** `checks` and the storage checks of the phase's learners, named for the phase. */
async function phaseChecks(served: ServedStack, phase: string, run: FlowRun, checks: Check[]) {
  const ids = run.users.map((u) => u.id);
  checks.push(...await storageChecks(served.cluster.admin, run.ack, ids));
  return checks.map((c) => ({ ...c, name: `${phase}: ${c.name}` }));
}

/** The chaos fault plans; ta's alternation is topped up while `running()` (plans hold 100 steps). */
async function failAgents(served: ServedStack, hangMs: number, running: () => boolean) {
  const f = served.faults;
  await setFaults(f, "alex", [{ fault: { status: 500 }, count: "always" }]);
  await setFaults(f, "socratic", [{ fault: { status: 429, retry_after: "1" }, count: "always" }]);
  await setFaults(f, "clo", [{ fault: { latency_ms: hangMs }, count: "always" }]);
  const pair = [{ fault: { status: 503 }, count: 1 }, { fault: {}, count: 1 }];
  const alternating = Array.from({ length: 50 }, () => pair).flat();
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

function tally(items: string[]): string {
  return [...countBy(items)].slice(0, 6).map(([k, n]) => `${n}× ${k}`).join("; ");
}

/** Phase 2's checks of the day.run answers; `warm` are the learners that re-ran their days. */
function chaosChecks(run: FlowRun, warm: Set<string>, deadlineMs: number): Check[] {
  const answered = run.runs.filter((r) => isOk(r.result));
  const failed = run.runs.filter((r) => !isOk(r.result)).map((r) => outcomeOf(r.result));
  const notOk = [`${failed.length} of ${run.runs.length} not 2xx`, tally(failed)].filter(Boolean);
  const over = run.runs.filter((r) => r.result.ms > deadlineMs).length;
  const late = `max ${fmtMs(Math.max(...run.runs.map((r) => r.result.ms)))} ms; ${over} over`;
  const problems = answered.flatMap((r) => flagProblems(r.result.body, FAILING));
  const consistent = tally(problems) || `${answered.length} consistent`;
  const degraded = (w: boolean) => {
    const runs = answered.filter((r) => warm.has(r.user.id) === w);
    const n = runs.filter((r) => r.result.body.degraded_mode).length;
    return { n, not: runs.length - n, text: `${n} of ${runs.length}` };
  };
  const [hot, cold] = [degraded(true), degraded(false)];
  // Each check: its name, how many answers break it (0: it holds), what was seen.
  const table: [string, number, string][] = [
    ["every day.run answered 2xx", failed.length, notOk.join(": ")],
    [`every day.run within the ${deadlineMs} ms deadline`, over, late],
    ["flags agree with signal_quality", problems.length, consistent],
    ["warm learners (everything cached) are never degraded", hot.n, hot.text],
    ["cold learners (alex down, nothing cached) are always degraded", cold.not, cold.text],
    ["zero errors on any route", run.errors, `${run.errors} non-2xx or timed out`],
  ];
  return table.map(([name, broken, detail]) => ({ name, ok: broken === 0, detail }));
}

/** Phase 2: half the phase-1 learners again with force_refresh, half new, failing agents. */
async function chaosPhase(served: ServedStack, phase1: FlowRun, options: ChaosOptions) {
  const { deadlineMs } = await served.cluster.admin.begin(loadSettings);
  const half = Math.floor(options.users / 2);
  const again = phase1.users.slice(0, options.users - half);
  const warm = new Set(again.map((u) => u.id));
  const learners = [...again, ...await served.users(half)];
  let running = true;
  const taCalls = failAgents(served, options.hangMs, () => running);
  const run = await runFlow(served.api, learners, {
    ...options,
    syncIntent: (u) => !warm.has(u.id),
    forceRefresh: (u) => warm.has(u.id),
  });
  running = false;
  const who = learnersText({ ...options, users: learners.length }, "failing agents");
  console.log(`\n## Phase 2: ${who} (${run.seconds.toFixed(1)} s)\n`);
  console.log(
    `alex 500 always, ta 503/200 alternating (${await taCalls} calls), socratic 429 ` +
      `Retry-After 1, clo hangs ${options.hangMs} ms; ${warm.size} warm learners re-run ` +
      `with force_refresh, ${half} cold; run deadline ${deadlineMs} ms\n`,
  );
  console.log(routeTable(run));
  await clearFaults(served.faults);
  return await phaseChecks(served, "phase 2", run, chaosChecks(run, warm, deadlineMs));
}

/** `deno task load`'s flags, parsed in `main` only (bench/run.ts imports this module). */
const FLAGS = {
  users: ["1000", "concurrent learners"],
  days: ["3", "learning days per learner"],
  "think-ms": ["0", "a learner's pause between requests, uniform in [0, think-ms] (0: none)"],
  "hang-ms": ["20000", "how long clo hangs in phase 2, ms"],
  "timeout-ms": ["60000", "bound on every request, ms"],
  pool: ["", "stack pool size (empty: the stack's, 10)"],
  "skip-chaos": [false, "phase 1 only"],
  "log-file": ["", "keep the stack's request log there (empty: discarded)"],
} as const;

async function main() {
  const flags = parseFlags("deno task load [flags]", FLAGS);
  const log = (line: string) => console.error(`[load] ${line}`);
  const [poolMax, logFile] = [flags.optionalNum("pool"), flags.str("log-file") || undefined];
  // The seeded rate limits stay: 1000 learners at a person's pace never meet them.
  const stack = { log, agentsProcess: true, poolMax, logFile, relaxRateLimits: false };
  const served = await startServedStack(stack);
  try {
    console.log(`# Load test\n\n\`deno task load ${Deno.args.join(" ")}\`\n`);
    console.log((await machineLines(served.cluster.admin)).join("\n"));
    const [users, days] = [flags.num("users"), learningDays(flags.num("days"))];
    const [timeoutMs, thinkMs] = [flags.num("timeout-ms"), flags.num("think-ms")];
    const options = { users, days, timeoutMs, thinkMs, log };
    const { run: phase1, goals } = await healthyPhase(served, options);
    const who = learnersText(options, "healthy agents");
    console.log(`\n## Phase 1: ${who} (${phase1.seconds.toFixed(1)} s)\n`);
    console.log(routeTable(phase1) + "\n");
    const named = goals.map((g) => ({
      name: `${g.measure}, goal ${g.goal}`,
      ok: g.met,
      detail: g.value,
    }));
    const checks = await phaseChecks(served, "phase 1", phase1, named);
    checks.forEach((c) => console.log(checkLine(c)));
    const chaos = flags.bool("skip-chaos")
      ? []
      : await chaosPhase(served, phase1, { ...options, hangMs: flags.num("hang-ms") });
    chaos.forEach((c) => console.log(checkLine(c)));
    if ([...checks, ...chaos].some((c) => !c.ok)) Deno.exitCode = 1;
  } finally {
    await served.stop();
  }
}

if (import.meta.main) await main();
