/**
 * The local migrator: applies the platform bootstrap (dev/bootstrap.sql) and then every
 * supabase/migrations/*.sql not yet recorded in supabase_migrations.schema_migrations, the
 * table the Supabase CLI keeps, so `supabase db push` and this agree on what has run.
 *
 * Each file runs in its own transaction under a transaction-level advisory lock, so two
 * processes migrating one database at once apply each file exactly once.
 *
 * CLI: `deno run -A dev/migrate.ts [--no-bootstrap]` migrates SUPABASE_DB_URL.
 */
import postgres from "postgres";

export interface MigrateOptions {
  /** Apply dev/bootstrap.sql first (never on a hosted project). Default: true. */
  bootstrap?: boolean;
  /** Directory of `<version>_<name>.sql` files. Default: supabase/migrations in this repo. */
  migrationsDir?: string | URL;
  /** Progress lines. Default: none. */
  log?: (line: string) => void;
}

export interface MigrateResult {
  /** File names applied by this call, in order. */
  applied: string[];
}

/** Paths resolve from this file, not the working directory. */
const REPO_ROOT = new URL("../", import.meta.url);
const BOOTSTRAP_FILE = new URL("dev/bootstrap.sql", REPO_ROOT);
const MIGRATIONS_DIR = new URL("supabase/migrations/", REPO_ROOT);

/** Arbitrary constant for pg_advisory_xact_lock: "wisely migrate". */
const LOCK_KEY = 7_311_020_260;

/** Supabase CLI's naming: a numeric timestamp, an underscore, a name. */
const MIGRATION_FILE = /^(\d+)_(.+)\.sql$/;

/**
 * Errors two concurrent bootstraps of one cluster can hit: roles are cluster-wide, so
 * databases do not serialise them (advisory locks are per database). A retry then sees the
 * role and skips it.
 */
const BOOTSTRAP_RACE_CODES = new Set(["23505", "42710", "40001", "40P01", "XX000"]);
/** Each retry still rewrites shared catalog rows (ALTER ROLE ... SET), so allow many. */
const BOOTSTRAP_ATTEMPTS = 30;

export class MigrationError extends Error {
  constructor(readonly file: string, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`migration ${file} failed${reason}`, options);
    this.name = "MigrationError";
  }
}

interface MigrationFile {
  file: string;
  version: string;
  name: string;
  path: string | URL;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const { code } = error;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

async function listMigrations(
  dir: string | URL,
  log: (line: string) => void,
): Promise<MigrationFile[]> {
  const files: MigrationFile[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    const match = MIGRATION_FILE.exec(entry.name);
    if (match === null) {
      log(`skipping ${entry.name}: not named <timestamp>_<name>.sql`);
      continue;
    }
    const [, version, name] = match;
    const path = typeof dir === "string"
      ? `${dir.replace(/\/+$/, "")}/${entry.name}`
      : new URL(entry.name, dir.href.endsWith("/") ? dir : `${dir.href}/`);
    files.push({ file: entry.name, version, name, path });
  }
  // Timestamps of equal length sort as text; the name breaks ties deterministically.
  return files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

async function applyBootstrap(sql: postgres.Sql, log: (line: string) => void): Promise<void> {
  const text = await Deno.readTextFile(BOOTSTRAP_FILE);
  for (let attempt = 1;; attempt++) {
    try {
      await sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
        await tx.unsafe(text);
      });
      log("bootstrap applied");
      return;
    } catch (error) {
      const code = errorCode(error);
      if (attempt >= BOOTSTRAP_ATTEMPTS || code === undefined || !BOOTSTRAP_RACE_CODES.has(code)) {
        throw new MigrationError("dev/bootstrap.sql", { cause: error });
      }
      log(`bootstrap raced another migrator (${code}); retrying`);
      // Jitter spreads the contenders apart.
      const delayMs = (20 + Math.random() * 80) * Math.min(attempt, 5);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/** The CLI's history table; bootstrap creates it too, but a hosted database may predate it. */
async function ensureHistoryTable(sql: postgres.Sql): Promise<void> {
  const rows = await sql`
    select to_regclass('supabase_migrations.schema_migrations') is not null as exists
  `;
  if (rows[0]?.exists === true) return;
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx`create schema if not exists supabase_migrations`;
    await tx`
      create table if not exists supabase_migrations.schema_migrations (
        version text primary key,
        statements text[],
        name text
      )
    `;
  });
}

/** Applies the bootstrap and every pending migration. Returns the files it applied. */
export async function migrate(
  sql: postgres.Sql,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const log = options.log ?? (() => {});
  const dir = options.migrationsDir ?? MIGRATIONS_DIR;
  if (options.bootstrap ?? true) await applyBootstrap(sql, log);
  await ensureHistoryTable(sql);

  const applied: string[] = [];
  for (const migration of await listMigrations(dir, log)) {
    const text = await Deno.readTextFile(migration.path);
    let ran = false;
    try {
      await sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
        const done = await tx`
          select 1 from supabase_migrations.schema_migrations where version = ${migration.version}
        `;
        if (done.length > 0) return;
        // Trusted, checked-in files: the one place SQL text is run as is.
        await tx.unsafe(text);
        await tx`
          insert into supabase_migrations.schema_migrations (version, name, statements)
          values (${migration.version}, ${migration.name}, array[${text}::text])
        `;
        ran = true;
      });
    } catch (error) {
      throw new MigrationError(migration.file, { cause: error });
    }
    if (ran) {
      applied.push(migration.file);
      log(`applied ${migration.file}`);
    }
  }
  return { applied };
}

if (import.meta.main) {
  const url = Deno.env.get("SUPABASE_DB_URL")?.trim();
  if (!url) {
    console.error("SUPABASE_DB_URL: set it to the database to migrate.");
    Deno.exit(2);
  }
  // `--no-bootstrap` for a real Supabase database, which has the platform objects already.
  const bootstrap = !Deno.args.includes("--no-bootstrap");
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  try {
    const { applied } = await migrate(sql, { bootstrap, log: (line) => console.log(line) });
    console.log(applied.length === 0 ? "up to date" : `${applied.length} migration(s) applied`);
  } catch (error) {
    console.error(error);
    Deno.exitCode = 1;
  } finally {
    await sql.end();
  }
}
