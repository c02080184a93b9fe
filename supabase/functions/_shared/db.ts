/**
 * Postgres access. One postgres.js pool per isolate; every user request runs in one
 * transaction as role `authenticated` with that user's claims, exactly as PostgREST does, so
 * row-level security, not handler code, is what keeps users apart.
 */
import postgres from "postgres";
import { parseDatabaseUrl } from "./database_url.ts";
import { DecayingMax } from "./decaying_max.ts";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

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

/**
 * A jsonb parameter. postgres.js serialises json-typed parameters itself, so a pre-stringified
 * value would be stored as a JSON string; pass the value through here instead.
 */
export function jsonb(sql: Sql | Tx, value: object): postgres.Parameter {
  // Our values are plain data built in code (never unvalidated input); JSONValue only lacks the
  // index signature interfaces do not declare.
  return sql.json(value as postgres.JSONValue);
}

/**
 * Where the HTTP pipeline attaches a request's gate (rate limit, Idempotency-Key: see
 * http/gate.ts) to the principal's claims. A symbol: `JSON.stringify` leaves it out of
 * `request.jwt.claims`, and spreading the claims keeps it.
 */
export const REQUEST_GATE: unique symbol = Symbol("wisely.request_gate");

/** The claims a user transaction runs with (`request.jwt.claims`). */
export interface UserClaims {
  sub: string;
  role: "authenticated";
  [claim: string]: unknown;
  [REQUEST_GATE]?: RequestGate;
}

/**
 * Once-per-request work done by a request's first database statement, so that it costs no
 * round trip of its own. asUser asks the gate at the start of every transaction.
 */
export interface RequestGate {
  /**
   * Resolves to what this transaction's first statement must do, or null for the plain claims
   * statement. May run statements of its own on `sql` first; throws to refuse the request
   * before anything is written.
   */
  enter(sql: Sql, claimsJson: string): Promise<GateStatement | null>;
}

export interface GateStatement {
  /**
   * Runs as the transaction's first statement instead of the claims statement, and must set
   * the same claims and role. Throws to refuse (the transaction then rolls back untouched).
   */
  run(tx: Tx): Promise<void>;
  /** The transaction rolled back (`run` ran or not): what `run` did was undone with it. */
  rolledBack(sql: Sql, error: unknown): Promise<void>;
}

const transactionLatency = new WeakMap<Sql, DecayingMax>();

/**
 * How long this pool's user transactions have taken lately, waiting for a connection included
 * (a decaying maximum): what a transaction started now should expect. day.run sizes the time
 * it keeps back for storing its result from it.
 */
export function recentTransactionMs(sql: Sql): number {
  return transactionLatency.get(sql)?.value() ?? 0;
}

/**
 * Runs `fn` in one transaction as `authenticated` with the user's claims. The claims and role
 * are transaction-local (`set_config(..., true)`), so they cannot leak to the next request on
 * a pooled connection. When the claims carry a request gate, the first statement is the gate's
 * (which sets the same claims and role).
 */
export async function asUser<T>(
  sql: Sql,
  claims: UserClaims,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    return await runAsUser(sql, claims, fn);
  } finally {
    let latency = transactionLatency.get(sql);
    if (!latency) transactionLatency.set(sql, latency = new DecayingMax());
    latency.observe(performance.now() - started);
  }
}

async function runAsUser<T>(
  sql: Sql,
  claims: UserClaims,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const gate = claims[REQUEST_GATE];
  const gated = gate ? await gate.enter(sql, JSON.stringify(claims)) : null;
  if (gated) {
    try {
      const result = await sql.begin(async (tx) => {
        await gated.run(tx);
        return await fn(tx);
      });
      return result as T;
    } catch (error) {
      await gated.rolledBack(sql, error);
      throw error;
    }
  }
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
