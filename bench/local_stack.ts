/**
 * `deno task bench-local` (spec 10, issue 7): the local Auth and Realtime on each backend.
 *
 * - 1000 anonymous sign-ins through supabase-js, 16 at a time: total time, p50/p95 per sign-in.
 * - 100 realtime-js clients on one private topic, 50 events committed one at a time: p50/p95/max
 *   from just after the commit returned to the arrival at each client.
 *
 * Runs on an embedded PGlite and on a throwaway PostgreSQL cluster (the system's initdb/pg_ctl;
 * skipped when there is none), prints one Markdown table and writes it with the machine to
 * bench/LOCAL_STACK.md (`--no-write` skips that). Sizes are flags.
 */
import { parseArgs } from "node:util";
import { findPgBinaries, startPgCluster } from "../dev/pg_cluster.ts";
import { startStack } from "../dev/stack.ts";
import { benchAnonymousSignIns, type SignInBenchResult } from "./auth_signins.ts";
import { machineInfo, machineLines } from "./lib/machine.ts";
import { fmtMs } from "./lib/stats.ts";
import { markdownTable } from "./lib/table.ts";
import { benchEventLatency, type EventLatency } from "./realtime_latency.ts";

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

interface BackendResult {
  backend: string;
  signIns: SignInBenchResult;
  events: EventLatency;
}

async function measure(backend: string, databaseUrl: string | null): Promise<BackendResult> {
  const stack = await startStack({ databaseUrl, port: 0 });
  try {
    const n = Number(flags["sign-ins"]);
    const concurrency = Number(flags.concurrency);
    // A few unmeasured sign-ins first, so connection set-up and JIT are not in the numbers.
    await benchAnonymousSignIns(stack, Math.min(50, n), concurrency);
    const signIns = await benchAnonymousSignIns(stack, n, concurrency);
    const events = await benchEventLatency(stack, Number(flags.subscribers), Number(flags.events));
    return { backend, signIns, events };
  } finally {
    await stack.stop();
  }
}

async function measureAll(): Promise<BackendResult[]> {
  const results = [await measure("PGlite", null)];
  if (findPgBinaries() === null) return results;
  const cluster = await startPgCluster();
  try {
    results.push(await measure("PostgreSQL", cluster.url));
  } finally {
    await cluster.stop();
  }
  return results;
}

function table(results: BackendResult[]): string {
  return markdownTable(
    [
      "backend",
      "sign-ins",
      "total s",
      "p50 ms",
      "p95 ms",
      "per s",
      "errors",
      "event p50 ms",
      "event p95 ms",
      "event max ms",
      "deliveries",
    ],
    results.map(({ backend, signIns: s, events: e }) => [
      backend,
      `${s.n} × ${s.concurrency}`,
      (s.total_ms / 1000).toFixed(1),
      fmtMs(s.p50_ms),
      fmtMs(s.p95_ms),
      s.per_second.toFixed(0),
      String(s.errors),
      fmtMs(e.p50),
      fmtMs(e.p95),
      fmtMs(e.max),
      `${e.deliveries} / ${e.subscribers * e.events}`,
    ]),
    ["left", ...Array<"right">(10).fill("right")],
  );
}

if (import.meta.main) {
  const machine = await machineInfo();
  const results = await measureAll();
  const text = [
    "# Local Auth and Realtime",
    "",
    "`deno task bench-local`: anonymous sign-ins through supabase-js (each its own client), and",
    "the time from an event's commit to its arrival at each of the subscribed realtime-js clients.",
    "",
    table(results),
    "",
    ...machineLines(machine),
    "",
  ].join("\n");
  console.log(text);
  if (!flags["no-write"]) {
    await Deno.writeTextFile(new URL("./LOCAL_STACK.md", import.meta.url), text);
  }
  // realtime-js leaves a timer behind each disconnect; nothing else is pending.
  Deno.exit(0);
}
