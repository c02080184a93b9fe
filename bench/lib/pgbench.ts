/**
 * The physical limit of a route (spec 10): its own transaction run by `pgbench`, the C client,
 * over the simple protocol, against the same database. The transaction is not written by hand:
 * the route's database step (route_sql.ts) runs once per user through a postgres.js pool whose
 * `debug` hook records every statement with its parameters, and those statements, parameters
 * inlined as literals, become the pgbench script: same statements, same claims, same
 * `set_config` of `request.jwt.claims` and role as `asUser` sends. Each pgbench client runs its
 * own user's transaction (`\if :client_id = k`), as each HTTP worker has its own user.
 */
import postgres from "postgres";
import { percentile } from "./stats.ts";

const PGBENCH_CANDIDATES = ["/usr/lib/postgresql/15/bin/pgbench", "pgbench"];

export interface Statement {
  text: string;
  /** As postgres.js serialised them; null is SQL NULL. */
  params: (string | null)[];
}

const JSON_TYPES = new Set([114, 3802]);

/** A parameter as text, as postgres.js serialises it before it binds it. */
function serialise(value: unknown, type: number): string | null {
  if (value === null || value === undefined) return null;
  if (JSON_TYPES.has(type)) return typeof value === "string" ? value : JSON.stringify(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "boolean") return value ? "t" : "f";
  if (Array.isArray(value)) {
    const element = (e: unknown) => {
      const text = serialise(e, 0);
      return text === null ? "NULL" : `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
    };
    return `{${value.map(element).join(",")}}`;
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A one-connection pool that records every statement it sends. */
export function recordingPool(url: string): { sql: postgres.Sql; take(): Statement[] } {
  let seen: Statement[] = [];
  const sql = postgres(url, {
    max: 1,
    prepare: false,
    onnotice: () => {},
    debug: (_connection, text, params, types) =>
      seen.push({ text, params: params.map((p, i) => serialise(p, types[i])) }),
  });
  const take = () => {
    const taken = seen;
    seen = [];
    return taken;
  };
  return { sql, take };
}

/** `'it''s'`, or NULL: a literal the server types from its context, as it does a parameter. */
function literal(value: string | null): string {
  return value === null ? "NULL" : `'${value.replaceAll("'", "''")}'`;
}

/**
 * The statement with `$n` replaced by its literal and `;`-terminated. Its lines stay as they
 * are: a `--` comment in the route's SQL ends at its line.
 */
export function inline(statement: Statement): string {
  const text = statement.text.replace(/\$(\d+)/g, (_, n) => literal(statement.params[n - 1]));
  return `${text.trim().replace(/;$/, "")};`;
}

/** A pgbench script: client k runs `transactions[k % length]`. */
export function pgbenchScript(transactions: Statement[][]): string {
  const lines: string[] = [];
  transactions.forEach((tx, k) => {
    lines.push(
      k === 0
        ? `\\if :client_id % ${transactions.length} = 0`
        : `\\elif :client_id % ${transactions.length} = ${k}`,
    );
    lines.push(...tx.map(inline));
  });
  lines.push("\\endif");
  return lines.join("\n") + "\n";
}

export interface PgbenchResult {
  clients: number;
  transactions: number;
  tps: number;
  /** Per-transaction latency from the --log files, ms. */
  p50: number;
  p95: number;
  /** Failed or aborted transactions/clients pgbench reported (0 when everything ran). */
  failures: number;
}

export interface PgbenchRun {
  url: string;
  script: string;
  clients: number;
  /** pgbench threads. @default min(clients, 2) */
  threads?: number;
  seconds: number;
}

function pgbenchPath(): string {
  return PGBENCH_CANDIDATES.find((path) => {
    try {
      return path.includes("/") ? Deno.statSync(path).isFile : true;
    } catch {
      return false;
    }
  })!;
}

/** Runs pgbench (`-n -M simple --log`) and reads tps and latency percentiles. */
export async function runPgbench(run: PgbenchRun): Promise<PgbenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "wisely-pgbench-" });
  try {
    await Deno.writeTextFile(`${dir}/tx.sql`, run.script);
    const args = ["-n", "-M", "simple", "-f", `${dir}/tx.sql`, "-c", String(run.clients)];
    args.push("-j", String(run.threads ?? Math.min(run.clients, 2)), "-T", String(run.seconds));
    args.push("--log", `--log-prefix=${dir}/log`, run.url);
    const out = await new Deno.Command(pgbenchPath(), { args, stdout: "piped", stderr: "piped" })
      .output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const latencies: number[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.name.startsWith("log")) continue;
      for (const line of (await Deno.readTextFile(`${dir}/${entry.name}`)).split("\n")) {
        // client_id transaction_no time_us script_no epoch epoch_us
        const us = Number(line.split(" ")[2]);
        if (line && Number.isFinite(us)) latencies.push(us / 1000);
      }
    }
    latencies.sort((a, b) => a - b);
    const tps = Number(/tps = ([\d.]+) \(without initial/.exec(text)?.[1] ?? NaN);
    const failed = Number(/number of failed transactions: (\d+)/.exec(text)?.[1] ?? 0);
    const aborted = (text.match(/aborted in command/g) ?? []).length;
    if (!out.success && latencies.length === 0) {
      throw new Error(`pgbench failed:\n${text}\nscript:\n${run.script.slice(0, 6000)}`);
    }
    return {
      clients: run.clients,
      transactions: latencies.length,
      tps,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      failures: failed + aborted,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
