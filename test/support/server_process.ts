/**
 * A server in a child process, so whoever drives it never shares an event loop with what it
 * measures, and a crash there is a failed check rather than a crashed caller. Two kinds:
 *
 * - `stack`: `startStack` (gateway, orchestrator, Auth, Realtime, reference agents) on a given
 *   Postgres. With `agentsUrl` the orchestrator calls the agents there (`EDGE_BASE_URL`), as
 *   deployed, instead of its own in-process ones.
 * - `agents`: only the four reference agents behind the gateway, fault plans enabled.
 * - `chain`: day.run's shape with none of its work, for the benchmark's day.run phase: what the
 *   hops of a run cost on this machine (serveChain).
 *
 * This file is also the child's entry point: once listening it writes one line
 * `SERVER_READY {json}` to stderr; SIGTERM stops it cleanly. Request logs go to stdout.
 */
import { parseArgs } from "node:util";
import { startStack } from "../../dev/stack.ts";
import { createGateway, type FetchHandler } from "../../dev/gateway.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { AGENT_NAMES } from "../../supabase/functions/_shared/agents/protocol.ts";
import { createReferenceAgent } from "../../supabase/functions/_shared/agents/reference/server.ts";
import { commitBehind } from "../../supabase/functions/_shared/db.ts";
import { SAMPLE_AGENT_REQUEST } from "./agent_fetch.ts";
import { createPool } from "../../supabase/functions/_shared/pool.ts";

const READY_PREFIX = "SERVER_READY ";

export interface ServerProcessOptions {
  kind: "stack" | "agents" | "chain";
  /** Postgres URL (stack and chain). */
  databaseUrl?: string;
  /**
   * Base URL of an `agents` process the stack's orchestrator calls. @default its own. Required
   * for a chain.
   */
  agentsUrl?: string;
  /** Stack pool size. @default the stack's (10) */
  poolMax?: number;
  /** Let the stack's own reference agents honour fault plans. @default false */
  agentFaults?: boolean;
  /** Apply migrations first (stack only). @default false: the caller's database is migrated */
  migrate?: boolean;
  /** Where the child's stdout (request log lines) goes. @default discarded */
  logFile?: string;
  /** Run the child with the V8 inspector on this port (CPU profiles). @default none */
  inspectPort?: number;
  /** How long to wait for the ready line. @default 120_000 */
  readyTimeoutMs?: number;
}

export interface ServerProcess {
  url: string;
  functionsUrl: string;
  pid: number;
  /** The stack's pool size (null for agents). */
  poolMax: number | null;
  /** `iss` of the stack's user tokens (null for agents). */
  issuer: string | null;
  /** The last lines the child wrote to stderr. */
  stderrTail(): string[];
  /** The exit status once the child has exited; null while it runs. */
  exitStatus(): Deno.CommandStatus | null;
  /** User + system CPU time the child has used so far, in ms (Linux /proc; NaN elsewhere). */
  cpuMs(): number;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

function childArgs(options: ServerProcessOptions): string[] {
  const args = ["run", "--allow-all"];
  if (options.inspectPort) args.push(`--inspect=127.0.0.1:${options.inspectPort}`);
  args.push(new URL(import.meta.url).pathname, "--kind", options.kind);
  if (options.databaseUrl) args.push("--db", options.databaseUrl);
  if (options.agentsUrl) args.push("--agents-url", options.agentsUrl);
  if (options.poolMax) args.push("--pool", String(options.poolMax));
  if (options.agentFaults) args.push("--agent-faults");
  if (options.migrate) args.push("--migrate");
  return args;
}

/** utime + stime of `pid` in ms: fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 Hz). */
export function processCpuMs(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Collects the child's stderr: the ready line resolves `ready`, the rest is kept as a tail. */
function watchStderr(child: Deno.ChildProcess, tail: string[]) {
  const ready = Promise.withResolvers<Record<string, unknown>>();
  (async () => {
    let buffer = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith(READY_PREFIX)) {
          ready.resolve(JSON.parse(line.slice(READY_PREFIX.length)));
        } // deno-lint-ignore no-control-regex
        else if (tail.push(line.replace(/\x1b\[[0-9;]*m/g, "")) > 100) tail.shift();
      }
    }
  })().catch(() => {});
  return ready;
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal) {
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

/** Starts a server process and waits until it listens (see the module comment). */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: childArgs(options),
    stdin: "null",
    stdout: options.logFile ? "piped" : "null",
    stderr: "piped",
  }).spawn();
  if (options.logFile) {
    const file = await Deno.open(options.logFile, { write: true, create: true, truncate: true });
    child.stdout.pipeTo(file.writable).catch(() => {});
  }
  const tail: string[] = [];
  const ready = watchStderr(child, tail);
  let exitStatus: Deno.CommandStatus | null = null;
  const exited = child.status.then((status) => {
    exitStatus = status;
    ready.reject(
      new Error(`the ${options.kind} process exited (${status.code}):\n${tail.join("\n")}`),
    );
  });
  const timer = setTimeout(
    () => ready.reject(new Error(`the ${options.kind} process did not start:\n${tail.join("\n")}`)),
    options.readyTimeoutMs ?? 120_000,
  );
  const info = await ready.promise.catch((error) => {
    kill(child, "SIGKILL");
    throw error;
  }).finally(() => clearTimeout(timer));
  let stopping: Promise<void> | null = null;
  return {
    url: String(info.url),
    functionsUrl: `${info.url}/functions/v1`,
    pid: child.pid,
    poolMax: typeof info.poolMax === "number" ? info.poolMax : null,
    issuer: typeof info.issuer === "string" ? info.issuer : null,
    stderrTail: () => [...tail],
    exitStatus: () => exitStatus,
    cpuMs: () => processCpuMs(child.pid),
    stop: () =>
      stopping ??= (async () => {
        if (exitStatus) return;
        kill(child, "SIGTERM");
        const killer = setTimeout(() => kill(child, "SIGKILL"), 10_000);
        await exited;
        clearTimeout(killer);
      })(),
  };
}

// ---- the child -----------------------------------------------------------------------------

/** Serves the four reference agents (fault plans on) on a free port. */
async function serveAgents() {
  const closing = new AbortController();
  let gateway: FetchHandler | null = null;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => gateway?.fetch(req) ?? new Response("starting", { status: 503 }),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const config = await loadConfig(
    new Map([["WISELY_LOCAL_STACK", "1"], ["WISELY_AGENT_FAULTS", "1"], ["EDGE_BASE_URL", url]]),
  );
  gateway = createGateway(Object.fromEntries(
    AGENT_NAMES.map((
      name,
    ) => [`agent-${name}`, createReferenceAgent(name, { config, closing: closing.signal })]),
  ));
  return { info: { url }, stop: async () => (closing.abort(), await server.shutdown()) };
}

const SAMPLE_BODY = JSON.stringify(SAMPLE_AGENT_REQUEST);

/**
 * POSTs the sample agent request to `agent-<name>` of a gateway's `functionsUrl` with `key` as
 * a run sends it: its status and body. The benchmark's limit of day.run and the chain use it.
 */
export async function callSampleAgent(functionsUrl: string, name: string, key: string) {
  const response = await fetch(`${functionsUrl}/agent-${name}`, {
    method: "POST",
    headers: { "Authorization": `Bearer ${key}`, "Content-Type": "application/json" },
    body: SAMPLE_BODY,
  });
  return { ok: response.ok, status: response.status, text: await response.text() };
}

/**
 * day.run's shape with no work: per request, its body read, one transaction of one statement (as
 * `authenticated`, COMMIT in the same round trip, as the claim), the four agents called at once
 * with the stack's key and the sample agent request, as a run calls them, a second such
 * transaction (as the store), and their four answers as the answer. No auth, gate, validation,
 * plan or SQL of the run's: the rest of day.run's latency over this is the run's own work.
 */
async function serveChain(values: Record<string, string | boolean | undefined>) {
  const [db, agentsUrl] = [values.db, values["agents-url"]];
  if (typeof db !== "string" || typeof agentsUrl !== "string") {
    throw new Error("--db and --agents-url are required for a chain");
  }
  const sql = createPool(db, { max: 2 });
  const config = await loadConfig(
    new Map([["WISELY_LOCAL_STACK", "1"], ["EDGE_BASE_URL", agentsUrl]]),
  );
  const key = config.edgeServiceKey;
  if (key === null) throw new Error("the local configuration has no service key for the agents");
  const oneStatement = () =>
    sql.begin((tx) =>
      commitBehind(tx, tx`select set_config('role', 'authenticated', true)`.execute())
    );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.text();
    await oneStatement();
    const answers = await Promise.all(
      AGENT_NAMES.map((name) => callSampleAgent(`${agentsUrl}/functions/v1`, name, key)),
    );
    await oneStatement();
    // Not a 201 unless every agent answered, so the benchmark counts a failed call as an error.
    return new Response(`[${answers.map((a) => a.text).join(",")}]`, {
      status: answers.every((a) => a.ok) ? 201 : 502,
      headers: { "Content-Type": "application/json" },
    });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  return { info: { url }, stop: async () => (await server.shutdown(), await sql.end()) };
}

async function serveStack(values: Record<string, string | boolean | undefined>) {
  if (typeof values.db !== "string") throw new Error("--db is required for a stack");
  const stack = await startStack({
    databaseUrl: values.db,
    port: 0,
    migrate: values.migrate === true,
    agentFaults: values["agent-faults"] === true,
    poolMax: typeof values.pool === "string" ? Number(values.pool) : undefined,
    env: typeof values["agents-url"] === "string" ? { EDGE_BASE_URL: values["agents-url"] } : {},
  });
  const issuer = `${stack.config.supabaseUrl ?? stack.url}/auth/v1`;
  return { info: { url: stack.url, poolMax: stack.poolMax, issuer }, stop: () => stack.stop() };
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      kind: { type: "string", default: "stack" },
      db: { type: "string" },
      "agents-url": { type: "string" },
      pool: { type: "string" },
      "agent-faults": { type: "boolean", default: false },
      migrate: { type: "boolean", default: false },
    },
  });
  const server = values.kind === "agents"
    ? await serveAgents()
    : values.kind === "chain"
    ? await serveChain(values)
    : await serveStack(values);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.stop().catch((e) => console.error("stop failed:", e)).finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  console.error(READY_PREFIX + JSON.stringify({ pid: Deno.pid, ...server.info }));
}

if (import.meta.main) await main();
