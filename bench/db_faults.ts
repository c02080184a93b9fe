/**
 * The database-fault drill (issue 4 item 3), always on a throwaway cluster of its own: learners
 * use the served stack while its Postgres is stopped (`pg_ctl stop -m fast`) and started again,
 * without restarting the stack. Prints the checks (test/support/outage_drill.ts), a per-second
 * timeline, the errors postgres.js raised and whether the orchestrator recognised them, and what
 * the orchestrator logged. Exit code 1 when a check fails.
 */
import { checkLine } from "../test/support/integrity.ts";
import { type DrillResult, runOutageDrill } from "../test/support/outage_drill.ts";
import { type OutageRig, startOutageRig } from "../test/support/outage_rig.ts";
import { parseFlags } from "./lib/cli.ts";
import { machineLines } from "./lib/machine.ts";

const flags = parseFlags("deno task db-faults [flags]", {
  users: ["100", "learners"],
  "before-s": ["5", "seconds of load before Postgres stops"],
  "outage-s": ["10", "seconds Postgres stays down"],
  "after-s": ["15", "seconds of load after Postgres is back"],
  "recover-s": ["5", "requests from this long after Postgres is back must all succeed, s"],
  "timeout-ms": ["10000", "bound on each request: later is a hang"],
  "agent-latency": ["100", "agents answer after this long, so runs are mid-flight, ms"],
  "pause-ms": ["200", "a learner's pause after a failed request"],
  pool: ["", "stack pool size (empty: the stack's, 10)"],
  "log-file": ["", "the stack's request log (empty: a temporary file, summarised)"],
});

function report(result: DrillResult, rig: OutageRig, machine: string[], logLines: string[]) {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = [
    "# Database-fault drill\n",
    `\`deno task db-faults ${Deno.args.join(" ")}\`\n`,
    ...machine,
    `- ${rig.users.length} learners; agents answer after ${flags.str("agent-latency")} ms; ` +
    `Postgres stopped at ${s(result.stopBegan)} (down by ${s(result.stopEnded)}), started at ` +
    `${s(result.startBegan)}, accepting at ${s(result.startEnded)}`,
    "\n## Checks\n",
    ...result.checks.map(checkLine),
    "\n## Errors postgres.js raised (probe pool, `select 1` every 100 ms)\n",
    ...result.probeErrors.map((e) =>
      `- ${e.count}× ${e.name} code=${e.code || "-"} errno=${e.errno || "-"} "${e.message}" ` +
      `→ isDatabaseUnavailable ${e.recognised}`
    ),
    "\n## What the orchestrator logged (errors only)\n",
    ...logLines.map((line) => `- ${line}`),
  ];
  const exit = rig.stack.exitStatus();
  if (exit) {
    lines.push(`\n## The stack process EXITED during the drill (code ${exit.code}); its stderr:\n`);
    lines.push(...rig.stack.stderrTail().slice(-30).map((line) => `    ${line}`));
  }
  lines.push("\n## Timeline (answers per second, by route and status)\n");
  lines.push(...result.timeline.map((line) => `    ${line}`));
  return lines.join("\n");
}

async function main() {
  const log = (line: string) => console.error(`[db-faults] ${line}`);
  const logFile = flags.str("log-file") ||
    await Deno.makeTempFile({ prefix: "wisely-db-faults-", suffix: ".log" });
  const [learners, agentLatencyMs] = [flags.num("users"), flags.num("agent-latency")];
  const options = { learners, agentLatencyMs, logFile, poolMax: flags.optionalNum("pool") };
  const rig = await startOutageRig(options);
  try {
    const machine = await machineLines(rig.cluster.admin);
    log(`${rig.users.length} learners against ${rig.stack.url}; data ${rig.control.dataDir}`);
    const result = await runOutageDrill({
      ...rig.targets,
      beforeMs: flags.num("before-s") * 1000,
      outageMs: flags.num("outage-s") * 1000,
      afterMs: flags.num("after-s") * 1000,
      timeoutMs: flags.num("timeout-ms"),
      pauseAfterErrorMs: flags.num("pause-ms"),
      recoverWithinMs: flags.num("recover-s") * 1000,
      log,
    });
    console.log(report(result, rig, machine, await rig.logSummary()));
    if (result.checks.some((c) => !c.ok)) Deno.exitCode = 1;
  } finally {
    await rig.close();
    if (!flags.str("log-file")) await Deno.remove(logFile).catch(() => {});
  }
}

await main();
