/**
 * `deno task test`: runs every test (spec 4) and ends with exactly one line, `N passed, N failed`.
 *
 * Integration tests need a real Postgres: TEST_DATABASE_URL if set; else a throwaway cluster
 * from the system's initdb/pg_ctl, started here for the whole run; else none, and each test
 * file falls back to an embedded PGlite. Extra arguments go to `deno test` (paths, --filter).
 */
import { findPgBinaries, type PgCluster, startPgCluster } from "./pg_cluster.ts";

export interface TestSummary {
  passed: number;
  failed: number;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
/** `ok | 12 passed (40 steps) | 0 failed (3s)` or `FAILED | 11 passed | 1 failed (...)`. */
const SUMMARY = /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/m;

/** Reads Deno's final summary line out of `deno test` output; null when there is none. */
export function parseSummary(output: string): TestSummary | null {
  const lines = output.replace(ANSI, "").split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = SUMMARY.exec(lines[i]);
    if (match !== null) return { passed: Number(match[1]), failed: Number(match[2]) };
  }
  return null;
}

interface Sink {
  write(bytes: Uint8Array): Promise<number>;
}

/** Copies a child's stream to ours while keeping the text for parsing. */
async function tee(stream: ReadableStream<Uint8Array>, sink: Sink): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    // write() may take only part of the chunk.
    for (let offset = 0; offset < chunk.length;) {
      offset += await sink.write(chunk.subarray(offset));
    }
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/** True when an argument names an existing file or directory (a test path, not a flag value). */
function isPath(arg: string): boolean {
  if (arg.startsWith("-")) return false;
  try {
    Deno.statSync(arg);
    return true;
  } catch {
    return false;
  }
}

async function main(args: string[]): Promise<number> {
  const env: Record<string, string> = { WISELY_LOCAL_STACK: "1" };
  let cluster: PgCluster | null = null;
  if (!Deno.env.get("TEST_DATABASE_URL")?.trim()) {
    if (findPgBinaries() !== null) {
      try {
        cluster = await startPgCluster();
        env.TEST_DATABASE_URL = cluster.url;
        console.error(`Test Postgres cluster at ${cluster.url}`);
      } catch (error) {
        console.error("Could not start a Postgres cluster; tests use embedded PGlite.", error);
      }
    } else {
      console.error("No initdb/pg_ctl found; tests use embedded PGlite.");
    }
  }

  // Stop the cluster however the run ends, including Ctrl-C.
  const stopCluster = async () => {
    const running = cluster;
    cluster = null;
    if (running !== null) {
      await running.stop().catch((error) => console.error("Stopping the cluster failed:", error));
    }
  };
  const onSignal = () => {
    stopCluster().finally(() => Deno.exit(130));
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);

  try {
    const testArgs = ["test", "--allow-all", "--no-check=remote", ...args];
    if (!args.some(isPath)) testArgs.push("test/");
    const child = new Deno.Command(Deno.execPath(), {
      args: testArgs,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const [out, err, status] = await Promise.all([
      tee(child.stdout, Deno.stdout),
      tee(child.stderr, Deno.stderr),
      child.status,
    ]);
    const summary = parseSummary(out) ?? parseSummary(err) ?? { passed: 0, failed: 0 };
    await stopCluster();
    console.log(`${summary.passed} passed, ${summary.failed} failed`);
    if (status.code !== 0) return status.code;
    // A green exit that ran nothing, or a summary that disagrees, is not a pass.
    return summary.passed > 0 && summary.failed === 0 ? 0 : 1;
  } finally {
    await stopCluster();
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
