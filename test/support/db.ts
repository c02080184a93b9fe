/**
 * The test database harness (spec 4): every test file gets a clean, migrated database.
 *
 * - `TEST_DATABASE_URL` set (a real Postgres, e.g. the cluster `deno task test` starts): a new
 *   database `wisely_test_<random>` there, dropped on close().
 * - Otherwise: an embedded PGlite of its own, stopped on close(). PGlite serves one
 *   connection at a time, so the pool is 1 and `url` cannot be used by a second client while
 *   `sql` holds the connection.
 *
 * Also: `createUser` and `asRole`/`asRoleCommit`, which run statements as PostgREST does (role
 * and JWT claims set transaction-locally).
 */
import postgres from "postgres";
import { migrate } from "../../dev/migrate.ts";
import { startPglite } from "../../dev/pglite.ts";
import { insertUsers } from "./users.ts";

export interface FreshDatabaseOptions {
  /** Pool size of `sql` on a real Postgres. Default 10. PGlite always uses 1. */
  max?: number;
}

export interface TestDatabase {
  /** Connection string of the fresh database (as the postgres superuser). */
  url: string;
  /** Connected as the postgres superuser; bypasses RLS. */
  sql: postgres.Sql;
  kind: "postgres" | "pglite";
  /** Ends `sql` and drops the database (or stops PGlite). */
  close(): Promise<void>;
}

export type Role = "anon" | "authenticated" | "service_role";

/** Bootstrap and migrations chatter (`already exists, skipping`) is noise in test output. */
const quiet = () => {};

function clientOptions(max: number): postgres.Options<Record<string, never>> {
  return { max, prepare: false, onnotice: quiet };
}

/** A clean, migrated database for one test file. */
export async function freshDatabase(options: FreshDatabaseOptions = {}): Promise<TestDatabase> {
  const serverUrl = Deno.env.get("TEST_DATABASE_URL")?.trim();
  return serverUrl ? await freshPostgres(serverUrl, options.max ?? 10) : await freshPglite();
}

async function freshPostgres(serverUrl: string, max: number): Promise<TestDatabase> {
  const name = `wisely_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(serverUrl, clientOptions(1));
  try {
    await admin`create database ${admin(name)}`;
  } catch (cause) {
    await admin.end();
    throw new Error(`could not create ${name} on TEST_DATABASE_URL`, { cause });
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.href, clientOptions(max));
  const close = async () => {
    await sql.end();
    try {
      await admin`drop database if exists ${admin(name)} with (force)`;
    } finally {
      await admin.end();
    }
  };
  try {
    await migrate(sql);
  } catch (error) {
    await close();
    throw error;
  }
  return { url: url.href, sql, kind: "postgres", close };
}

async function freshPglite(): Promise<TestDatabase> {
  const server = await startPglite();
  const sql = postgres(server.url, clientOptions(1));
  const close = async () => {
    try {
      await sql.end();
    } finally {
      await server.stop();
    }
  };
  try {
    await migrate(sql);
  } catch (error) {
    await close();
    throw error;
  }
  return { url: server.url, sql, kind: "pglite", close };
}

/** Inserts a user into auth.users (as the superuser) and returns its id. */
export async function createUser(
  sql: postgres.Sql,
  id: string = crypto.randomUUID(),
): Promise<string> {
  await insertUsers(sql, [id]);
  return id;
}

/** Thrown to end an asRole transaction with a rollback while carrying fn's result out. */
class Rollback<T> {
  constructor(readonly value: T) {}
}

async function inRole<T>(
  sql: postgres.Sql,
  role: Role,
  userId: string | null,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
  commit: boolean,
): Promise<T> {
  // What PostgREST puts in request.jwt.claims; anon and a bare service key carry no sub.
  const claims = JSON.stringify(userId === null ? { role } : { sub: userId, role });
  try {
    // Wrapped in an object: postgres.js awaits each element when a callback returns an array.
    const committed = await sql.begin(async (tx) => {
      // request.jwt.claim.sub too, which auth.uid() reads first (as asUser sets it).
      await tx`
        select set_config('request.jwt.claims', ${claims}, true),
          set_config('request.jwt.claim.sub', ${userId ?? ""}, true),
          set_config('role', ${role}, true)
      `;
      const value = await fn(tx);
      if (!commit) throw new Rollback(value);
      return { value };
    });
    return committed.value;
  } catch (error) {
    if (error instanceof Rollback) return error.value;
    throw error;
  }
}

/**
 * Runs fn in a transaction as `role` with `userId`'s JWT claims, then ROLLS BACK: nothing fn
 * did survives. Returns fn's result; errors from fn (e.g. an RLS violation) propagate.
 */
export function asRole<T>(
  sql: postgres.Sql,
  role: Role,
  userId: string | null,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return inRole(sql, role, userId, fn, false);
}

/** As `asRole`, but commits. */
export function asRoleCommit<T>(
  sql: postgres.Sql,
  role: Role,
  userId: string | null,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return inRole(sql, role, userId, fn, true);
}
