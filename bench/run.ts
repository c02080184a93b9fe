/**
 * `deno task bench` (spec 10, issue 4 item 1): the served stack on a real Postgres, measured
 * against limits measured in the same run, printed as one Markdown table and written with the
 * machine it ran on to bench/RESULTS.md.
 *
 * - status, day.done, intent.sync: p50/p95 over HTTP at each concurrency, next to
 *   `limit = p95(same SQL via postgres.js, no HTTP) + p95(bare Deno.serve round trip of the same
 *   request and response size)`, ratio = route p95 / limit (goal ≤ 3).
 * - day.run: every reference agent answers after a fixed `--agent-latency` (200 ms) through the
 *   agents' fault plan; every request is a real run (a day the user has not run yet). The limit
 *   is the agent latency; ratio = p95 / latency (goal: p95 ≤ latency + 25 ms).
 * - A replay of `--replay-days` learning days for `--replay-users` users, the cache aged 24 h
 *   between days (bench/lib/replay.ts): cache hit rate = Σ cache_hits / Σ (cache_hits +
 *   cache_misses) over their day.run answers (goal ≥ 85 %, spec 10).
 * - Requests per second of status at rising concurrency until throughput stops growing.
 *
 * The stack and the bare server run in child processes, so the load generator never shares an
 * event loop with what it measures. Every size is a flag (`--help`); defaults are full size;
 * `--only` runs some phases alone (e.g. `--only replay`).
 * Rate limits are lifted in the benchmark's database (see `relaxRateLimits`).
 */
import { parseArgs } from "node:util";
import { freePort } from "../dev/pg_cluster.ts";
import { createOrchestrator } from "../supabase/functions/orchestrator/app.ts";
import { loadConfig } from "../supabase/functions/_shared/config.ts";
import { createPool } from "../supabase/functions/_shared/db.ts";
import { silentLogger } from "../supabase/functions/_shared/log.ts";
import {
  type CallResult,
  dayDoneBody,
  INTENT_BODY,
  OrchestratorClient,
  outcomeOf,
  weekDay,
} from "./lib/client.ts";
import { machineInfo, machineLines } from "./lib/machine.ts";
import { httpSample, interleaved, measure, type Sample, timed } from "./lib/measure.ts";
import { dayDoneSql, intentBody, intentSyncSql, statusSql } from "./lib/route_sql.ts";
import { startProfiler, summarize, summaryLines } from "./lib/profile.ts";
import { agentLines, runReplay } from "./lib/replay.ts";
import { mapConcurrent, runConcurrent } from "./lib/runner.ts";
import { startServerProcess } from "./lib/server_proc.ts";
import { fmtMs, fmtPct, fmtRatio, LatencyRecorder, median } from "./lib/stats.ts";
import { markdownTable } from "./lib/table.ts";
import {
  type BenchUser,
  createUsers,
  openDatabase,
  relaxRateLimits,
  serviceJwt,
  setAllFaults,
} from "./lib/world.ts";

const HELP = `deno task bench [flags]   (sizes default to the full benchmark)
  --users N              users for the latency phases (default 128; ≥ 2 × the top concurrency)
  --concurrency LIST     concurrency levels (default 1,64)
  --requests N           measured requests per measure at concurrency > 1 (default 3000)
  --requests-serial N    measured requests per measure at concurrency 1 (default 400)
  --warmup N             unmeasured requests before each measure (default 100)
  --rounds N             interleaved rounds route/SQL/HTTP (default 3)
  --dayrun-requests N    day.run requests at concurrency > 1 (default 640)
  --dayrun-serial N      day.run requests at concurrency 1 (default 30)
  --agent-latency MS     fixed agent latency for day.run (default 200)
  --replay-users N       users in the learning-days replay (default 200)
  --replay-days N        learning days per user (default 14)
  --replay-concurrency N users replaying at once (default 50)
  --only LIST            phases to run (default all): routes, dayrun, replay, saturation, profile
  --sat-levels LIST      status concurrency levels for saturation (default 1,4,16,32,64,128,256)
  --sat-seconds S        seconds per saturation level (default 3)
  --pool N               stack pool size (default: the stack's, 10)
  --no-breakdown         skip the in-process handler measurement
  --no-profile           skip the CPU profiles of the stack (V8 inspector)
  --profile-seconds S    seconds of load per profiled route (default 3)
  --out PATH             results file (default bench/RESULTS.md); --no-write to skip
  --log-file PATH        keep the stack's request log lines there (default: discarded)
BENCH_DATABASE_URL       use that Postgres instead of a throwaway cluster`;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    help: { type: "boolean", default: false },
    users: { type: "string", default: "128" },
    concurrency: { type: "string", default: "1,64" },
    requests: { type: "string", default: "3000" },
    "requests-serial": { type: "string", default: "400" },
    warmup: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    "dayrun-requests": { type: "string", default: "640" },
    "dayrun-serial": { type: "string", default: "30" },
    "agent-latency": { type: "string", default: "200" },
    "replay-users": { type: "string", default: "200" },
    "replay-days": { type: "string", default: "14" },
    "replay-concurrency": { type: "string", default: "50" },
    only: { type: "string", default: "routes,dayrun,replay,saturation,profile" },
    "sat-levels": { type: "string", default: "1,4,16,32,64,128,256" },
    "sat-seconds": { type: "string", default: "3" },
    pool: { type: "string" },
    "no-breakdown": { type: "boolean", default: false },
    "no-profile": { type: "boolean", default: false },
    "profile-seconds": { type: "string", default: "3" },
    out: { type: "string", default: "bench/RESULTS.md" },
    "no-write": { type: "boolean", default: false },
    "log-file": { type: "string" },
  },
});
if (flags.help) {
  console.log(HELP);
  Deno.exit(0);
}

const int = (name: keyof typeof flags) => {
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number`);
  return n;
};
const list = (text: string) => text.split(",").map((s) => Number(s.trim())).filter((n) => n > 0);

const USERS = int("users");
const LEVELS = list(flags.concurrency);
const REQUESTS = int("requests");
const REQUESTS_SERIAL = int("requests-serial");
const WARMUP = int("warmup");
const ROUNDS = Math.max(1, int("rounds"));
const DAYRUN_REQUESTS = int("dayrun-requests");
const DAYRUN_SERIAL = int("dayrun-serial");
const AGENT_LATENCY = int("agent-latency");
const REPLAY_USERS = int("replay-users");
const REPLAY_DAYS = int("replay-days");
const REPLAY_CONCURRENCY = int("replay-concurrency");
const SAT_LEVELS = list(flags["sat-levels"]);
const SAT_SECONDS = Number(flags["sat-seconds"]);
const POOL = flags.pool ? int("pool") : undefined;
const RATIO_GOAL = 3;
const DAYRUN_SLACK_MS = 25;
const HIT_RATE_GOAL = 0.85;
const PHASES = ["routes", "dayrun", "replay", "saturation", "profile"] as const;
const ONLY = new Set(flags.only.split(",").map((phase) => phase.trim()).filter(Boolean));
for (const phase of ONLY) {
  if (!(PHASES as readonly string[]).includes(phase)) {
    throw new Error(`--only: unknown phase ${phase} (phases: ${PHASES.join(", ")})`);
  }
}
const runs = (phase: (typeof PHASES)[number]) => ONLY.has(phase);
/** The latency phases share users set up with an intent and day 1, and the response sizes. */
const NEEDS_SETUP = runs("routes") || runs("dayrun") || runs("saturation") || runs("profile");

const log = (line: string) => console.error(`[bench] ${line}`);
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

interface Row {
  measure: string;
  c: string;
  n: string;
  p50: string;
  p95: string;
  limit: string;
  ratio: string;
  goal: string;
  ok: string;
}
const rows: Row[] = [];
const notes: string[] = [];
const breakdown: string[] = [];

const db = await openDatabase(log);
await relaxRateLimits(db.admin);
const inspectPort = flags["no-profile"] || !runs("profile") ? undefined : freePort();
const stack = await startServerProcess({
  mode: "stack",
  databaseUrl: db.url,
  migrate: false,
  agentFaults: true,
  poolMax: POOL,
  logFile: flags["log-file"],
  inspectPort,
});
const bare = await startServerProcess({ mode: "bare" });
const cleanup = async () => {
  await Promise.allSettled([stack.stop(), bare.stop()]);
  await db.stop();
};

try {
  const machine = await machineInfo(db.admin);
  log(`stack at ${stack.url} (pool max ${stack.poolMax ?? "?"}), bare server at ${bare.url}`);
  if (POOL !== undefined && stack.poolMax !== POOL) {
    notes.push(
      `--pool ${POOL} was asked for but the stack runs with pool max ${stack.poolMax} ` +
        "(dev/stack.ts has no pool option yet).",
    );
  }
  const api = new OrchestratorClient(stack.functionsUrl);
  const bareApi = new OrchestratorClient(bare.url);
  const jwt = await serviceJwt();
  const issuer = stack.issuer ?? `${stack.url}/auth/v1`;
  // The SQL limit runs through a pool like the stack's: same settings, same size.
  const limitPool = createPool(db.url, { max: stack.poolMax ?? 10 });

  // ---- setup: users, each with an intent and day 1 (agents without faults) -------------------
  await setAllFaults(stack.functionsUrl, jwt, []);
  const users = NEEDS_SETUP ? await createUsers(db.admin, USERS, issuer) : [];
  const sessionOf = new Map<string, string>();
  const nextDayOf = new Map<string, number>();
  let intentId = "";
  await mapConcurrent(users, 16, async (user) => {
    const intent = await must(api.call(user.token, "POST", "intent.sync", INTENT_BODY), 201);
    intentId = intent.body.intent_id;
    const run = await must(api.call(user.token, "POST", "day.run", weekDay(1)), 201);
    sessionOf.set(user.id, run.body.session_id);
    nextDayOf.set(user.id, 2);
  });
  if (NEEDS_SETUP) log(`${USERS} users set up (${elapsed()})`);

  // Request and response sizes, so the bare round trip carries the same bytes.
  const u0 = users[0];
  const sizes = NEEDS_SETUP
    ? {
      status: (await must(api.call(u0.token, "GET", "status"), 200)).bytes,
      "day.done": (await must(
        api.call(u0.token, "POST", "day.done", dayDoneBody(sessionOf.get(u0.id)!)),
        200,
      )).bytes,
      "intent.sync": (await must(api.call(u0.token, "POST", "intent.sync", INTENT_BODY), 200))
        .bytes,
    }
    : { status: 0, "day.done": 0, "intent.sync": 0 };

  // ---- in-process app (breakdown only): the handler without network, gateway or logging ------
  const inProcess = flags["no-breakdown"] || !runs("routes") ? null : createOrchestrator({
    config: await loadConfig(
      new Map([
        ["WISELY_LOCAL_STACK", "1"],
        ["SUPABASE_DB_URL", db.url],
        ["EDGE_BASE_URL", stack.url],
      ]),
    ),
    sql: createPool(db.url, { max: stack.poolMax ?? 10 }),
    log: silentLogger,
  });
  const inProcessCall = async (user: BenchUser, method: string, route: string, body?: unknown) => {
    const started = performance.now();
    const response = await inProcess!.fetch(
      new Request(`http://in-process/orchestrator/${route}`, {
        method,
        headers: {
          authorization: `Bearer ${user.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    await response.arrayBuffer();
    return {
      ok: response.ok,
      ms: performance.now() - started,
      outcome: String(response.status),
    } satisfies Sample;
  };

  // ---- status, day.done, intent.sync against their limits -------------------------------------
  type RouteName = keyof typeof sizes;
  const parsedIntent = intentBody(INTENT_BODY);
  const routeCalls: Record<RouteName, {
    http: (u: BenchUser) => Promise<CallResult>;
    sql: (u: BenchUser) => Promise<unknown>;
    bare: (u: BenchUser) => Promise<CallResult>;
    inProcess: (u: BenchUser) => Promise<Sample>;
  }> = {
    status: {
      http: (u) => api.call(u.token, "GET", "status"),
      sql: (u) => statusSql(limitPool, u.claims),
      bare: (u) => bareApi.call(u.token, "GET", `status?bytes=${sizes.status}`),
      inProcess: (u) => inProcessCall(u, "GET", "status"),
    },
    "day.done": {
      http: (u) => api.call(u.token, "POST", "day.done", dayDoneBody(sessionOf.get(u.id)!, 1)),
      sql: (u) => dayDoneSql(limitPool, u.claims, dayDoneBody(sessionOf.get(u.id)!, 2)),
      bare: (u) =>
        bareApi.call(
          u.token,
          "POST",
          `day.done?bytes=${sizes["day.done"]}`,
          dayDoneBody(sessionOf.get(u.id)!),
        ),
      inProcess: (u) => inProcessCall(u, "POST", "day.done", dayDoneBody(sessionOf.get(u.id)!, 3)),
    },
    "intent.sync": {
      http: (u) => api.call(u.token, "POST", "intent.sync", INTENT_BODY),
      sql: (u) => intentSyncSql(limitPool, u.claims, parsedIntent),
      bare: (u) =>
        bareApi.call(u.token, "POST", `intent.sync?bytes=${sizes["intent.sync"]}`, INTENT_BODY),
      inProcess: (u) => inProcessCall(u, "POST", "intent.sync", INTENT_BODY),
    },
  };

  for (const c of runs("routes") ? LEVELS : []) {
    const total = c === 1 ? REQUESTS_SERIAL : REQUESTS;
    for (const route of Object.keys(routeCalls) as RouteName[]) {
      const calls = routeCalls[route];
      // Request i goes to user i mod N: with N ≥ 2c, no two requests in flight share a user.
      const user = (i: number) => users[i % users.length];
      const kinds = [
        {
          name: "route",
          warm: WARMUP,
          call: async (i: number) => httpSample(await calls.http(user(i))),
        },
        { name: "sql", warm: WARMUP, call: (i: number) => timed(() => calls.sql(user(i))) },
        {
          name: "bare",
          warm: WARMUP,
          call: async (i: number) => httpSample(await calls.bare(user(i))),
        },
      ];
      if (inProcess) {
        kinds.push({ name: "app", warm: WARMUP, call: (i: number) => calls.inProcess(user(i)) });
      }
      const rec = await interleaved(kinds, { concurrency: c, total, rounds: ROUNDS });
      const r = rec.get("route")!.summary();
      const s = rec.get("sql")!.summary();
      const h = rec.get("bare")!.summary();
      const limit = s.p95 + h.p95;
      const ratio = r.p95 / limit;
      rows.push({
        measure: route,
        c: String(c),
        n: `${r.n}${errorsText(rec.get("route")!, r.n)}`,
        p50: fmtMs(r.p50),
        p95: fmtMs(r.p95),
        limit: `${fmtMs(limit)} = SQL ${fmtMs(s.p95)} + HTTP ${fmtMs(h.p95)}`,
        ratio: fmtRatio(ratio),
        goal: `≤ ${RATIO_GOAL}×`,
        ok: ratio <= RATIO_GOAL && errorsOf(rec.get("route")!) === 0 ? "yes" : "NO",
      });
      const a = rec.get("app")?.summary();
      breakdown.push(
        `${route} c=${c}: p50/p95 ms — HTTP route ${fmtMs(r.p50)}/${fmtMs(r.p95)}` +
          (a ? `, in-process handler (no network) ${fmtMs(a.p50)}/${fmtMs(a.p95)}` : "") +
          `, SQL ${fmtMs(s.p50)}/${fmtMs(s.p95)}, bare HTTP ${fmtMs(h.p50)}/${fmtMs(h.p95)}` +
          ` (SQL outcomes: ${rec.get("sql")!.outcomeText()})`,
      );
      log(`${route} c=${c}: p95 ${fmtMs(r.p95)} vs limit ${fmtMs(limit)} (${elapsed()})`);
    }
  }

  // ---- day.run with every agent at a fixed latency ---------------------------------------------
  if (runs("dayrun")) {
    await setAllFaults(stack.functionsUrl, jwt, [
      { fault: { latency_ms: AGENT_LATENCY }, count: "always" },
    ]);
    // The floor measured in the same run: one agent call through the gateway, same latency.
    const agentRecorder = new LatencyRecorder();
    const agentBody = JSON.stringify({
      user_id: u0.id,
      intent: { id: intentId, ...INTENT_BODY, meta: undefined },
      week: 1,
      day: 1,
      research: false,
      history: {
        completed_sessions: 0,
        last_confidence: null,
        last_completion_time_min: null,
        last_hint: null,
      },
    });
    await measure({ concurrency: 8, total: 40 }, async () => {
      const started = performance.now();
      const response = await fetch(`${stack.functionsUrl}/agent-ta`, {
        method: "POST",
        headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
        body: agentBody,
      });
      await response.arrayBuffer();
      return { ok: response.ok, ms: performance.now() - started, outcome: String(response.status) };
    }, agentRecorder);
    const agentP95 = agentRecorder.summary().p95;

    for (const c of LEVELS) {
      const total = c === 1 ? DAYRUN_SERIAL : DAYRUN_REQUESTS;
      const rec = new LatencyRecorder();
      let realRuns = 0;
      await measure({ concurrency: c, total }, async (i) => {
        const user = users[i % users.length];
        const n = nextDayOf.get(user.id)!;
        nextDayOf.set(user.id, n + 1);
        const result = await api.call(user.token, "POST", "day.run", weekDay(n));
        const sources = Object.values(result.body?.signal_quality ?? {}) as { source?: string }[];
        if (
          result.status === 201 &&
          sources.some((q) => q.source === "network" || q.source === "revalidated")
        ) realRuns++;
        return httpSample(result);
      }, rec);
      const r = rec.summary();
      const ratio = r.p95 / AGENT_LATENCY;
      rows.push({
        measure: "day.run",
        c: String(c),
        n: `${r.n}${errorsText(rec, r.n)}`,
        p50: fmtMs(r.p50),
        p95: fmtMs(r.p95),
        limit: `${AGENT_LATENCY} (agent call measured: p95 ${fmtMs(agentP95)})`,
        ratio: fmtRatio(ratio),
        goal: `≤ ${AGENT_LATENCY + DAYRUN_SLACK_MS} ms`,
        ok: r.p95 <= AGENT_LATENCY + DAYRUN_SLACK_MS && errorsOf(rec) === 0 ? "yes" : "NO",
      });
      if (realRuns !== r.n) {
        notes.push(`day.run c=${c}: only ${realRuns} of ${r.n} answers had a network agent call.`);
      }
      breakdown.push(
        `day.run c=${c}: p50/p95/p99/max ms ${fmtMs(r.p50)}/${fmtMs(r.p95)}/${fmtMs(r.p99)}/` +
          `${fmtMs(r.max)}; overhead over the agent latency at p50 ${
            fmtMs(r.p50 - AGENT_LATENCY)
          }` +
          ` ms; runs with a network agent call ${realRuns}/${r.n}`,
      );
      log(`day.run c=${c}: p95 ${fmtMs(r.p95)} (${elapsed()})`);
    }
    // Where day.run's time goes: the same handler in this process with a fetch that timestamps the
    // agent calls. before = auth, validation, the load/claim transaction; agents = first call sent
    // to last answer; after = reading answers, composing, the store transaction, the JSON.
    if (!flags["no-breakdown"]) {
      let first = Infinity;
      let last = 0;
      const timedFetch: typeof fetch = async (input, init) => {
        first = Math.min(first, performance.now());
        const response = await fetch(input, init);
        last = Math.max(last, performance.now());
        return response;
      };
      const app = createOrchestrator({
        config: await loadConfig(
          new Map([
            ["WISELY_LOCAL_STACK", "1"],
            ["SUPABASE_DB_URL", db.url],
            ["EDGE_BASE_URL", stack.url],
          ]),
        ),
        sql: createPool(db.url, { max: stack.poolMax ?? 10 }),
        log: silentLogger,
        fetch: timedFetch,
      });
      const parts = { before: [] as number[], agents: [] as number[], after: [] as number[] };
      const total: number[] = [];
      for (let i = 0; i < Math.max(DAYRUN_SERIAL, 5); i++) {
        const user = users[i % users.length];
        const n = nextDayOf.get(user.id)!;
        nextDayOf.set(user.id, n + 1);
        first = Infinity;
        last = 0;
        const started = performance.now();
        const response = await app.fetch(
          new Request("http://in-process/orchestrator/day.run", {
            method: "POST",
            headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
            body: JSON.stringify(weekDay(n)),
          }),
        );
        await response.arrayBuffer();
        const ended = performance.now();
        if (response.status !== 201 || first === Infinity) continue;
        parts.before.push(first - started);
        parts.agents.push(last - first);
        parts.after.push(ended - last);
        total.push(ended - started);
      }
      breakdown.push(
        `day.run per step, in-process, c=1, median of ${total.length} runs (ms): before the ` +
          `agents ${fmtMs(median(parts.before))} (auth, validation, load/claim transaction), ` +
          `agents ${fmtMs(median(parts.agents))} (first call sent → last answer), after ` +
          `${fmtMs(median(parts.after))} (compose, store transaction, JSON); total ` +
          `${fmtMs(median(total))}`,
      );
    }
    await setAllFaults(stack.functionsUrl, jwt, []);
  }

  // ---- replay of learning days (bench/lib/replay.ts), the cache aged 24 h between days ---------
  if (runs("replay")) {
    const replayUsers = await createUsers(db.admin, REPLAY_USERS, issuer);
    const replay = await runReplay({
      api,
      admin: db.admin,
      users: replayUsers,
      days: REPLAY_DAYS,
      concurrency: REPLAY_CONCURRENCY,
      log,
    });
    rows.push({
      measure: `replay: ${REPLAY_USERS} users × ${REPLAY_DAYS} days, cache aged 24 h a day, ` +
        "cache hit rate",
      c: `${REPLAY_CONCURRENCY} users`,
      n: `${replay.hits + replay.misses} agent answers${
        replay.errors ? `, ${replay.errors} errors` : ""
      }`,
      p50: "—",
      p95: "—",
      limit: "—",
      ratio: fmtPct(replay.hitRate),
      goal: `≥ ${HIT_RATE_GOAL * 100} %`,
      ok: replay.hitRate >= HIT_RATE_GOAL && replay.errors === 0 ? "yes" : "NO",
    });
    breakdown.push(
      `replay: ${replay.requests} requests in ${replay.seconds.toFixed(1)} s ` +
        `(${(replay.requests / replay.seconds).toFixed(0)} req/s); per route p50/p95 ms: ` +
        [...replay.routes].map(([route, r]) => {
          const s = r.summary();
          return `${route} ${fmtMs(s.p50)}/${fmtMs(s.p95)} [${r.outcomeText()}]`;
        }).join(", "),
    );
    breakdown.push(
      `replay per agent (hit = cache, revalidated, stale): ${agentLines(replay).join("; ")}`,
    );
    log(`replay: hit rate ${fmtPct(replay.hitRate)} (${elapsed()})`);
    for (const line of agentLines(replay)) log(`replay: ${line}`);
  }

  // ---- saturation: status at rising concurrency --------------------------------------------------
  if (runs("saturation")) {
    const curve: { c: number; rps: number; p95: number }[] = [];
    let best = 0;
    let flat = 0;
    for (const c of SAT_LEVELS) {
      const rec = new LatencyRecorder();
      const run = await runConcurrent({
        concurrency: c,
        durationMs: SAT_SECONDS * 1000,
        task: async (i) => {
          const result = await api.call(users[i % users.length].token, "GET", "status");
          rec.count(outcomeOf(result));
          if (result.status === 200) rec.add(result.ms);
        },
      });
      const rps = rec.samples.length / (run.elapsedMs / 1000);
      curve.push({ c, rps, p95: rec.summary().p95 });
      log(`saturation c=${c}: ${rps.toFixed(0)} req/s, p95 ${fmtMs(rec.summary().p95)} ms`);
      if (rps > best * 1.05) {
        best = Math.max(best, rps);
        flat = 0;
      } else {
        best = Math.max(best, rps);
        if (++flat >= 2) break;
      }
    }
    const peak = curve.reduce((a, b) => (b.rps > a.rps ? b : a));
    // The bare server at the same concurrency: the HTTP ceiling of this machine and client.
    const bareRun = await runConcurrent({
      concurrency: peak.c,
      durationMs: SAT_SECONDS * 1000,
      task: async (i) => {
        await bareApi.call(users[i % users.length].token, "GET", `status?bytes=${sizes.status}`);
      },
    });
    rows.push({
      measure: "status at saturation, req/s",
      c: String(peak.c),
      n: `${SAT_SECONDS} s per level`,
      p50: "—",
      p95: fmtMs(peak.p95),
      limit: `bare Deno.serve ${bareRun.perSecond.toFixed(0)} req/s`,
      ratio: `${peak.rps.toFixed(0)} req/s`,
      goal: "reported",
      ok: "—",
    });
    breakdown.push(
      `status throughput by concurrency: ` +
        curve.map((p) => `c=${p.c} ${p.rps.toFixed(0)} req/s (p95 ${fmtMs(p.p95)} ms)`).join(", "),
    );
  }

  // ---- CPU profiles of the stack under each route's load at the top concurrency ---------------
  if (inspectPort !== undefined) {
    const c = Math.max(...LEVELS);
    const seconds = Number(flags["profile-seconds"]);
    const profiled: [string, (u: BenchUser) => Promise<unknown>][] = [
      ["status", routeCalls.status.http],
      ["day.done", routeCalls["day.done"].http],
      ["intent.sync", routeCalls["intent.sync"].http],
    ];
    for (const [route, call] of profiled) {
      const profiler = await startProfiler(inspectPort);
      const run = await runConcurrent({
        concurrency: c,
        durationMs: seconds * 1000,
        task: (i) => call(users[i % users.length]).then(() => {}),
      });
      const summary = summarize(await profiler.stop());
      breakdown.push(
        `CPU profile of the stack process, ${route} at c=${c} (${
          run.perSecond.toFixed(0)
        } req/s): ` +
          summaryLines(summary).join("; "),
      );
      log(`profiled ${route} (${elapsed()})`);
    }
  }

  await limitPool.end({ timeout: 5 });

  // ---- the table -----------------------------------------------------------------------------------
  const table = markdownTable(
    ["measure", "c", "n", "p50 ms", "p95 ms", "limit p95 ms (same run)", "ratio", "goal", "met"],
    rows.map((r) => [r.measure, r.c, r.n, r.p50, r.p95, r.limit, r.ratio, r.goal, r.ok]),
    ["left", "right", "right", "right", "right", "left", "right", "left", "left"],
  );
  const formula = [
    "- ratio for status, day.done, intent.sync = route p95 / (SQL p95 + bare HTTP p95), all at " +
    "the same concurrency in the same run. SQL = the route's own exported database step in " +
    "the same `asUser` transaction with the same request gate (rate-limit token take) through " +
    "postgres.js (pool like the stack's), no HTTP. Bare HTTP = a " +
    "`Deno.serve` in its own process answering the same request with a body of the same size. " +
    `Measures are interleaved in ${ROUNDS} rounds so background load hits all alike.`,
    `- day.run: every agent answers after ${AGENT_LATENCY} ms (fault plan), every request is a ` +
    `day the user has not run (a real fan-out); ratio = p95 / ${AGENT_LATENCY} ms, goal p95 ≤ ` +
    `${AGENT_LATENCY} + ${DAYRUN_SLACK_MS} ms.`,
    "- replay: each user intent.sync, then per learning day day.run, day.done, status, all " +
    "users one day at a time; between two days every `wisely.agent_cache` timestamp of the " +
    "replay's users is moved back 24 h (freshness windows expire, revalidation with " +
    "If-None-Match runs); hit rate = Σ cache_hits / Σ (cache_hits + cache_misses) over the " +
    "day.run answers.",
    "- rate limits (wisely.settings rate.*) are lifted in the benchmark database.",
    `- stack pool max ${stack.poolMax ?? "?"}; stack and bare server each in their own process; ` +
    "the load generator in a third.",
  ];
  const flagsText = Deno.args.length ? `deno task bench ${Deno.args.join(" ")}` : "deno task bench";
  const report = [
    "# Benchmark results",
    "",
    `Written by \`${flagsText}\` (bench/run.ts); ${elapsed()} in all.`,
    "",
    "## Machine",
    "",
    ...machineLines(machine),
    "",
    "## Results",
    "",
    table,
    "",
    "## How to read it",
    "",
    ...formula,
    ...notes.map((n) => `- note: ${n}`),
    "",
    "## Breakdown",
    "",
    ...breakdown.map((b) => `- ${b}`),
    "",
  ].join("\n");
  console.log(report);
  if (!flags["no-write"]) {
    await Deno.writeTextFile(flags.out, report);
    log(`written to ${flags.out}`);
  }
} finally {
  await cleanup();
}

// ---- helpers -----------------------------------------------------------------------------------

async function must(promise: Promise<CallResult>, ...statuses: number[]): Promise<CallResult> {
  const result = await promise;
  if (!statuses.includes(result.status)) {
    throw new Error(
      `expected ${statuses.join("/")}, got ${outcomeOf(result)}: ` +
        JSON.stringify(result.body).slice(0, 300),
    );
  }
  return result;
}

function errorsOf(rec: LatencyRecorder): number {
  let errors = 0;
  for (const [outcome, n] of rec.outcomes) if (!/^2\d\d$/.test(outcome)) errors += n;
  return errors;
}

function errorsText(rec: LatencyRecorder, _ok: number): string {
  const errors = errorsOf(rec);
  return errors ? ` (+${errors} errors: ${rec.outcomeText()})` : "";
}
