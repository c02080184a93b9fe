/**
 * The postgres.js pool: one per isolate, sized and tuned for Supabase's transaction pooler.
 */
import postgres from "postgres";
import { parseDatabaseUrl } from "./database_url.ts";
import type { Sql } from "./db.ts";

/**
 * Connections per pool by default: 3. Hosted functions run as many isolates, each with its own
 * pool, so the total is isolates × max. On the transaction pooler (`WISELY_DB_URL`, port 6543)
 * a connection is a Supavisor client, held by Postgres only for the length of a transaction:
 * 1–3 per isolate keeps a request's few transactions from queueing behind each other without
 * multiplying the pooler's client count. On a direct connection (`SUPABASE_DB_URL`) every one
 * is a Postgres backend out of `max_connections`, so production uses the pooler.
 */
export const DEFAULT_POOL_MAX = 3;

export interface PoolOptions {
  /** Connections in the pool. @default DEFAULT_POOL_MAX (3) */
  max?: number;
  /** Seconds an idle connection is kept. Default 20. */
  idleTimeoutS?: number;
  /** Seconds to wait for a connection. Default 3, so an outage answers 503 quickly. */
  connectTimeoutS?: number;
}

/**
 * Seconds before reconnecting after the `retries`-th failure: 50 ms doubling to at most 1 s,
 * with jitter. postgres.js's default grows to 20 s, which would keep the service down long
 * after the database is back.
 */
export function reconnectDelayS(retries: number, random: () => number = Math.random): number {
  return Math.min(0.05 * 2 ** retries, 1) * (0.5 + random() / 2);
}

/**
 * Creates the pool. `prepare: false` because Supabase's transaction pooler (port 6543) does not
 * support prepared statements. The URL is parsed here (database_url.ts) and passed as parts:
 * passwords of any characters, TLS (`require`) for every host that is not local.
 */
export function createPool(url: string, options: PoolOptions = {}): Sql {
  const target = parseDatabaseUrl(url);
  return postgres({
    host: target.host,
    port: target.port,
    database: target.database,
    username: target.user,
    password: target.password,
    ssl: target.ssl,
    max: options.max ?? DEFAULT_POOL_MAX,
    idle_timeout: options.idleTimeoutS ?? 20,
    connect_timeout: options.connectTimeoutS ?? 3,
    backoff: (retries: number) => reconnectDelayS(retries),
    prepare: false,
    onnotice: () => {},
    connection: { application_name: "wisely-orchestrator", ...target.parameters },
  });
}
