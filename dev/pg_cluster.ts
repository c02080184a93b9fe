/**
 * A throwaway PostgreSQL cluster built with the system's `initdb`/`pg_ctl`, for tests (spec 4):
 * trust auth, user `postgres`, 127.0.0.1 only, tuned for speed over durability. Postgres
 * refuses to run as root, so when we are root the cluster runs as the `postgres` OS user.
 */

export interface PgBinaries {
  initdb: string;
  pgCtl: string;
}

export interface PgClusterOptions {
  /** TCP port on 127.0.0.1. Default: a free port picked at start. */
  port?: number;
}

export interface PgCluster {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  /** `pg_ctl stop -m fast`, then deletes the cluster's directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Where Debian/Ubuntu put versioned server binaries when they are not on PATH. */
const DEBIAN_PG_LIB = "/usr/lib/postgresql";

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Finds `initdb` and `pg_ctl`: first on PATH, then the newest /usr/lib/postgresql/<v>/bin. */
export function findPgBinaries(): PgBinaries | null {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((dir) => dir !== "");
  try {
    const versions = [...Deno.readDirSync(DEBIAN_PG_LIB)]
      .filter((entry) => entry.isDirectory && /^\d+$/.test(entry.name))
      .map((entry) => Number(entry.name))
      .sort((a, b) => b - a);
    dirs.push(...versions.map((v) => `${DEBIAN_PG_LIB}/${v}/bin`));
  } catch {
    // No Debian layout: PATH is all we have.
  }
  for (const dir of dirs) {
    const initdb = `${dir}/initdb`;
    const pgCtl = `${dir}/pg_ctl`;
    if (isFile(initdb) && isFile(pgCtl)) return { initdb, pgCtl };
  }
  return null;
}

/** Asks the OS for a free port. Another process may take it before we bind: callers retry. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

interface OsUser {
  uid: number;
  gid: number;
}

function lookupUser(name: string): OsUser | null {
  const passwd = Deno.readTextFileSync("/etc/passwd");
  for (const line of passwd.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid !== undefined && gid !== undefined) {
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  return null;
}

/**
 * Runs a PostgreSQL binary, as the `postgres` user when `asPostgres` (Postgres refuses to run
 * as root), with a predictable locale (initdb refuses some inherited LANG values).
 */
export async function runPgBinary(
  cmd: string,
  args: string[],
  asPostgres = Deno.uid() === 0,
): Promise<{ ok: boolean; code: number; text: string }> {
  const [program, programArgs] = asPostgres
    ? ["runuser", ["-u", "postgres", "--", cmd, ...args]]
    : [cmd, args];
  const output = await new Deno.Command(program, {
    args: programArgs,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C", LANG: "C" },
  }).output();
  const decoder = new TextDecoder();
  return {
    ok: output.success,
    code: output.code,
    text: (decoder.decode(output.stdout) + decoder.decode(output.stderr)).trim(),
  };
}

/** `pg_ctl start` arguments: wait (up to 60 s) until the server accepts connections. */
export function pgCtlStartArgs(dataDir: string, logFile: string, serverOptions: string): string[] {
  return ["start", "-D", dataDir, "-w", "-t", "60", "-l", logFile, "-o", serverOptions];
}

/** `pg_ctl stop -m fast`: ends every session (clients see 57P01) and waits for the stop. */
export function pgCtlStopArgs(dataDir: string): string[] {
  return ["stop", "-D", dataDir, "-m", "fast", "-w"];
}

/** Runs a binary (as `postgres` when `asPostgres`), returning its output; throws on failure. */
async function run(cmd: string, args: string[], asPostgres: boolean): Promise<string> {
  const { ok, code, text } = await runPgBinary(cmd, args, asPostgres);
  if (!ok) throw new Error(`${cmd} ${args.join(" ")} exited with ${code}:\n${text}`);
  return text;
}

/** How to run the server binaries: where they are, and as which OS user. */
interface PgRunner {
  bins: PgBinaries;
  /** Run them as the `postgres` OS user (we are root). */
  asPostgres: boolean;
  /** That user, who must own the cluster's directory; null when we are not root. */
  owner: OsUser | null;
}

function pgRunner(): PgRunner {
  const bins = findPgBinaries();
  if (bins === null) {
    throw new Error(`initdb/pg_ctl not found on PATH or under ${DEBIAN_PG_LIB}/*/bin`);
  }
  const asPostgres = Deno.uid() === 0;
  const owner = asPostgres ? lookupUser("postgres") : null;
  if (asPostgres && owner === null) {
    throw new Error("running as root but there is no `postgres` OS user to run the server as");
  }
  return { bins, asPostgres, owner };
}

/** Where one cluster lives: everything is inside `dir`, which `cleanup` deletes. */
interface ClusterFiles {
  dir: string;
  dataDir: string;
  logFile: string;
  cleanup(): Promise<void>;
}

/** A new temporary directory with an initialized data directory in it. */
async function initCluster({ bins, asPostgres, owner }: PgRunner): Promise<ClusterFiles> {
  const dir = await Deno.makeTempDir({ prefix: "wisely-pg-" });
  const files: ClusterFiles = {
    dir,
    dataDir: `${dir}/data`,
    logFile: `${dir}/server.log`,
    cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
  try {
    if (owner !== null) await Deno.chown(dir, owner.uid, owner.gid);
    await run(bins.initdb, [
      "-D",
      files.dataDir,
      "-U",
      "postgres",
      "--auth=trust",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
    ], asPostgres);
  } catch (cause) {
    await files.cleanup();
    throw new Error("initdb failed", { cause });
  }
  return files;
}

/** The server's settings (`pg_ctl start -o`): TCP on `port` only, speed over durability. */
function serverOptions(port: number, socketDir: string): string {
  return [
    `-c listen_addresses=127.0.0.1`,
    `-c port=${port}`,
    `-c unix_socket_directories=${socketDir}`,
    // Durability is pointless for a throwaway test cluster; speed is not.
    `-c fsync=off`,
    `-c synchronous_commit=off`,
    `-c full_page_writes=off`,
    `-c max_connections=300`,
    `-c shared_buffers=128MB`,
    `-c timezone=UTC`,
  ].join(" ");
}

/** The running cluster on `port`; its `stop` stops the server and deletes its files, once. */
function runningCluster(runner: PgRunner, files: ClusterFiles, port: number): PgCluster {
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await run(runner.bins.pgCtl, pgCtlStopArgs(files.dataDir), runner.asPostgres);
      } finally {
        await files.cleanup();
      }
    },
  };
}

/** The error of a server that would not start, with its log when it wrote one. */
async function startFailure(files: ClusterFiles, lastError: unknown): Promise<Error> {
  let log = "";
  try {
    log = await Deno.readTextFile(files.logFile);
  } catch {
    // No log: pg_ctl failed before the server wrote one.
  }
  return new Error(`the Postgres cluster did not start${log ? `:\n${log.trim()}` : ""}`, {
    cause: lastError,
  });
}

/** Starts a fresh cluster in a temporary directory. */
export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const runner = pgRunner();
  const files = await initCluster(runner);

  // A fixed port is tried once; a picked one is retried, in case another process took it.
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? freePort();
    const args = pgCtlStartArgs(files.dataDir, files.logFile, serverOptions(port, files.dir));
    try {
      await run(runner.bins.pgCtl, args, runner.asPostgres);
    } catch (cause) {
      lastError = cause;
      continue;
    }
    return runningCluster(runner, files, port);
  }
  const error = await startFailure(files, lastError);
  await files.cleanup();
  throw error;
}
