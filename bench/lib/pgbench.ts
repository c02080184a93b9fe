/**
 * The physical limit of a route (spec 10): its own transaction run by `pgbench`, the C client,
 * over the simple protocol, against the same database. The transaction is not written by hand:
 * the route's database step (routes.ts) runs once per user through a postgres.js pool whose
 * `debug` hook records every statement with its parameters, and those statements, parameters
 * inlined as literals, become the pgbench script: same statements, same claims, same
 * `set_config` of `request.jwt.claims` and role as `asUser` sends. Each pgbench client runs its
 * own user's transaction (`\if :client_id = k`), as each HTTP worker has its own user.
 */
import postgres from "postgres";
import { findPgBinaries } from "../../dev/pg_cluster.ts";
import { percentile } from "./stats.ts";

/**
 * A statement as postgres.js's `debug` hook saw it. postgres.js serialises each parameter in
 * place when it binds it (connection.js, `Bind`), by the type the server described, so once the
 * query has run `params` holds the text that went on the wire (null: SQL NULL).
 */
type Statement = { text: string; params: unknown[] };

/** A transaction to record: what it sends through `sql` is what pgbench runs. */
export type Step = (sql: postgres.Sql) => Promise<unknown>;

/** What each of `steps` sent, run one after another on a one-connection recording pool. */
async function recordTransactions(url: string, steps: Step[]): Promise<Statement[][]> {
  let seen: Statement[] = [];
  const debug = (_: number, text: string, params: unknown[]) => seen.push({ text, params });
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {}, debug });
  try {
    // The first query of a connection also fetches the array types: not the route's.
    await sql`select 1`;
    const transactions = [];
    for (const step of steps) {
      seen = [];
      await step(sql);
      transactions.push(seen);
    }
    return transactions;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * The statement with `$n` replaced by its literal (`'it''s'` or NULL, typed by the server from
 * its context as a parameter is) and `;`-terminated. Its lines stay as they are: a `--` comment
 * in the route's SQL ends at its line.
 */
function inline({ text, params }: Statement): string {
  const literal = (v: unknown) => {
    if (v === null) return "NULL";
    if (typeof v !== "string") throw new Error(`pgbench: postgres.js sent a ${typeof v} as is`);
    return `'${v.replaceAll("'", "''")}'`;
  };
  const inlined = text.replace(/\$(\d+)/g, (_, n) => literal(params[n - 1]));
  return `${inlined.trim().replace(/;$/, "")};`;
}

/** A pgbench script: client k runs `transactions[k % length]`. */
function pgbenchScript(transactions: Statement[][]): string {
  const n = transactions.length;
  const lines = transactions.flatMap((tx, k) => [
    k === 0 ? `\\if :client_id % ${n} = 0` : `\\elif :client_id % ${n} = ${k}`,
    ...tx.map(inline),
  ]);
  return [...lines, "\\endif"].join("\n") + "\n";
}

/** Per-transaction latencies (ms) from pgbench's `--log` files in `dir`. */
async function loggedLatencies(dir: string): Promise<number[]> {
  const latencies: number[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith("log")) continue;
    for (const line of (await Deno.readTextFile(`${dir}/${entry.name}`)).split("\n")) {
      // client_id transaction_no time_us script_no epoch epoch_us
      const us = Number(line.split(" ")[2]);
      if (line && Number.isFinite(us)) latencies.push(us / 1000);
    }
  }
  return latencies.sort((a, b) => a - b);
}

/** The pgbench of the clusters' PostgreSQL (beside its initdb), else the PATH's. */
function pgbenchCommand(): string {
  const initdb = findPgBinaries()?.initdb;
  return initdb ? Deno.realPathSync(initdb).replace(/initdb$/, "pgbench") : "pgbench";
}

/**
 * Records `steps` and runs them with pgbench (`-n -M simple -c clients -j min(clients, 2) --log`)
 * for `seconds`: the transactions it ran, tps, p50/p95 of their latency (from the --log files, ms),
 * the failed or aborted transactions it reported, and the statements in a transaction.
 */
export async function runPgbench(url: string, steps: Step[], clients: number, seconds: number) {
  const transactions = await recordTransactions(url, steps);
  const script = pgbenchScript(transactions);
  const dir = await Deno.makeTempDir({ prefix: "wisely-pgbench-" });
  try {
    await Deno.writeTextFile(`${dir}/tx.sql`, script);
    const [c, j, t] = [clients, Math.min(clients, 2), seconds].map(String);
    const args = ["-n", "-M", "simple", "-f", `${dir}/tx.sql`, "-c", c, "-j", j, "-T", t, "--log"];
    args.push(`--log-prefix=${dir}/log`, url);
    const out = await new Deno.Command(pgbenchCommand(), { args }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const latencies = await loggedLatencies(dir);
    if (!out.success && latencies.length === 0) {
      throw new Error(`pgbench failed:\n${text}\nscript:\n${script.slice(0, 6000)}`);
    }
    const failed = Number(/number of failed transactions: (\d+)/.exec(text)?.[1] ?? 0);
    return {
      count: latencies.length,
      tps: Number(/tps = ([\d.]+) \(without initial/.exec(text)?.[1] ?? NaN),
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      failures: failed + (text.match(/aborted in command/g) ?? []).length,
      statements: transactions[0].length,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
