/**
 * Embedded Postgres for the local stack and tests: PGlite (Postgres in WASM) behind
 * PGLiteSocketServer, so postgres.js talks to it over TCP like any Postgres.
 *
 * The socket server serves ONE client connection at a time (a second is refused with "Too many
 * connections"), so clients use a pool of max 1. It does not migrate: see dev/migrate.ts.
 *
 * In memory by default (tests, benchmarks); with `dataDir` the database lives in that directory,
 * claimed with an exclusive lock for the server's lifetime (dev/pglite_dir.ts).
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { claimDataDir, type DataDirClaim } from "./pglite_dir.ts";

export interface PgliteOptions {
  /**
   * TCP port on 127.0.0.1. Default 0: the OS picks a free one (the socket server supports
   * port 0 and reports the port it got).
   */
  port?: number;
  /**
   * Directory to persist the database in: created if missing, refused if it is neither empty nor
   * a data directory, and locked until stop() (a second server on it fails at once).
   * @default undefined: in memory, gone on stop().
   */
  dataDir?: string;
  /** Empty `dataDir` first, for a new database. Ignored without `dataDir`. @default false */
  fresh?: boolean;
}

export interface PgliteServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  /** Absolute path of the data directory, or null in memory. */
  dataDir: string | null;
  /** Closes client connections, the listener, the database, then unlocks. Safe to call twice. */
  stop(): Promise<void>;
}

/** The port the server bound, read from its `host:port` connection string. */
function boundPort(server: PGLiteSocketServer): number {
  const match = /:(\d+)$/.exec(server.getServerConn());
  const port = match === null ? NaN : Number(match[1]);
  if (!Number.isInteger(port) || port <= 0) {
    throw new Error(`PGLiteSocketServer reported no port (${server.getServerConn()})`);
  }
  return port;
}

/** Opens the database: in memory, or in its claimed directory. */
async function openDatabase(claim: DataDirClaim | null): Promise<PGlite> {
  if (claim === null) return await PGlite.create();
  try {
    return await PGlite.create({ dataDir: claim.path });
  } catch (cause) {
    throw new Error(
      `PGlite could not open the database in ${claim.path}. If it is damaged, start over with ` +
        `an empty directory.`,
      { cause },
    );
  }
}

/** Starts PGlite and its socket server on 127.0.0.1. */
export async function startPglite(options: PgliteOptions = {}): Promise<PgliteServer> {
  // The lock comes first: a second stack must fail before it opens (and damages) the files.
  const claim = options.dataDir === undefined
    ? null
    : await claimDataDir(options.dataDir, { fresh: options.fresh });
  let db: PGlite;
  try {
    db = await openDatabase(claim);
  } catch (error) {
    claim?.release();
    throw error;
  }
  // Only once the database is closed may another stack open the directory.
  const closeDatabase = async () => {
    try {
      await db.close();
    } finally {
      claim?.release();
    }
  };
  const server = new PGLiteSocketServer({ db, port: options.port ?? 0, host: "127.0.0.1" });
  try {
    await server.start();
  } catch (cause) {
    await closeDatabase();
    throw new Error(`PGlite socket server could not listen on port ${options.port ?? 0}`, {
      cause,
    });
  }
  const port = boundPort(server);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir: claim?.path ?? null,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await server.stop();
      } finally {
        await closeDatabase();
      }
    },
  };
}
