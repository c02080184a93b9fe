/**
 * `POST webhooks.deliver` (service role): one bounded delivery pass (_shared/webhooks/
 * deliver.ts), how a hosted project delivers webhooks: Supabase Cron calls it every minute,
 * and optionally a pg_net trigger after each event insert (wisely.schedule_webhook_delivery,
 * migration 20260101001000). The local stack runs the same pass in its own loop instead.
 * It answers within `budget_ms` plus one attempt's timeout, inside pg_net's 60 s.
 */
import type { Route } from "../../_shared/http/app.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import type { Sql } from "../../_shared/db.ts";
import { runDeliveryPass } from "../../_shared/webhooks/deliver.ts";
import { DeliverBody } from "../../_shared/webhooks/schemas.ts";

export function webhooksDeliverRoute(deps: { sql: Sql; local: boolean }): Route {
  return {
    method: "POST",
    path: "webhooks.deliver",
    auth: "service",
    async handle({ req }) {
      const body = await readJson(req, DeliverBody);
      const result = await runDeliveryPass(deps.sql, {
        local: deps.local,
        budgetMs: body.budget_ms,
      });
      return json(result);
    },
  };
}
