/**
 * A real PostgreSQL for benchmarks and drills: `BENCH_DATABASE_URL` when set, else a throwaway
 * cluster of the system's `initdb`/`pg_ctl` (dev/pg_cluster.ts), migrated with the platform
 * bootstrap either way. A throwaway cluster can also be stopped and started (`control`) and can
 * load `pg_stat_statements`, which needs a restart.
 */
import postgres from "postgres";
import { migrate } from "../../dev/migrate.ts";
import { attachPgControl, type PgControl } from "../../dev/pg_control.ts";
import { startPgCluster } from "../../dev/pg_cluster.ts";

export interface ClusterOptions {
  /** Use this database instead of a throwaway cluster. @default env BENCH_DATABASE_URL */
  url?: string | null;
  /** Progress lines. @default discarded */
  log?: (line: string) => void;
  /** Superuser pool size. @default 4 */
  adminMax?: number;
}

export interface Cluster {
  url: string;
  /** Superuser pool: setup and verification only, never measured. */
  admin: postgres.Sql;
  /** Stop/start of a throwaway cluster; null on a given database (never stopped by us). */
  control: PgControl | null;
  /** Ends the pool and deletes a throwaway cluster. */
  stop(): Promise<void>;
}

function adminPool(url: string, max: number): postgres.Sql {
  return postgres(url, { max, prepare: false, onnotice: () => {} });
}

/** A migrated database (see the module comment); everything is released again on failure. */
export async function openCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const log = options.log ?? (() => {});
  const given = options.url === undefined
    ? Deno.env.get("BENCH_DATABASE_URL")?.trim() || null
    : options.url;
  const cluster = given ? null : await startPgCluster();
  const url = given ?? cluster!.url;
  log(given ? "Postgres: the given database" : `Postgres: throwaway cluster at ${url}`);
  const admin = adminPool(url, options.adminMax ?? 4);
  const stop = async () => {
    await admin.end({ timeout: 5 }).catch(() => {});
    await cluster?.stop();
  };
  try {
    const { applied } = await migrate(admin, { bootstrap: true });
    log(`Migrations: ${applied.length} applied.`);
    const control = cluster ? await attachPgControl(url) : null;
    return { url, admin, control, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Loads `pg_stat_statements` (restarting a throwaway cluster with it preloaded) and creates the
 * extension. False, with nothing changed, when that is not possible (a given database without it).
 */
export async function enableStatStatements(cluster: Cluster): Promise<boolean> {
  const [row] = await cluster.admin<{ loaded: boolean }[]>`
    select current_setting('shared_preload_libraries') like '%pg_stat_statements%' as loaded
  `;
  if (!row.loaded) {
    if (!cluster.control) return false;
    await cluster.admin`alter system set shared_preload_libraries = 'pg_stat_statements'`;
    await cluster.control.stop();
    await cluster.control.start();
  }
  await cluster.admin`create extension if not exists pg_stat_statements`;
  return true;
}
