/**
 * Everything a database-outage drill runs against: the served stack (served_stack.ts) on a
 * throwaway cluster that can be stopped and started, with rate limits lifted; agents answering
 * after a fixed latency; learners; and what the stack logged, counted. Shared by `deno task
 * db-faults` and `test/e2e/db_outage.test.ts`.
 */
import type { PgControl } from "../../dev/pg_control.ts";
import { setAllFaults } from "./faults.ts";
import type { DrillOptions } from "./outage_drill.ts";
import { type ServedStack, startServedStack } from "./served_stack.ts";
import type { TestUser } from "./users.ts";

export interface OutageRigOptions {
  /** Learners to create. */
  learners: number;
  /** How long every agent takes to answer, so runs are in flight when the database stops. */
  agentLatencyMs: number;
  /** Where the stack writes its request log. */
  logFile: string;
  /** Stack pool size. @default the stack's */
  poolMax?: number;
}

export interface OutageRig extends Omit<ServedStack, "users"> {
  control: PgControl;
  users: TestUser[];
  /** The parts of `runOutageDrill`'s options that describe this rig. */
  targets: Pick<
    DrillOptions,
    "api" | "functionsUrl" | "admin" | "databaseUrl" | "control" | "users" | "serverAlive"
  >;
  /** The stack's warn and error log lines so far, counted by what they say, most first. */
  logSummary(): Promise<string[]>;
  /** Stops the stack, the pool and the cluster (each even if another fails). */
  close(): Promise<void>;
}

export async function startOutageRig(options: OutageRigOptions): Promise<OutageRig> {
  // Always a throwaway cluster: the drill stops it. The drill is about the database, not rate
  // limits: its learners retry far faster than people (so they are lifted).
  const served = await startServedStack({
    databaseUrl: null,
    adminMax: 2,
    poolMax: options.poolMax,
    logFile: options.logFile,
  });
  try {
    const { cluster, stack, api } = served;
    const latency = options.agentLatencyMs;
    await setAllFaults(
      served.faults,
      latency > 0 ? [{ fault: { latency_ms: latency }, count: "always" }] : [],
    );
    const users = await served.users(options.learners);
    const control = cluster.control!;
    return {
      ...served,
      control,
      users,
      targets: {
        api,
        functionsUrl: stack.functionsUrl,
        admin: cluster.admin,
        databaseUrl: cluster.url,
        control,
        users,
        serverAlive: () => stack.exitStatus() === null,
      },
      logSummary: () => summariseLog(options.logFile),
      close: served.stop,
    };
  } catch (error) {
    await served.stop().catch(() => {});
    throw error;
  }
}

/** Counts the orchestrator's warn/error log lines by event, status, error name and code. */
async function summariseLog(path: string): Promise<string[]> {
  const counts = new Map<string, number>();
  for (const line of (await Deno.readTextFile(path).catch(() => "")).split("\n")) {
    let entry: Record<string, unknown> | null = null;
    try {
      entry = line.startsWith("{") ? JSON.parse(line) : null;
    } catch {
      // Not a log entry.
    }
    if (entry?.level !== "warn" && entry?.level !== "error") continue;
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
