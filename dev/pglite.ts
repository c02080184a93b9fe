/**
 * Embedded Postgres for the local stack and tests: PGlite (Postgres in WASM) behind
 * PGLiteSocketServer, so postgres.js talks to it over TCP like any Postgres.
 *
 * The socket server serves ONE client connection at a time (a second is refused with "Too many
 * connections"), so clients use a pool of max 1. It does not migrate: see dev/migrate.ts.
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface PgliteOptions {
  /**
   * TCP port on 127.0.0.1. Default 0: the OS picks a free one (the socket server supports
   * port 0 and reports the port it got).
   */
  port?: number;
  /** Directory to persist the database in. Default: in memory, gone on stop(). */
  dataDir?: string;
}

export interface PgliteServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  /** Closes client connections, the listener and the database. Safe to call twice. */
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

/** Starts PGlite and its socket server on 127.0.0.1. */
export async function startPglite(options: PgliteOptions = {}): Promise<PgliteServer> {
  const db = options.dataDir === undefined
    ? await PGlite.create()
    : await PGlite.create({ dataDir: options.dataDir });
  const server = new PGLiteSocketServer({ db, port: options.port ?? 0, host: "127.0.0.1" });
  try {
    await server.start();
  } catch (cause) {
    await db.close();
    throw new Error(`PGlite socket server could not listen on port ${options.port ?? 0}`, {
      cause,
    });
  }
  const port = boundPort(server);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await server.stop();
      } finally {
        await db.close();
      }
    },
  };
}
