/**
 * Everything a database-outage drill runs against: a throwaway cluster that can be stopped and
 * started, migrated, with rate limits lifted; a stack in its own process (so a crash there is a
 * failed check, not a crashed caller); agents answering after a fixed latency; learners.
 * Shared by `deno task db-faults` and `test/e2e/db_outage.test.ts`.
 */
import postgres from "postgres";
import { migrate } from "../../dev/migrate.ts";
import { attachPgControl, type PgControl } from "../../dev/pg_control.ts";
import { type PgCluster, startPgCluster } from "../../dev/pg_cluster.ts";
import { OrchestratorClient } from "./client.ts";
import type { DrillOptions } from "./outage.ts";
import { type ServerProcess, startServerProcess } from "./server_proc.ts";
import { type BenchUser, createUsers, relaxRateLimits, serviceJwt, setAllFaults } from "./world.ts";

export interface OutageRigOptions {
  /** Learners to create. */
  learners: number;
  /** How long every agent takes to answer, so runs are in flight when the database stops. */
  agentLatencyMs: number;
  /** Where the stack writes its request log. */
  logFile: string;
  /** Stack pool size. Default: the stack's. */
  poolMax?: number;
}

export interface OutageRig {
  cluster: PgCluster;
  /** Superuser pool on the drill's database. */
  admin: postgres.Sql;
  control: PgControl;
  stack: ServerProcess;
  users: BenchUser[];
  /** The parts of `runOutageDrill`'s options that describe this rig. */
  targets: Pick<
    DrillOptions,
    "api" | "functionsUrl" | "admin" | "databaseUrl" | "control" | "users" | "serverAlive"
  >;
  /** Stops the stack, the pool and the cluster (each even if another fails). */
  close(): Promise<void>;
}

export async function startOutageRig(options: OutageRigOptions): Promise<OutageRig> {
  const cluster = await startPgCluster();
  const admin = postgres(cluster.url, { max: 2, prepare: false, onnotice: () => {} });
  let stack: ServerProcess | null = null;
  const close = async () => {
    await stack?.stop().catch(() => {});
    await admin.end({ timeout: 2 }).catch(() => {});
    await cluster.stop();
  };
  try {
    await migrate(admin, { bootstrap: true });
    // The drill is about the database, not rate limits: its learners retry far faster than people.
    await relaxRateLimits(admin);
    const control = await attachPgControl(cluster.url);
    stack = await startServerProcess({
      mode: "stack",
      databaseUrl: cluster.url,
      migrate: false,
      agentFaults: true,
      poolMax: options.poolMax,
      logFile: options.logFile,
    });
    await setAllFaults(
      stack.functionsUrl,
      await serviceJwt(),
      options.agentLatencyMs > 0
        ? [{ fault: { latency_ms: options.agentLatencyMs }, count: "always" }]
        : [],
    );
    const users = await createUsers(
      admin,
      options.learners,
      stack.issuer ?? `${stack.url}/auth/v1`,
    );
    const running = stack;
    return {
      cluster,
      admin,
      control,
      stack,
      users,
      targets: {
        api: new OrchestratorClient(stack.functionsUrl),
        functionsUrl: stack.functionsUrl,
        admin,
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
