/**
 * `deno task load` (spec 10, issue 4 item 2): many concurrent simulated learners through the
 * whole flow against the served stack on a real Postgres.
 *
 * Phase 1, healthy agents: `--users` learners at once, each intent.sync, then `--days` ×
 * (day.run, day.done, status). Expected: zero errors; p50/p95 per route.
 *
 * Phase 2, failing agents (through the reference agents' fault plans):
 *   alex     down: 500 on every call
 *   ta       50 % 5xx: 503 and 200 alternating
 *   socratic 429 with `Retry-After: 1` on every call
 *   clo      hangs `--hang-ms` (20 s) on every call
 * Half of the phase-2 learners are phase-1 learners re-running their days with force_refresh
 * (every agent has a cached answer: failures must be served stale, not degraded); half are new
 * learners (nothing cached: failed agents fall back, the session is degraded). Expected: every
 * day.run answers within the run deadline (wisely.settings run.deadline_ms), the flags agree
 * with signal_quality, and nothing is lost: every acknowledged write is in the database, every
 * session has its revisions and events, every completion its event.
 *
 * Every size is a flag (`--help`); defaults are full size. Exit code 1 when a check fails.
 */
import { parseArgs } from "node:util";
import { type CallResult, OrchestratorClient } from "./lib/client.ts";
import { type RouteName, routeRecorders, ROUTES, runLearner } from "./lib/flow.ts";
import { machineInfo, machineLines } from "./lib/machine.ts";
import { mapConcurrent } from "./lib/runner.ts";
import { startServerProcess } from "./lib/server_proc.ts";
import { fmtMs, type LatencyRecorder } from "./lib/stats.ts";
import { markdownTable } from "./lib/table.ts";
import {
  type Acknowledged,
  checkAcknowledged,
  checkIntegrity,
  emptyAcknowledged,
} from "./lib/verify.ts";
import {
  type AgentName,
  AGENTS,
  type BenchUser,
  createUsers,
  getFaults,
  openDatabase,
  relaxRateLimits,
  serviceJwt,
  setAllFaults,
  setFaults,
} from "./lib/world.ts";

const HELP = `deno task load [flags]   (sizes default to the full run)
  --users N             concurrent learners in each phase (default 1000)
  --days N              day.run/day.done pairs per learner (default 3)
  --hang-ms MS          how long the hanging agent hangs (default 20000)
  --timeout-ms MS       bound on every request (default 60000)
  --pool N              stack pool size
  --relax-rate-limits   lift the per-user token buckets (default: keep the seeded limits)
  --skip-chaos          run phase 1 only
  --log-file PATH       keep the stack's request log lines there (default: discarded)
BENCH_DATABASE_URL      use that Postgres instead of a throwaway cluster`;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    help: { type: "boolean", default: false },
    users: { type: "string", default: "1000" },
    days: { type: "string", default: "3" },
    "hang-ms": { type: "string", default: "20000" },
    "timeout-ms": { type: "string", default: "60000" },
    pool: { type: "string" },
    "relax-rate-limits": { type: "boolean", default: false },
    "skip-chaos": { type: "boolean", default: false },
    "log-file": { type: "string" },
  },
});
if (flags.help) {
  console.log(HELP);
  Deno.exit(0);
}
const USERS = Number(flags.users);
const DAYS = Number(flags.days);
const HANG_MS = Number(flags["hang-ms"]);
const TIMEOUT_MS = Number(flags["timeout-ms"]);
const POOL = flags.pool ? Number(flags.pool) : undefined;

const HIT_SOURCES = new Set(["cache", "revalidated", "stale"]);
const FRESH_SOURCES = new Set(["cache", "revalidated", "network"]);

const log = (line: string) => console.error(`[load] ${line}`);
const t0 = performance.now();
const since = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
const days = Array.from({ length: DAYS }, (_, i) => i + 1);

const checks: { name: string; ok: boolean; detail: string }[] = [];
const check = (name: string, ok: boolean, detail: string) => {
  checks.push({ name, ok, detail });
  log(`${ok ? "ok  " : "FAIL"} ${name}: ${detail}`);
};

const db = await openDatabase(log);
if (flags["relax-rate-limits"]) await relaxRateLimits(db.admin);
const stack = await startServerProcess({
  mode: "stack",
  databaseUrl: db.url,
  migrate: false,
  agentFaults: true,
  poolMax: POOL,
  logFile: flags["log-file"],
});
const output: string[] = [];
const print = (line = "") => {
  output.push(line);
  console.log(line);
};

try {
  const machine = await machineInfo(db.admin);
  const api = new OrchestratorClient(stack.functionsUrl);
  const jwt = await serviceJwt();
  const issuer = stack.issuer ?? `${stack.url}/auth/v1`;
  const [deadlineRow] = await db.admin<{ v: number | null }[]>`
    select (value #>> '{}')::int as v from wisely.settings where key = 'run.deadline_ms'
  `;
  const deadlineMs = deadlineRow?.v ?? 12_000;
  print("# Load test");
  print();
  print(`\`deno task load ${Deno.args.join(" ")}\``);
  print();
  for (const line of machineLines(machine)) print(line);
  print(
    `- stack pool max ${stack.poolMax ?? "?"}${
      POOL !== undefined && POOL !== stack.poolMax ? ` (asked for ${POOL}: not supported yet)` : ""
    }; rate limits ${
      flags["relax-rate-limits"] ? "lifted" : "as seeded"
    }; run deadline ${deadlineMs} ms`,
  );

  // ---- phase 1: healthy agents -------------------------------------------------------------------
  await setAllFaults(stack.functionsUrl, jwt, []);
  const learners = await createUsers(db.admin, USERS, issuer);
  const ack1 = emptyAcknowledged();
  const rec1 = routeRecorders();
  log(`phase 1: ${USERS} learners × (intent.sync + ${DAYS} × day.run/day.done/status)`);
  const p1Started = performance.now();
  const p1Degraded = new Map<string, number>();
  let p1Runs = 0;
  await mapConcurrent(learners, USERS, (user) =>
    runLearner({
      api,
      token: user.token,
      days,
      timeoutMs: TIMEOUT_MS,
      recorders: rec1,
      ack: ack1,
      onCall: (route, result) => {
        if (route !== "day.run" || result.status < 200 || result.status >= 300) return;
        p1Runs++;
        for (const [agent, q] of Object.entries(result.body.signal_quality ?? {})) {
          const { available, latency_ms } = q as { available: boolean; latency_ms?: number };
          if (!available) {
            const key = `${agent} (${(latency_ms ?? 0) >= 11_000 ? "at the deadline" : "failed"})`;
            p1Degraded.set(key, (p1Degraded.get(key) ?? 0) + 1);
          }
        }
      },
    }));
  const p1Seconds = (performance.now() - p1Started) / 1000;
  print();
  print(`## Phase 1: ${USERS} concurrent learners, healthy agents (${p1Seconds.toFixed(1)} s)`);
  print();
  print(routeTable(rec1, p1Seconds));
  const errors1 = totalErrors(rec1);
  check("phase 1: zero errors", errors1 === 0, `${errors1} non-2xx or timed out`);
  const unavailable1 = [...p1Degraded.values()].reduce((a, b) => a + b, 0);
  check(
    "phase 1: healthy agents are never reported unavailable (no load shedding)",
    unavailable1 === 0,
    unavailable1
      ? `${unavailable1} agent answers of ${p1Runs} runs unavailable: ` +
        [...p1Degraded].map(([k, n]) => `${k} ×${n}`).join(", ")
      : `${p1Runs} runs, every agent available`,
  );
  await verify("phase 1", learners, ack1);

  if (!flags["skip-chaos"]) {
    // ---- phase 2: failing agents -------------------------------------------------------------------
    const faultSpec: Record<AgentName, string> = {
      alex: "down: 500 always",
      ta: "50 % 5xx: 503/200 alternating",
      socratic: "429 with Retry-After: 1, always",
      clo: `hangs ${HANG_MS} ms, always`,
    };
    await setFaults(stack.functionsUrl, jwt, "alex", [{ fault: { status: 500 }, count: "always" }]);
    await setFaults(stack.functionsUrl, jwt, "socratic", [
      { fault: { status: 429, retry_after: "1" }, count: "always" },
    ]);
    await setFaults(stack.functionsUrl, jwt, "clo", [
      { fault: { latency_ms: HANG_MS }, count: "always" },
    ]);
    // The fault plan holds at most 100 steps and does not repeat, so ta's alternation is topped
    // up while the phase runs; its calls are summed across top-ups.
    const alternating = Array.from({ length: 100 }, (_, i) => ({
      fault: i % 2 === 0 ? { status: 503 } : {},
      count: 1,
    }));
    let taCalls = 0;
    let topping = true;
    const topUp = (async () => {
      while (topping) {
        const state = await getFaults(stack.functionsUrl, jwt, "ta");
        if (state.steps.length < 50) {
          taCalls += state.calls;
          await setFaults(stack.functionsUrl, jwt, "ta", alternating);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      taCalls += (await getFaults(stack.functionsUrl, jwt, "ta")).calls;
    })();

    const half = Math.floor(USERS / 2);
    // Warm learners: phase-1 learners, whose days have every agent's answer cached.
    const warm = learners.slice(0, USERS - half);
    const cold = await createUsers(db.admin, half, issuer);
    const ack2 = emptyAcknowledged();
    const rec2 = routeRecorders();
    const runs: { group: "warm" | "cold"; result: CallResult }[] = [];
    log(`phase 2: ${warm.length} warm learners (force_refresh) + ${cold.length} cold learners`);
    const p2Started = performance.now();
    const everyone: { user: BenchUser; group: "warm" | "cold" }[] = [
      ...warm.map((user) => ({ user, group: "warm" as const })),
      ...cold.map((user) => ({ user, group: "cold" as const })),
    ];
    await mapConcurrent(everyone, everyone.length, ({ user, group }) =>
      runLearner({
        api,
        token: user.token,
        days,
        syncIntent: group === "cold",
        forceRefresh: group === "warm",
        timeoutMs: TIMEOUT_MS,
        recorders: rec2,
        ack: ack2,
        onCall: (route, result) => {
          if (route === "day.run") runs.push({ group, result });
        },
      }));
    const p2Seconds = (performance.now() - p2Started) / 1000;
    topping = false;
    await topUp;
    const agentCalls: Record<string, number> = {};
    for (const agent of AGENTS) {
      agentCalls[agent] = agent === "ta"
        ? taCalls
        : (await getFaults(stack.functionsUrl, jwt, agent)).calls;
    }
    await setAllFaults(stack.functionsUrl, jwt, []);

    print();
    print(
      `## Phase 2: ${everyone.length} concurrent learners, failing agents (${
        p2Seconds.toFixed(1)
      } s)`,
    );
    print();
    for (const agent of AGENTS) {
      print(`- ${agent}: ${faultSpec[agent]} — ${agentCalls[agent]} calls received`);
    }
    print(
      `- ${warm.length} warm learners re-run days 1–${DAYS} with force_refresh (all agents cached);` +
        ` ${cold.length} cold learners run days 1–${DAYS} (nothing cached)`,
    );
    print();
    print(routeTable(rec2, p2Seconds));

    // Deadline: every day.run answered, within the run deadline.
    const runLatencies = runs.map((r) => r.result.ms);
    const maxMs = Math.max(...runLatencies);
    const over = runs.filter((r) => r.result.ms > deadlineMs).length;
    const unanswered = runs.filter((r) => r.result.status === 0).length;
    const failed = runs.filter((r) => r.result.status >= 300 || r.result.status === 0);
    check(
      "phase 2: every day.run answered 2xx",
      failed.length === 0,
      `${failed.length} of ${runs.length} not 2xx (${unanswered} unanswered within ${TIMEOUT_MS} ms)` +
        (failed.length
          ? `: ${summarize(failed.map((f) => `${f.result.status} ${f.result.code}`))}`
          : ""),
    );
    check(
      `phase 2: every day.run within the ${deadlineMs} ms deadline`,
      over === 0,
      `max ${fmtMs(maxMs)} ms; ${over} of ${runs.length} over (by up to ${
        fmtMs(Math.max(0, maxMs - deadlineMs))
      } ms)`,
    );

    // Flags.
    const flagProblems: string[] = [];
    const degraded = { warm: 0, cold: 0 };
    const total = { warm: 0, cold: 0 };
    const sources = new Map<string, number>();
    for (const { group, result } of runs) {
      if (result.status < 200 || result.status >= 300) continue;
      total[group]++;
      if (result.body.degraded_mode) degraded[group]++;
      flagProblems.push(...flagConsistency(result.body));
      for (const [agent, q] of Object.entries(result.body.signal_quality ?? {})) {
        const source = (q as { source?: string }).source ?? "?";
        const key = `${group} ${agent} ${source}`;
        sources.set(key, (sources.get(key) ?? 0) + 1);
        if (
          ["alex", "clo", "socratic"].includes(agent) &&
          (source === "network" || source === "revalidated")
        ) {
          flagProblems.push(`${agent} answered (${source}) although it always fails`);
        }
      }
    }
    check(
      "phase 2: flags agree with signal_quality",
      flagProblems.length === 0,
      flagProblems.length ? summarize(flagProblems) : `${runs.length} answers consistent`,
    );
    check(
      "phase 2: warm learners (everything cached) are never degraded",
      degraded.warm === 0,
      `${degraded.warm} of ${total.warm} degraded`,
    );
    check(
      "phase 2: cold learners (alex down, nothing cached) are always degraded",
      degraded.cold === total.cold,
      `${degraded.cold} of ${total.cold} degraded`,
    );
    print();
    print(
      "Sources by group and agent: " +
        [...sources].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(
          ", ",
        ),
    );
    const errors2 = totalErrors(rec2);
    check("phase 2: zero errors on any route", errors2 === 0, `${errors2} non-2xx or timed out`);
    await verify("phase 2", [...warm, ...cold], ack2);
  }

  print();
  print("## Checks");
  print();
  for (const c of checks) print(`- ${c.ok ? "ok" : "FAIL"} — ${c.name}: ${c.detail}`);
  log(`done in ${since()}`);
  if (checks.some((c) => !c.ok)) Deno.exitCode = 1;
} finally {
  await stack.stop();
  await db.stop();
}

// ---- helpers -----------------------------------------------------------------------------------

async function verify(phase: string, users: BenchUser[], ack: Acknowledged) {
  const lost = await checkAcknowledged(db.admin, ack);
  check(
    `${phase}: every acknowledged write is stored`,
    lost.length === 0,
    lost.length
      ? lost.join("; ")
      : `${ack.runs.length} runs, ${ack.completions.length} completions, ${ack.intents.length} intents`,
  );
  const integrity = await checkIntegrity(db.admin, users.map((u) => u.id));
  check(
    `${phase}: no half-written session, completion or event`,
    integrity.problems.length === 0,
    (integrity.problems.length ? integrity.problems.join("; ") + " — " : "") +
      `${integrity.sessions} sessions, ${integrity.revisions} revisions, ` +
      `${integrity.completions} completions, events ${JSON.stringify(integrity.events)}`,
  );
}

function routeTable(recorders: Map<RouteName, LatencyRecorder>, seconds: number): string {
  const rows = ROUTES.map((route) => {
    const rec = recorders.get(route)!;
    const s = rec.summary();
    return [
      route,
      String(s.n),
      fmtMs(s.p50),
      fmtMs(s.p95),
      fmtMs(s.p99),
      fmtMs(s.max),
      String(errorsOf(rec)),
      rec.outcomeText(),
    ];
  });
  const all = ROUTES.reduce(
    (n, r) => n + [...recorders.get(r)!.outcomes.values()].reduce((a, b) => a + b, 0),
    0,
  );
  return markdownTable(
    ["route", "ok", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "outcomes"],
    rows,
    ["left", "right", "right", "right", "right", "right", "right", "left"],
  ) + `\n\n${all} requests in ${seconds.toFixed(1)} s: ${(all / seconds).toFixed(0)} req/s`;
}

function errorsOf(rec: LatencyRecorder): number {
  let errors = 0;
  for (const [outcome, n] of rec.outcomes) if (!/^2\d\d$/.test(outcome)) errors += n;
  return errors;
}

function totalErrors(recorders: Map<RouteName, LatencyRecorder>): number {
  return [...recorders.values()].reduce((n, r) => n + errorsOf(r), 0);
}

/** The first few distinct problems with counts. */
function summarize(items: string[]): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].slice(0, 6).map(([k, n]) => `${n}× ${k}`).join("; ");
}

/** Spec 5.4/6.3: degraded iff some agent unavailable; available/fresh/source and counts agree. */
// deno-lint-ignore no-explicit-any
function flagConsistency(body: any): string[] {
  const problems: string[] = [];
  const entries = Object.entries(body.signal_quality ?? {}) as [
    string,
    { available: boolean; fresh: boolean; source?: string },
  ][];
  if (entries.length !== AGENTS.length) {
    problems.push(`signal_quality has ${entries.length} agents`);
  }
  const anyUnavailable = entries.some(([, q]) => !q.available);
  if (body.degraded_mode !== anyUnavailable) {
    problems.push(`degraded_mode ${body.degraded_mode} but some unavailable ${anyUnavailable}`);
  }
  let hits = 0;
  for (const [agent, q] of entries) {
    if (q.available !== (q.source !== "fallback")) {
      problems.push(`${agent}: available ${q.available} with source ${q.source}`);
    }
    if (q.fresh !== FRESH_SOURCES.has(q.source ?? "")) {
      problems.push(`${agent}: fresh ${q.fresh} with source ${q.source}`);
    }
    if (HIT_SOURCES.has(q.source ?? "")) hits++;
  }
  if (body.cache_hits !== hits) problems.push(`cache_hits ${body.cache_hits}, sources say ${hits}`);
  if (body.cache_hits + body.cache_misses !== entries.length) {
    problems.push(`cache_hits + cache_misses ≠ ${entries.length}`);
  }
  return problems;
}
