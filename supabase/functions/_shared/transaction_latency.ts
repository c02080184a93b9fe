/**
 * How long a pool's user transactions take lately (a decaying maximum per pool), waiting for a
 * connection included: what a transaction started now should expect. day.run sizes the time it
 * keeps back for storing its result from it.
 */
import type { Sql } from "./db.ts";
import { DecayingMax } from "./decaying_max.ts";

const transactionLatency = new WeakMap<Sql, DecayingMax>();

/** The decaying maximum of this pool's recent user transactions, in ms (0 before the first). */
export function recentTransactionMs(sql: Sql): number {
  return transactionLatency.get(sql)?.value() ?? 0;
}

/** Runs `transaction` (one user transaction on `sql`) and records how long it took. */
export async function timedTransaction<T>(sql: Sql, transaction: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await transaction();
  } finally {
    let latency = transactionLatency.get(sql);
    if (!latency) transactionLatency.set(sql, latency = new DecayingMax());
    latency.observe(performance.now() - started);
  }
}
