/**
 * A request's user transactions. The HTTP pipeline creates one `UserDb` per user request from
 * the pool, the principal's claims and the request's gate (rate limit, Idempotency-Key: see
 * http/gate.ts); the handler opens its transactions through it (`ctx.db.transaction`).
 */
import { asUser, beginAsUser, type Sql, type Tx, type UserClaims } from "./db.ts";
import { timedTransaction } from "./transaction_latency.ts";

/** The user's transactions, as role `authenticated` with their claims (db.ts asUser). */
export interface UserDb {
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/**
 * Once-per-request work done by a request's first database statement, so that it costs no
 * round trip of its own. The request's UserDb asks the gate at the start of every transaction.
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
   * the same claims and role. Sends its statement when called: the handler's statements are
   * sent right behind it, before its answer, so a refusal must abort the transaction in the
   * database (raise), not only here. Rejects to refuse (the transaction then rolls back
   * untouched).
   */
  run(tx: Tx): Promise<void>;
  /** The transaction rolled back (`run` ran or not): what `run` did was undone with it. */
  rolledBack(sql: Sql, error: unknown): Promise<void>;
}

/**
 * The user's transactions on `sql`. With a gate, each transaction first asks it what its first
 * statement is; without one (day.tick's runs), each is a plain asUser.
 */
export function userDb(sql: Sql, claims: UserClaims, gate: RequestGate | null = null): UserDb {
  if (gate === null) return { transaction: (fn) => asUser(sql, claims, fn) };
  const claimsJson = JSON.stringify(claims);
  return {
    transaction: (fn) =>
      timedTransaction(sql, async () => {
        const first = await gate.enter(sql, claimsJson);
        return first ? await gatedTransaction(sql, first, fn) : await beginAsUser(sql, claims, fn);
      }),
  };
}

/** A transaction whose first statement is the gate's (which sets the claims and role). */
async function gatedTransaction<T>(
  sql: Sql,
  first: GateStatement,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  try {
    const result = await sql.begin(async (tx) => {
      // Pipelined: the gate's statement, then the handler's, without waiting for the gate's
      // answer in between. Both settle before the transaction ends (a refused gate fails the
      // handler's statements fast), and the gate's refusal is the error that counts.
      const [gate, handled] = await Promise.allSettled([first.run(tx), fn(tx)]);
      if (gate.status === "rejected") throw gate.reason;
      if (handled.status === "rejected") throw handled.reason;
      return handled.value;
    });
    // postgres.js types `begin` as returning UnwrapPromiseArray<T>; for a non-array T it is T.
    return result as T;
  } catch (error) {
    await first.rolledBack(sql, error);
    throw error;
  }
}
