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
import { calendarRoutes, publicFunctionsUrl } from "./routes/calendar.ts";
import { dayDoneRoute } from "./routes/day_done.ts";
import { dayRunRoute } from "./routes/day_run.ts";
import { dayTickRoute } from "./routes/day_tick.ts";
import { healthRoute } from "./routes/health.ts";
import { intentControlRoutes } from "./routes/intent_controls.ts";
import { intentSyncRoute } from "./routes/intent_sync.ts";
import { metricsRoute } from "./routes/metrics.ts";
import { openApiRoute } from "./routes/openapi.ts";
import { sessionsRoute } from "./routes/sessions.ts";
import { statusRoutes } from "./routes/status.ts";
import { webhookDeliveryRoutes } from "./routes/webhook_deliveries.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { webhooksDeliverRoute } from "./routes/webhooks_deliver.ts";

export interface OrchestratorDeps {
  config: Config;
  sql: Sql;
  /** HTTP client for agent calls. Default: global fetch. */
  fetch?: typeof fetch;
  /** Default: JSON lines on stdout. */
  log?: Logger;
  /**
   * A request body must have arrived this long after the handler starts reading it, else 408
   * `REQUEST_TIMEOUT`. @default DEFAULT_BODY_READ_TIMEOUT_MS (10 s, `_shared/http/body.ts`)
   */
  bodyReadTimeoutMs?: number;
}

export const FUNCTION_NAME = "orchestrator";

export function createOrchestrator(deps: OrchestratorDeps): App {
  const log = deps.log ?? createLogger({ functionName: FUNCTION_NAME });
  const { sql, config } = deps;
  if (config.edgeServiceKey === null) {
    // Not a boot failure: day.run still answers, from the cache and fallbacks (degraded).
    log.warn("agents.no_service_key", {
      reason: "no EDGE_SERVICE_KEY, SUPABASE_SECRET_KEYS or SUPABASE_SERVICE_ROLE_KEY: " +
        "agent calls carry no credential",
    });
  }
  if (!config.local && config.dbUrlVariable === "SUPABASE_DB_URL") {
    log.warn("db.direct_connection", {
      reason: "WISELY_DB_URL is not set: every isolate holds direct Postgres connections; " +
        "set it to the transaction pooler (port 6543)",
    });
  }
  // Breakers, bulkheads and retry budgets live as long as the isolate: one set per orchestrator.
  const policies = createAgentPolicies();
  const runDeps = { sql, config, fetch: deps.fetch, policies };
  return createApp({
    functionName: FUNCTION_NAME,
    verifier: createTokenVerifier(config, log),
    log,
    sql,
    bodyReadTimeoutMs: deps.bodyReadTimeoutMs,
    routes: [
      healthRoute(sql),
      intentSyncRoute(),
      ...intentControlRoutes(),
      dayRunRoute(runDeps),
      dayDoneRoute(),
      dayTickRoute(runDeps),
      ...statusRoutes(),
      sessionsRoute(),
      metricsRoute(sql, policies),
      ...webhookRoutes({ sql, local: config.local }),
      ...webhookDeliveryRoutes(sql),
      webhooksDeliverRoute({ sql, local: config.local }),
      openApiRoute(),
      ...calendarRoutes(sql, {
        functionsUrl: publicFunctionsUrl(config),
        functionName: FUNCTION_NAME,
      }),
    ],
  });
}
