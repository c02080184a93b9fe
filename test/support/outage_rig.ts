/**
 * Everything a database-outage drill runs against: a throwaway cluster that can be stopped and
 * started, migrated, with rate limits lifted; a stack in its own process (so a crash there is a
 * failed check, not a crashed caller); agents answering after a fixed latency; learners.
 * Shared by `deno task db-faults` and `test/e2e/db_outage.test.ts`.
 */
import type { PgControl } from "../../dev/pg_control.ts";
import { type Cluster, openCluster } from "./cluster.ts";
import { relaxRateLimits, setAllFaults } from "./faults.ts";
import { OrchestratorClient } from "./orchestrator_client.ts";
import type { DrillOptions } from "./outage_drill.ts";
import { type ServerProcess, startServerProcess } from "./server_process.ts";
import { createUsers, localServiceToken, type TestUser } from "./users.ts";

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

export interface OutageRig {
  cluster: Cluster;
  control: PgControl;
  stack: ServerProcess;
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
  // Always a throwaway cluster: the drill stops it.
  const cluster = await openCluster({ url: null, adminMax: 2 });
  let stack: ServerProcess | null = null;
  const close = async () => {
    await stack?.stop().catch(() => {});
    await cluster.stop();
  };
  try {
    // The drill is about the database, not rate limits: its learners retry far faster than people.
    await relaxRateLimits({ sql: cluster.admin });
    stack = await startServerProcess({
      kind: "stack",
      databaseUrl: cluster.url,
      agentFaults: true,
      poolMax: options.poolMax,
      logFile: options.logFile,
    });
    const latency = options.agentLatencyMs;
    await setAllFaults(
      { functionsUrl: stack.functionsUrl, serviceToken: localServiceToken, sql: cluster.admin },
      latency > 0 ? [{ fault: { latency_ms: latency }, count: "always" }] : [],
    );
    const users = await createUsers(cluster.admin, options.learners, { issuer: stack.issuer! });
    const running = stack;
    const control = cluster.control!;
    return {
      cluster,
      control,
      stack,
      users,
      targets: {
        api: new OrchestratorClient(stack.functionsUrl),
        functionsUrl: stack.functionsUrl,
        admin: cluster.admin,
        databaseUrl: cluster.url,
        control,
        users,
        serverAlive: () => running.exitStatus() === null,
      },
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}
