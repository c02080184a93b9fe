/**
 * `deno task bench-local` (spec 10): the local Auth and Realtime on each backend, through the
 * supabase-js clients of test/support/supabase_clients.ts.
 *
 * - `--sign-ins` anonymous sign-ins, each through its own frontend client, `--concurrency` at a
 *   time: total time, p50/p95 per sign-in.
 * - `--subscribers` server clients on one private topic, `--events` events committed one at a
 *   time (each after every client got the previous one: latency, not throughput): p50/p95/max
 *   from just after the commit returned to the arrival at each client, on one machine clock.
 *
 * Runs on an embedded PGlite and on a throwaway PostgreSQL cluster (skipped without
 * initdb/pg_ctl); writes the table with the machine to bench/LOCAL_STACK.md (`--no-write` skips).
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { parseArgs } from "node:util";
import { findPgBinaries, startPgCluster } from "../dev/pg_cluster.ts";
import { type Stack, startStack } from "../dev/stack.ts";
import {
  closeClient,
  type EventCollector,
  frontendClient,
  serverClient,
  subscribe,
} from "../test/support/supabase_clients.ts";
import { machineLines } from "./lib/machine.ts";
import { mapConcurrent } from "./lib/runner.ts";
import { fmtMs, LatencyRecorder } from "./lib/stats.ts";
import { markdownTable } from "./lib/table.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    "sign-ins": { type: "string", default: "1000" },
    concurrency: { type: "string", default: "16" },
    subscribers: { type: "string", default: "100" },
    events: { type: "string", default: "50" },
    "no-write": { type: "boolean", default: false },
  },
});
const WARMUP_EVENTS = 5;
/** An event that has not reached every client by then counts as lost. */
const ARRIVAL_TIMEOUT_MS = 5_000;

/** `n` anonymous sign-ins: the recorder of the successful ones and the wall time of all. */
async function signIns(stack: Stack, n: number, concurrency: number) {
  const recorder = new LatencyRecorder();
  const started = performance.now();
  await mapConcurrent(Array.from({ length: n }), concurrency, async () => {
    const t0 = performance.now();
    const { data, error } = await frontendClient(stack).auth.signInAnonymously();
    recorder.count(error || !data.session ? "error" : "ok");
    if (!error && data.session) recorder.add(performance.now() - t0);
  });
  return { recorder, seconds: (performance.now() - started) / 1000 };
}

/** Commits event `seq` on `topic`; the time just after the commit returned. */
async function commitEvent(stack: Stack, topic: string, seq: number): Promise<number> {
  await stack
    .sql`select realtime.send(jsonb_build_object('seq', ${seq}::int), 'bench', ${topic}, true)`;
  return performance.timeOrigin + performance.now();
}

/** Commit-to-arrival latency at every subscriber, warm-up events left out. */
async function eventLatency(stack: Stack, subscribers: number, events: number) {
  const topic = `bench.latency:${crypto.randomUUID()}`;
  const clients: SupabaseClient[] = [];
  const collectors: EventCollector[] = [];
  const recorder = new LatencyRecorder();
  try {
    for (let i = 0; i < subscribers; i++) {
      clients.push(serverClient(stack));
      collectors.push(await subscribe(clients[i], topic, { timeoutMs: 30_000 }));
    }
    for (let seq = 0; seq < WARMUP_EVENTS + events; seq++) {
      const committed = await commitEvent(stack, topic, seq);
      const arrivals = await Promise.all(
        collectors.map((c) =>
          c.waitFor((e) => e.payload.seq === seq, ARRIVAL_TIMEOUT_MS).catch(() => null)
        ),
      );
      for (const arrival of arrivals) {
        if (arrival && seq >= WARMUP_EVENTS) recorder.add(arrival.receivedAt - committed);
      }
    }
    return recorder;
  } finally {
    await Promise.all(clients.map(closeClient));
  }
}

async function measure(backend: string, databaseUrl: string | null): Promise<string[]> {
  const stack = await startStack({ databaseUrl, port: 0 });
  try {
    const n = Number(flags["sign-ins"]);
    const c = Number(flags.concurrency);
    // A few unmeasured sign-ins first, so connection set-up and JIT are not in the numbers.
    await signIns(stack, Math.min(50, n), c);
    const { recorder: s, seconds } = await signIns(stack, n, c);
    const e = await eventLatency(stack, Number(flags.subscribers), Number(flags.events));
    const [sum, ev] = [s.summary(), e.summary()];
    return [backend, `${n} × ${c}`, seconds.toFixed(1), fmtMs(sum.p50), fmtMs(sum.p95)].concat(
      [(sum.n / seconds).toFixed(0), String(n - sum.n), fmtMs(ev.p50), fmtMs(ev.p95)],
      [fmtMs(ev.max), `${ev.n} / ${Number(flags.subscribers) * Number(flags.events)}`],
    );
  } finally {
    await stack.stop();
  }
}

async function measureAll(): Promise<string[][]> {
  const rows = [await measure("PGlite", null)];
  if (findPgBinaries() === null) return rows;
  const cluster = await startPgCluster();
  try {
    rows.push(await measure("PostgreSQL", cluster.url));
  } finally {
    await cluster.stop();
  }
  return rows;
}

if (import.meta.main) {
  const machine = await machineLines();
  const table = markdownTable(
    ["backend", "sign-ins", "total s", "p50 ms", "p95 ms", "per s", "errors"].concat(
      ["event p50 ms", "event p95 ms", "event max ms", "deliveries"],
    ),
    await measureAll(),
    ["left", ...Array<"right">(10).fill("right")],
  );
  const text = [
    "# Local Auth and Realtime",
    "",
    "`deno task bench-local`: anonymous sign-ins through supabase-js (each its own client), and",
    "the time from an event's commit to its arrival at each of the subscribed supabase-js clients.",
    "",
    table,
    "",
    ...machine,
    "",
  ].join("\n");
  console.log(text);
  if (!flags["no-write"]) {
    await Deno.writeTextFile(new URL("./LOCAL_STACK.md", import.meta.url), text);
  }
  // realtime-js leaves a timer behind each disconnect; nothing else is pending.
  Deno.exit(0);
}
