/**
 * The orchestrator function: its routes wired into the shared pipeline. `index.ts` serves it;
 * the local gateway and the tests call `createOrchestrator` with their own dependencies.
 */
import { createAgentPolicies } from "../_shared/agents/policies.ts";
import { createTokenVerifier } from "../_shared/auth.ts";
import type { Config } from "../_shared/config.ts";
import type { Sql } from "../_shared/db.ts";
import { type App, createApp } from "../_shared/http/app.ts";
import { createLogger, type Logger } from "../_shared/log.ts";
import { dayDoneRoute } from "./routes/day_done.ts";
import { dayRunRoute } from "./routes/day_run.ts";
import { dayTickRoute } from "./routes/day_tick.ts";
import { healthRoute } from "./routes/health.ts";
import { intentSyncRoute } from "./routes/intent_sync.ts";
import { metricsRoute } from "./routes/metrics.ts";
import { openApiRoute } from "./routes/openapi.ts";
import { sessionsRoute } from "./routes/sessions.ts";
import { statusRoute } from "./routes/status.ts";

export interface OrchestratorDeps {
  config: Config;
  sql: Sql;
  /** HTTP client for agent calls. Default: global fetch. */
  fetch?: typeof fetch;
  /** Default: JSON lines on stdout. */
  log?: Logger;
}

export const FUNCTION_NAME = "orchestrator";

export function createOrchestrator(deps: OrchestratorDeps): App {
  const log = deps.log ?? createLogger({ functionName: FUNCTION_NAME });
  const { sql, config } = deps;
  // Breakers, bulkheads and retry budgets live as long as the isolate: one set per orchestrator.
  const policies = createAgentPolicies();
  const runDeps = { sql, config, fetch: deps.fetch, policies };
  return createApp({
    functionName: FUNCTION_NAME,
    verifier: createTokenVerifier(config, log),
    log,
    routes: [
      healthRoute(sql),
      intentSyncRoute(sql),
      dayRunRoute(runDeps),
      dayDoneRoute(sql),
      dayTickRoute(runDeps),
      statusRoute(sql),
      sessionsRoute(sql),
      metricsRoute(sql, policies),
      openApiRoute(),
    ],
  });
}
