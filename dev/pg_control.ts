/**
 * Stop and start a running local PostgreSQL server without deleting it, for database-outage
 * drills (bench/db_faults.ts, test/e2e/db_outage.test.ts). Works on any local cluster we may
 * read as a superuser, e.g. one from `startPgCluster` (dev/pg_cluster.ts): the data directory
 * and the exact server options come from the server itself (`data_directory`,
 * `postmaster.opts`), so a restarted server listens where it did before.
 *
 * When we are root, pg_ctl runs as the `postgres` OS user (Postgres refuses root), as
 * dev/pg_cluster.ts does.
 */
import postgres from "postgres";
import { findPgBinaries, pgCtlStartArgs, pgCtlStopArgs, runPgBinary } from "./pg_cluster.ts";

export interface PgControl {
  dataDir: string;
  /** `pg_ctl stop -m fast`: ends every session (clients see 57P01) and stops the server. */
  stop(): Promise<void>;
  /** Starts the server again with the options it last ran with; waits until it accepts. */
  start(): Promise<void>;
  /** `pg_ctl status`: true while the server runs. */
  isRunning(): Promise<boolean>;
}

/**
 * Server options from `postmaster.opts` (`/path/postgres "-D" "/data" "-c" "port=…" …`): every
 * quoted argument after the data directory, re-quoted for the shell pg_ctl starts postgres with.
 */
export function optionsFromPostmasterOpts(text: string): string {
  const args = [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-D") {
      i++; // skip the directory: pg_ctl passes -D itself
      continue;
    }
    out.push(`'${args[i].replaceAll("'", `'\\''`)}'`);
  }
  return out.join(" ");
}

/** Attaches to the server at `url` (a superuser connection string). */
export async function attachPgControl(url: string): Promise<PgControl> {
  const bins = findPgBinaries();
  if (bins === null) throw new Error("pg_ctl not found on PATH or under /usr/lib/postgresql");
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  let dataDir: string;
  try {
    const [row] = await sql<{ dir: string }[]>`select current_setting('data_directory') as dir`;
    dataDir = row.dir;
  } finally {
    await sql.end();
  }
  // Read while the server runs: postmaster.opts is rewritten at every start, and the options
  // must be the ones the first start used.
  const options = optionsFromPostmasterOpts(await Deno.readTextFile(`${dataDir}/postmaster.opts`));
  const logFile = `${dataDir.replace(/\/+$/, "").replace(/\/[^/]+$/, "")}/server.log`;

  return {
    dataDir,
    async stop() {
      const result = await runPgBinary(bins.pgCtl, pgCtlStopArgs(dataDir));
      if (!result.ok) throw new Error(`pg_ctl stop failed: ${result.text}`);
    },
    async start() {
      const result = await runPgBinary(bins.pgCtl, pgCtlStartArgs(dataDir, logFile, options));
      if (!result.ok) throw new Error(`pg_ctl start failed: ${result.text}`);
    },
    async isRunning() {
      return (await runPgBinary(bins.pgCtl, ["status", "-D", dataDir])).ok;
    },
  };
}
