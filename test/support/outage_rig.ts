/**
 * Everything a database-outage drill runs against: the served stack (served_stack.ts) on a
 * throwaway cluster that can be stopped and started, with rate limits lifted; agents answering
 * after a fixed latency; learners. Shared by `deno task db-faults` and
 * `test/e2e/db_outage.test.ts`.
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
      close: served.stop,
    };
  } catch (error) {
    await served.stop().catch(() => {});
    throw error;
  }
}
