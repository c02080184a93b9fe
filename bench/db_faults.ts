/**
 * The database-fault drill (issue 4 item 3): learners use the served stack while its Postgres is
 * stopped (`pg_ctl stop -m fast`) and started again, without restarting the stack. Prints the
 * checks (see bench/lib/outage.ts), a per-second timeline, the errors postgres.js raised and
 * whether the orchestrator recognised them, and what the orchestrator logged.
 *
 * Always runs on a throwaway cluster of its own (it stops the server). Exit code 1 when a check
 * fails. Sizes are flags (`--help`).
 */
import { parseArgs } from "node:util";
import { machineInfo, machineLines } from "./lib/machine.ts";
import { runOutageDrill } from "./lib/outage.ts";
import { startOutageRig } from "./lib/outage_rig.ts";

const HELP = `deno task db-faults [flags]
  --users N           concurrent learners (default 100)
  --before-s S        load before Postgres stops (default 5)
  --outage-s S        how long Postgres stays down (default 10)
  --after-s S         load after Postgres is back; recovery must happen within (default 15)
  --timeout-ms MS     bound on each request: later is a hang (default 10000)
  --agent-latency MS  reference agents' latency, so runs are mid-flight when Postgres stops
                      (default 100)
  --pause-ms MS       a learner's pause after a failed request (default 200)
  --recover-s S       requests started this long after Postgres is back must all succeed
                      (default 5)
  --pool N            stack pool size
  --log-file PATH     the stack's request log (default: a temporary file, summarised)`;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    help: { type: "boolean", default: false },
    users: { type: "string", default: "100" },
    "before-s": { type: "string", default: "5" },
    "outage-s": { type: "string", default: "10" },
    "after-s": { type: "string", default: "15" },
    "timeout-ms": { type: "string", default: "10000" },
    "agent-latency": { type: "string", default: "100" },
    "pause-ms": { type: "string", default: "200" },
    "recover-s": { type: "string", default: "5" },
    pool: { type: "string" },
    "log-file": { type: "string" },
  },
});
if (flags.help) {
  console.log(HELP);
  Deno.exit(0);
}

const log = (line: string) => console.error(`[db-faults] ${line}`);
const logFile = flags["log-file"] ??
  await Deno.makeTempFile({ prefix: "wisely-db-faults-", suffix: ".log" });
const latency = Number(flags["agent-latency"]);
const rig = await startOutageRig({
  learners: Number(flags.users),
  agentLatencyMs: latency,
  logFile,
  poolMax: flags.pool ? Number(flags.pool) : undefined,
});
const { stack, users, control } = rig;
try {
  const machine = await machineInfo(rig.admin);
  log(
    `${users.length} learners against ${stack.url} (pool max ${stack.poolMax}); data ${control.dataDir}`,
  );

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

  console.log("# Database-fault drill\n");
  console.log(`\`deno task db-faults ${Deno.args.join(" ")}\`\n`);
  for (const line of machineLines(machine)) console.log(line);
  console.log(
    `- ${users.length} learners; agents answer after ${latency} ms; Postgres stopped at ` +
      `${(result.stopBegan / 1000).toFixed(1)} s (down by ${
        (result.stopEnded / 1000).toFixed(1)
      } s), ` +
      `started at ${(result.startBegan / 1000).toFixed(1)} s, accepting at ` +
      `${(result.startEnded / 1000).toFixed(1)} s`,
  );
  console.log("\n## Checks\n");
  for (const c of result.checks) console.log(`- ${c.ok ? "ok" : "FAIL"} — ${c.name}: ${c.detail}`);
  console.log("\n## Errors postgres.js raised (probe pool, `select 1` every 100 ms)\n");
  for (const e of result.probeErrors) {
    console.log(
      `- ${e.count}× ${e.name} code=${e.code || "-"} errno=${e.errno || "-"} ` +
        `"${e.message}" → isDatabaseUnavailable ${e.recognised}`,
    );
  }
  console.log("\n## What the orchestrator logged (errors only)\n");
  for (const line of await summariseLog(logFile)) console.log(`- ${line}`);
  const exit = stack.exitStatus();
  if (exit) {
    console.log(
      `\n## The stack process EXITED during the drill (code ${exit.code}); its stderr:\n`,
    );
    for (const line of stack.stderrTail().slice(-30)) console.log(`    ${line}`);
  }
  console.log("\n## Timeline (answers per second, by route and status)\n");
  for (const line of result.timeline) console.log(`    ${line}`);
  if (result.checks.some((c) => !c.ok)) Deno.exitCode = 1;
} finally {
  await rig.close();
  if (!flags["log-file"]) await Deno.remove(logFile).catch(() => {});
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
