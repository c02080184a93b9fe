/**
 * The server side of a benchmark, run in its own process so the load generator never shares an
 * event loop with what it measures. Modes:
 *
 * - `--mode stack`: `startStack` (gateway + orchestrator + reference agents) on `--db`.
 * - `--mode bare`: a bare `Deno.serve` that reads the request body and answers a JSON body of
 *   `?bytes=N` bytes: the HTTP floor the routes are compared with.
 *
 * When listening it writes one line `BENCH_READY {json}` to stderr. SIGTERM stops it cleanly.
 * Request logs of the stack go to stdout, as a deployed function's do.
 */
import { parseArgs } from "node:util";
import { type StackOptions, startStack } from "../../dev/stack.ts";
import { READY_PREFIX } from "./server_proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mode: { type: "string", default: "stack" },
    db: { type: "string" },
    pool: { type: "string" },
    "agent-faults": { type: "boolean", default: false },
    "no-migrate": { type: "boolean", default: false },
    env: { type: "string", multiple: true, default: [] },
  },
});

function ready(info: Record<string, unknown>) {
  console.error(READY_PREFIX + JSON.stringify({ pid: Deno.pid, ...info }));
}

function onTerm(stop: () => Promise<void>) {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    stop().catch((e) => console.error("stop failed:", e)).finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGTERM", handler);
  Deno.addSignalListener("SIGINT", handler);
}

if (values.mode === "bare") {
  const cache = new Map<number, string>();
  const bodyOf = (bytes: number) => {
    let body = cache.get(bytes);
    if (body === undefined) {
      // {"ok":true,"pad":"xxxx"}: 20 bytes of frame plus padding.
      body = JSON.stringify({ ok: true, pad: "x".repeat(Math.max(0, bytes - 20)) });
      cache.set(bytes, body);
    }
    return body;
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      if (req.body) await req.arrayBuffer();
      const bytes = Number(new URL(req.url).searchParams.get("bytes") ?? "16");
      return new Response(bodyOf(bytes), {
        headers: { "content-type": "application/json" },
      });
    },
  );
  onTerm(() => server.shutdown());
  ready({ url: `http://127.0.0.1:${server.addr.port}` });
} else {
  if (!values.db) throw new Error("--db is required in stack mode");
  const env: Record<string, string> = {};
  for (const pair of values.env) {
    const at = pair.indexOf("=");
    if (at > 0) env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  // The ready line reports the pool size actually used, so the benchmark never claims a size
  // it did not get (PGlite always has 1).
  const options: StackOptions = {
    databaseUrl: values.db,
    port: 0,
    migrate: !values["no-migrate"],
    agentFaults: values["agent-faults"],
    env,
    poolMax: values.pool ? Number(values.pool) : undefined,
  };
  const stack = await startStack(options);
  onTerm(() => stack.stop());
  const poolMax = stack.poolMax;
  ready({
    url: stack.url,
    functionsUrl: stack.functionsUrl,
    kind: stack.kind,
    poolMax,
    issuer: `${stack.config.supabaseUrl ?? stack.url}/auth/v1`,
    agentFaultInjection: stack.config.agentFaultInjection,
  });
}
