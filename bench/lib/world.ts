/**
 * What a benchmark runs against, on the shared harness (test/support): a migrated Postgres with
 * rate limits lifted, the reference agents in their own process, the stack in another (calling
 * those agents, as deployed), and learners with tokens. The load generator is a third process.
 */
import { type Cluster, enableStatStatements, openCluster } from "../../test/support/cluster.ts";
import { type FaultStack, relaxRateLimits } from "../../test/support/faults.ts";
import { OrchestratorClient } from "../../test/support/orchestrator_client.ts";
import { type ServerProcess, startServerProcess } from "../../test/support/server_process.ts";
import { createUsers, localServiceToken, type TestUser } from "../../test/support/users.ts";

export interface WorldOptions {
  /** Progress lines. */
  log: (line: string) => void;
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
}

export interface World {
  cluster: Cluster;
  stack: ServerProcess;
  agents: ServerProcess;
  api: OrchestratorClient;
  /** Fault plans of the agents process, for test/support/faults.ts. */
  faults: FaultStack;
  /** True when pg_stat_statements counts the statements. */
  statStatements: boolean;
  /** `n` new learners of the stack. */
  users(n: number): Promise<TestUser[]>;
  stop(): Promise<void>;
}

export async function openWorld(options: WorldOptions): Promise<World> {
  const cluster = await openCluster({ log: options.log });
  const started: ServerProcess[] = [];
  const stop = async () => {
    await Promise.allSettled(started.map((p) => p.stop()));
    await cluster.stop();
  };
  try {
    const statStatements = options.statStatements ? await enableStatStatements(cluster) : false;
    if (options.relaxRateLimits ?? true) await relaxRateLimits({ sql: cluster.admin });
    const agents = await startServerProcess({ kind: "agents" });
    started.push(agents);
    const stack = await startServerProcess({
      kind: "stack",
      databaseUrl: cluster.url,
      agentsUrl: agents.url,
      poolMax: options.poolMax,
      logFile: options.logFile,
      inspectPort: options.inspectPort,
    });
    started.push(stack);
    options.log(`stack ${stack.url} (pool ${stack.poolMax}), agents ${agents.url}`);
    return {
      cluster,
      stack,
      agents,
      api: new OrchestratorClient(stack.functionsUrl),
      faults: {
        functionsUrl: agents.functionsUrl,
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
