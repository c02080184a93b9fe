/**
 * `deno task bench-local` (spec 10): the local Auth and Realtime through the supabase-js clients
 * of test/support/supabase_clients.ts, on an embedded PGlite and on a throwaway PostgreSQL
 * cluster (skipped without initdb/pg_ctl), written with the machine to bench/LOCAL_STACK.md:
 * `--sign-ins` anonymous sign-ins, each through its own frontend client, `--concurrency` at a
 * time (total time, p50/p95 per sign-in); `--events` events committed one at a time to
 * `--subscribers` server clients on one private topic, each after every client got the previous
 * one (latency, not throughput): p50/p95/max from just after the commit returned to the arrival
 * at each client, on one machine clock.
 */
import { findPgBinaries, startPgCluster } from "../dev/pg_cluster.ts";
import { type Stack, startStack } from "../dev/stack.ts";
import {
  closeClient,
  frontendClient,
  type ReceivedEvent,
  serverClient,
  subscribe,
} from "../test/support/supabase_clients.ts";
import { parseFlags } from "./lib/cli.ts";
import { machineLines } from "./lib/machine.ts";
import { measure, timed } from "./lib/runner.ts";
import { fmtMs, LatencyRecorder, markdownTable } from "./lib/stats.ts";

const flags = parseFlags("deno task bench-local [flags]", {
  "sign-ins": ["1000", "anonymous sign-ins"],
  concurrency: ["16", "sign-ins at once"],
  subscribers: ["100", "Realtime clients on one topic"],
  events: ["50", "events committed one at a time"],
  "no-write": [false, "print only"],
});
const WARMUP_EVENTS = 5;
/** An event that has not reached a client by then is lost for it. */
const LOST_AFTER_MS = 5_000;

/** `n` anonymous sign-ins, `concurrency` at a time, each through a new frontend client. */
function signIns(stack: Stack, n: number, concurrency: number) {
  return measure({ concurrency, total: n }, () =>
    timed(async () => {
      const { data, error } = await frontendClient(stack).auth.signInAnonymously();
      if (error || !data.session) throw error ?? new Error("no session");
    }));
}

/** Commit-to-arrival latency at every subscriber, warm-up events left out. */
async function eventLatency(stack: Stack, subscribers: number, events: number) {
  const topic = `bench.latency:${crypto.randomUUID()}`;
  const clients = Array.from({ length: subscribers }, () => serverClient(stack));
  const recorder = new LatencyRecorder();
  try {
    const collectors = [];
    for (const c of clients) collectors.push(await subscribe(c, topic, { timeoutMs: 30_000 }));
    for (let seq = 0; seq < WARMUP_EVENTS + events; seq++) {
      await stack.sql`
        select realtime.send(jsonb_build_object('seq', ${seq}::int), 'bench', ${topic}, true)
      `;
      const committed = performance.timeOrigin + performance.now();
      const arrived = (e: ReceivedEvent) => e.payload.seq === seq;
      const arrivals = collectors.map((c) => c.waitFor(arrived, LOST_AFTER_MS).catch(() => null));
      for (const arrival of await Promise.all(arrivals)) {
        if (arrival && seq >= WARMUP_EVENTS) recorder.samples.push(arrival.receivedAt - committed);
      }
    }
    return recorder.summary();
  } finally {
    await Promise.all(clients.map(closeClient));
  }
}

/** One row of the table: sign-ins and event latency on the backend at `databaseUrl`. */
async function backendRow(backend: string, databaseUrl: string | null): Promise<string[]> {
  const stack = await startStack({ databaseUrl, port: 0 });
  try {
    const [n, c] = [flags.num("sign-ins"), flags.num("concurrency")];
    const [subscribers, events] = [flags.num("subscribers"), flags.num("events")];
    // A few unmeasured sign-ins first, so connection set-up and JIT are not in the numbers.
    await signIns(stack, Math.min(50, n), c);
    const { recorder, elapsedMs } = await signIns(stack, n, c);
    const [s, seconds] = [recorder.summary(), elapsedMs / 1000];
    const ev = await eventLatency(stack, subscribers, events);
    const signIn = [seconds.toFixed(1), ...[s.p50, s.p95].map(fmtMs), (s.n / seconds).toFixed(0)];
    const event = [...[ev.p50, ev.p95, ev.max].map(fmtMs), `${ev.n} / ${subscribers * events}`];
    return [backend, `${n} × ${c}`, ...signIn, String(n - s.n), ...event];
  } finally {
    await stack.stop();
  }
}

/** The PGlite row, and the PostgreSQL row on a throwaway cluster when there is initdb/pg_ctl. */
async function measureAll(): Promise<string[][]> {
  const rows = [await backendRow("PGlite", null)];
  if (findPgBinaries() === null) return rows;
  const cluster = await startPgCluster();
  return [...rows, await backendRow("PostgreSQL", cluster.url).finally(() => cluster.stop())];
}

const machine = await machineLines();
const header = ["backend", "sign-ins", "total s", "p50 ms", "p95 ms", "per s", "errors"];
header.push("event p50 ms", "event p95 ms", "event max ms", "deliveries");
const table = markdownTable(header, await measureAll(), "lrrrrrrrrrr");
const text = `# Local Auth and Realtime

\`deno task bench-local\`: anonymous sign-ins through supabase-js (each its own client), and
the time from an event's commit to its arrival at each of the subscribed supabase-js clients.

${table}

${machine.join("\n")}
`;
console.log(text);
const out = new URL("./LOCAL_STACK.md", import.meta.url);
if (!flags.bool("no-write")) await Deno.writeTextFile(out, text);
// realtime-js leaves a timer behind each disconnect; nothing else is pending.
Deno.exit(0);
