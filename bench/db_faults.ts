/**
 * The database-fault drill (issue 4 item 3): learners use the served stack while its Postgres is
 * stopped (`pg_ctl stop -m fast`) and started again, without restarting the stack. Prints the
 * checks (see test/support/outage_drill.ts), a per-second timeline, the errors postgres.js raised and
 * whether the orchestrator recognised them, and what the orchestrator logged.
 *
 * Always runs on a throwaway cluster of its own (it stops the server). Exit code 1 when a check
 * fails. Sizes are flags (see `parseArgs` below).
 */
import { parseArgs } from "node:util";
import { machineLines } from "./lib/machine.ts";
import { type DrillResult, runOutageDrill } from "../test/support/outage_drill.ts";
import { type OutageRig, startOutageRig } from "../test/support/outage_rig.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    users: { type: "string", default: "100" },
    "before-s": { type: "string", default: "5" },
    "outage-s": { type: "string", default: "10" },
    // Load after Postgres is back; requests from `recover-s` after it must all succeed.
    "after-s": { type: "string", default: "15" },
    "recover-s": { type: "string", default: "5" },
    // Bound on each request: later is a hang.
    "timeout-ms": { type: "string", default: "10000" },
    // Agents answer after this long, so runs are mid-flight when Postgres stops.
    "agent-latency": { type: "string", default: "100" },
    // A learner's pause after a failed request.
    "pause-ms": { type: "string", default: "200" },
    pool: { type: "string" },
    // The stack's request log; default a temporary file, summarised.
    "log-file": { type: "string" },
  },
});

function report(result: DrillResult, rig: OutageRig, machine: string[], logLines: string[]) {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = [
    "# Database-fault drill\n",
    `\`deno task db-faults ${Deno.args.join(" ")}\`\n`,
    ...machine,
    `- ${rig.users.length} learners; agents answer after ${flags["agent-latency"]} ms; Postgres ` +
    `stopped at ${s(result.stopBegan)} (down by ${s(result.stopEnded)}), started at ` +
    `${s(result.startBegan)}, accepting at ${s(result.startEnded)}`,
    "\n## Checks\n",
    ...result.checks.map((c) => `- ${c.ok ? "ok" : "FAIL"} — ${c.name}: ${c.detail}`),
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
  const logFile = flags["log-file"] ??
    await Deno.makeTempFile({ prefix: "wisely-db-faults-", suffix: ".log" });
  const rig = await startOutageRig({
    learners: Number(flags.users),
    agentLatencyMs: Number(flags["agent-latency"]),
    logFile,
    poolMax: flags.pool ? Number(flags.pool) : undefined,
  });
  try {
    const machine = await machineLines(rig.cluster.admin);
    log(`${rig.users.length} learners against ${rig.stack.url}; data ${rig.control.dataDir}`);
    const result = await runOutageDrill({
      ...rig.targets,
      beforeMs: Number(flags["before-s"]) * 1000,
      outageMs: Number(flags["outage-s"]) * 1000,
      afterMs: Number(flags["after-s"]) * 1000,
      timeoutMs: Number(flags["timeout-ms"]),
      pauseAfterErrorMs: Number(flags["pause-ms"]),
      recoverWithinMs: Number(flags["recover-s"]) * 1000,
      log,
    });
    console.log(report(result, rig, machine, await summariseLog(logFile)));
    if (result.checks.some((c) => !c.ok)) Deno.exitCode = 1;
  } finally {
    await rig.close();
    if (!flags["log-file"]) await Deno.remove(logFile).catch(() => {});
  }
}

/** Counts the orchestrator's warn/error log lines by event, status, error name and code. */
async function summariseLog(path: string): Promise<string[]> {
  const counts = new Map<string, number>();
  const text = await Deno.readTextFile(path).catch(() => "");
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.level !== "warn" && entry.level !== "error") continue;
    const key = [
      entry.level,
      entry.event,
      entry.route,
      entry.error_name && `error_name=${entry.error_name}`,
      entry.error_code && `error_code=${entry.error_code}`,
      entry.status && `status=${entry.status}`,
    ].filter(Boolean).join(" ");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort(([, a], [, b]) => b - a).map(([k, n]) => `${n}× ${k}`);
}

await main();
