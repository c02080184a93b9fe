/**
 * The stack served from a child process on a real Postgres, for benchmarks and drills: a migrated
 * database (cluster.ts) with the per-user rate limits lifted, the stack in its own process (so
 * whoever drives it shares no event loop with it, and a crash there is a failed check), the
 * reference agents in the stack or in a third process it calls as deployed, fault switches for
 * those agents, and learners with tokens.
 */
import { type Cluster, enableStatStatements, openCluster } from "./cluster.ts";
import { type FaultStack, relaxRateLimits } from "./faults.ts";
import { OrchestratorClient } from "./orchestrator_client.ts";
import { type ServerProcess, startServerProcess } from "./server_process.ts";
import { createUsers, localServiceToken, type TestUser } from "./users.ts";

export interface ServedStackOptions {
  /** The database (null: a throwaway cluster). @default env BENCH_DATABASE_URL, else null */
  databaseUrl?: string | null;
  /** Superuser pool size. @default 4 */
  adminMax?: number;
  /** Run the reference agents in a process of their own. @default false: in the stack */
  agentsProcess?: boolean;
  /** Stack pool size. @default the stack's (10) */
  poolMax?: number;
  /** Keep the stack's request log there. @default discarded */
  logFile?: string;
  /** Run the stack under the V8 inspector on this port. @default none */
  inspectPort?: number;
  /** Load pg_stat_statements (restarts a throwaway cluster). @default false */
  statStatements?: boolean;
  /** Lift the per-user rate limits. @default true */
  relaxRateLimits?: boolean;
  /** Progress lines. @default discarded */
  log?: (line: string) => void;
}

export interface ServedStack {
  cluster: Cluster;
  stack: ServerProcess;
  /** The process serving the reference agents: the stack itself unless `agentsProcess`. */
  agents: ServerProcess;
  api: OrchestratorClient;
  /** The agents' fault plans, for faults.ts. */
  faults: FaultStack;
  /** True when pg_stat_statements counts the statements. */
  statStatements: boolean;
  /** `n` new learners of the stack. */
  users(n: number): Promise<TestUser[]>;
  /** Stops the processes and the cluster (each even if another fails). */
  stop(): Promise<void>;
}

export async function startServedStack(options: ServedStackOptions = {}): Promise<ServedStack> {
  const log = options.log ?? (() => {});
  const cluster = await openCluster({ url: options.databaseUrl, adminMax: options.adminMax, log });
  const started: ServerProcess[] = [];
  const stop = async () => {
    await Promise.allSettled(started.map((p) => p.stop()));
    await cluster.stop();
  };
  try {
    const statStatements = options.statStatements ? await enableStatStatements(cluster) : false;
    if (options.relaxRateLimits ?? true) await relaxRateLimits({ sql: cluster.admin });
    const agents = options.agentsProcess ? await startServerProcess({ kind: "agents" }) : null;
    if (agents) started.push(agents);
    const stack = await startServerProcess({
      kind: "stack",
      databaseUrl: cluster.url,
      agentsUrl: agents?.url,
      agentFaults: !agents,
      poolMax: options.poolMax,
      logFile: options.logFile,
      inspectPort: options.inspectPort,
    });
    started.push(stack);
    log(`stack ${stack.url} (pool ${stack.poolMax})${agents ? `, agents ${agents.url}` : ""}`);
    const serving = agents ?? stack;
    return {
      cluster,
      stack,
      agents: serving,
      api: new OrchestratorClient(stack.functionsUrl),
      faults: {
        functionsUrl: serving.functionsUrl,
        serviceToken: localServiceToken,
        sql: cluster.admin,
      },
      statStatements,
      users: (n) => createUsers(cluster.admin, n, { issuer: stack.issuer! }),
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
