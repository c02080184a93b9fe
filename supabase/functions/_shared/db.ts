/**
 * Postgres access: every user request runs in one transaction as role `authenticated` with that
 * user's claims, exactly as PostgREST does, so row-level security, not handler code, is what
 * keeps users apart. The pool is in pool.ts, a request's transactions in user_db.ts.
 */
import postgres from "postgres";
import { timedTransaction } from "./transaction_latency.ts";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

/**
 * A jsonb parameter. postgres.js serialises json-typed parameters itself, so a pre-stringified
 * value would be stored as a JSON string; pass the value through here instead.
 */
export function jsonb(sql: Sql | Tx, value: object): postgres.Parameter {
  // Our values are plain data built in code (never unvalidated input); JSONValue only lacks the
  // index signature interfaces do not declare.
  return sql.json(value as postgres.JSONValue);
}

/** The claims a user transaction runs with (`request.jwt.claims`). */
export interface UserClaims {
  sub: string;
  role: "authenticated";
  [claim: string]: unknown;
}

/**
 * Runs `fn` in one transaction as `authenticated` with the user's claims. The claims and role
 * are transaction-local (`set_config(..., true)`), so they cannot leak to the next request on
 * a pooled connection. A request's handler goes through its UserDb (user_db.ts) instead, which
 * adds the request's gate.
 */
export function asUser<T>(sql: Sql, claims: UserClaims, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return timedTransaction(sql, () => beginAsUser(sql, claims, fn));
}

/** asUser without recording the transaction's latency (for callers that time it themselves). */
export async function beginAsUser<T>(
  sql: Sql,
  claims: UserClaims,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const result = await sql.begin(async (tx) => {
    // Sent now and awaited last: postgres.js pipelines it ahead of fn's first statement on the
    // transaction's connection, which saves a round trip on every request. If it fails, every
    // later statement fails with it and the transaction rolls back. auth.uid() reads
    // `request.jwt.claim.sub` first: set it too, or a value another client left at session
    // level on a shared (pooled) backend would name the user.
    const claimsSet = tx`
      select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
             set_config('request.jwt.claim.sub', ${claims.sub}, true),
             set_config('role', 'authenticated', true)
    `.execute();
    try {
      return await fn(tx);
    } finally {
      await claimsSet;
    }
  });
  // postgres.js types `begin` as returning UnwrapPromiseArray<T>; for a non-array T it is T.
  return result as T;
}

/**
 * The transaction's last step: COMMIT goes out right behind the statements already sent (the
 * vendored postgres.js `tx.commit()`, VENDORED.md), so they and COMMIT share one round trip;
 * resolves to `sent`'s value. Send them with `.execute()`: a query only awaited (or passed to
 * `Promise.all`) is handed to the connection a microtask later, behind COMMIT, and is refused
 * (`UNSAFE_TRANSACTION`), as is anything sent on `tx` after this. A statement that fails
 * aborts the transaction, and COMMIT then rolls it back. Call it where the transaction ends:
 * nothing after it can roll back.
 */
export async function commitBehind<T>(tx: Tx, sent: Promise<T>): Promise<T> {
  const [value] = await Promise.all([sent, tx.commit()]);
  return value;
}

/** Runs `fn` in one transaction with the pool's own role (service work: ticks, metrics). */
export async function asService<T>(sql: Sql, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const result = await sql.begin(async (tx) => {
    await tx`select set_config('role', 'service_role', true)`;
    return await fn(tx);
  });
  return result as T;
}

/** SQLSTATE classes and driver codes that mean "the database is not there right now". */
const UNAVAILABLE_SQLSTATES = new Set([
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "08000",
  "08001",
  "08003",
  "08006",
]);
const UNAVAILABLE_DRIVER_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
]);

/** True when `error` means the database is unreachable (answer 503, not 500). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = "code" in error ? String(error.code) : "";
  if (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_DRIVER_CODES.has(code)) return true;
  if (error instanceof Deno.errors.ConnectionRefused) return true;
  if (error instanceof Deno.errors.ConnectionReset) return true;
  return "cause" in error && error.cause !== error && isDatabaseUnavailable(error.cause);
}

/** The SQLSTATE of a Postgres error, if it is one. */
export function sqlState(error: unknown): string | null {
  if (error instanceof postgres.PostgresError) return error.code;
  return null;
}

/** The constraint a Postgres error names, if any. */
export function constraintName(error: unknown): string | null {
  if (error instanceof postgres.PostgresError) return error.constraint_name ?? null;
  return null;
}
