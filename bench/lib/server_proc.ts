/** Starts `serve.ts` in a child process and waits for it to listen. */

/** The line `serve.ts` writes to stderr once it listens, followed by JSON. */
export const READY_PREFIX = "BENCH_READY ";

export interface ServerProcessOptions {
  mode: "stack" | "bare";
  /** Postgres URL (stack mode). */
  databaseUrl?: string;
  /** Pool size to ask the stack for (honoured only if dev/stack.ts supports it). */
  poolMax?: number;
  agentFaults?: boolean;
  migrate?: boolean;
  /** Extra configuration variables for the stack (`--env K=V`). */
  env?: Record<string, string>;
  /** Where the child's stdout (request log lines) goes: a file path, or discarded. */
  logFile?: string;
  /** How long to wait for the ready line. Default 120 s (migrations on a cold cluster). */
  readyTimeoutMs?: number;
  /** Run the child with the V8 inspector on this port (for CPU profiles, see profile.ts). */
  inspectPort?: number;
}

export interface ServerProcess {
  url: string;
  functionsUrl: string;
  pid: number;
  /** The pool size the stack really uses (null in bare mode or when unknown). */
  poolMax: number | null;
  issuer: string | null;
  agentFaultInjection: boolean;
  /** The last lines the child wrote to stderr. */
  stderrTail(): string[];
  /** The exit status once the child has exited on its own or been stopped; null while it runs. */
  exitStatus(): Deno.CommandStatus | null;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

const SERVE = new URL("./serve.ts", import.meta.url).pathname;

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const args = ["run", "--allow-all"];
  if (options.inspectPort) args.push(`--inspect=127.0.0.1:${options.inspectPort}`);
  args.push(SERVE, "--mode", options.mode);
  if (options.databaseUrl) args.push("--db", options.databaseUrl);
  if (options.poolMax) args.push("--pool", String(options.poolMax));
  if (options.agentFaults) args.push("--agent-faults");
  if (options.migrate === false) args.push("--no-migrate");
  for (const [k, v] of Object.entries(options.env ?? {})) args.push("--env", `${k}=${v}`);

  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: options.logFile ? "piped" : "null",
    stderr: "piped",
  }).spawn();
  if (options.logFile) {
    const file = await Deno.open(options.logFile, { write: true, create: true, truncate: true });
    child.stdout.pipeTo(file.writable).catch(() => {});
  }

  const tail: string[] = [];
  let resolveReady!: (info: Record<string, unknown>) => void;
  let rejectReady!: (error: Error) => void;
  const readyPromise = new Promise<Record<string, unknown>>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  (async () => {
    const lines = child.stderr.pipeThrough(new TextDecoderStream());
    let buffer = "";
    for await (const chunk of lines) {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith(READY_PREFIX)) {
          resolveReady(JSON.parse(line.slice(READY_PREFIX.length)));
        } else {
          // deno-lint-ignore no-control-regex
          tail.push(line.replace(/\x1b\[[0-9;]*m/g, ""));
          if (tail.length > 100) tail.shift();
        }
      }
    }
  })().catch(() => {});
  let exitStatus: Deno.CommandStatus | null = null;
  const exited = child.status.then((status) => {
    exitStatus = status;
    rejectReady(
      new Error(`the ${options.mode} server exited (${status.code}):\n${tail.join("\n")}`),
    );
    return status;
  });

  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the ${options.mode} server did not start:\n${tail.join("\n")}`)),
      options.readyTimeoutMs ?? 120_000,
    );
  });
  let info: Record<string, unknown>;
  try {
    info = await Promise.race([readyPromise, timeout]);
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }

  let stopping: Promise<void> | null = null;
  const url = String(info.url);
  return {
    url,
    functionsUrl: typeof info.functionsUrl === "string" ? info.functionsUrl : `${url}/functions/v1`,
    pid: child.pid,
    poolMax: typeof info.poolMax === "number" ? info.poolMax : null,
    issuer: typeof info.issuer === "string" ? info.issuer : null,
    agentFaultInjection: info.agentFaultInjection === true,
    stderrTail: () => [...tail],
    exitStatus: () => exitStatus,
    stop: () =>
      stopping ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch {
          return;
        }
        const killer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // Gone.
          }
        }, 10_000);
        await exited;
        clearTimeout(killer);
      })(),
  };
}
