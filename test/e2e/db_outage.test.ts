/**
 * The database-outage drill (issue 4 item 3), small enough for CI: learners use the served stack
 * while its Postgres is stopped (`pg_ctl stop -m fast`) and started again. Requests during the
 * outage answer 503 DATABASE_UNAVAILABLE with Retry-After, never hang past a generous bound or
 * answer another 5xx; the service comes back by itself; nothing is half-written or lost. The
 * checks live in test/support/outage_drill.ts, shared with `bench/db_faults.ts`.
 *
 * Needs the system's initdb/pg_ctl (it stops its own throwaway cluster, never TEST_DATABASE_URL);
 * ignored without them. The stack runs in a child process, so a crash there is a failed check,
 * not a crashed test runner.
 */
import assert from "node:assert/strict";
import { findPgBinaries } from "../../dev/pg_cluster.ts";
import { runOutageDrill } from "../support/outage_drill.ts";
import { startOutageRig } from "../support/outage_rig.ts";

Deno.test({
  name: "[postgres] a database outage under load: 503s, recovery, nothing half-written",
  ignore: findPgBinaries() === null,
  // The child process and the cluster are ours and stopped in `finally`.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const logFile = await Deno.makeTempFile({ prefix: "wisely-db-outage-", suffix: ".log" });
    // Agents answer after 100 ms, so some runs are between their two transactions when the
    // database stops.
    const rig = await startOutageRig({ learners: 20, agentLatencyMs: 100, logFile });
    const { stack } = rig;
    try {
      const result = await runOutageDrill({
        ...rig.targets,
        beforeMs: 2_000,
        outageMs: 4_000,
        afterMs: 12_000,
        recoverWithinMs: 6_000,
        // A bound on each request, far above any healthy answer: a request still open after it
        // is a hang.
        timeoutMs: 10_000,
        pauseAfterErrorMs: 200,
      });
      const failed = result.checks.filter((c) => !c.ok);
      const report = [
        ...result.checks.map((c) => `${c.ok ? "ok" : "FAIL"} ${c.name}: ${c.detail}`),
        ...result.probeErrors.map((e) =>
          `postgres.js raised ${e.count}× ${e.name} ${e.code} → recognised ${e.recognised}`
        ),
        ...(stack.exitStatus() ? ["stack stderr:", ...stack.stderrTail().slice(-15)] : []),
        "timeline:",
        ...result.timeline,
        "the stack's last database errors (route, error name, code):",
        ...(failed.length ? await lastDatabaseErrors(logFile) : []),
      ].join("\n");
      assert.equal(failed.length, 0, report);
    } finally {
      await rig.close();
      await Deno.remove(logFile).catch(() => {});
    }
  },
});

/** The stack's last `db.unavailable` log lines, so a failed recovery says which error it was. */
async function lastDatabaseErrors(logFile: string): Promise<string[]> {
  const lines = (await Deno.readTextFile(logFile)).split("\n");
  return lines.filter((line) => line.includes('"db.unavailable"')).slice(-8).map((line) => {
    const fields: Record<string, unknown> = JSON.parse(line);
    return `  ${fields.timestamp} ${fields.route} ${fields.error_name} ${fields.error_code}`;
  });
}
