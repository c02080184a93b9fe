/**
 * Webhook endpoints (spec 12), service role only: `POST webhooks` registers one (its URL
 * checked against the rules in _shared/webhooks/url_rules.ts; the signing secret in the answer
 * and never again), `GET webhooks` lists them without secrets, `DELETE webhooks/<id>` removes
 * one with its deliveries. Delivery itself never runs here (see _shared/webhooks/deliver.ts).
 */
import { z } from "zod";
import { asService, type Sql } from "../../_shared/db.ts";
import { ApiError, notFound } from "../../_shared/errors.ts";
import type { Route } from "../../_shared/http/app.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import { CreateWebhookBody } from "../../_shared/webhooks/schemas.ts";
import { newWebhookSecret } from "../../_shared/webhooks/signing.ts";
import { checkWebhookUrl, type Resolver } from "../../_shared/webhooks/url_rules.ts";

export interface WebhookRouteDeps {
  sql: Sql;
  /** Inside the local stack (`config.local`): http and loopback receivers allowed. */
  local: boolean;
  /** @default denoResolver (Deno.resolveDns) */
  resolve?: Resolver;
}

export function urlRefused(reason: string): ApiError {
  return new ApiError(400, "WEBHOOK_URL_REFUSED", reason, {
    details: [{ path: ["url"], message: reason }],
  });
}

function createRoute(deps: WebhookRouteDeps): Route {
  return {
    method: "POST",
    path: "webhooks",
    auth: "service",
    async handle({ req }) {
      const body = await readJson(req, CreateWebhookBody);
      const verdict = await checkWebhookUrl(body.url, deps);
      if (!verdict.ok) throw urlRefused(verdict.reason);
      const secret = newWebhookSecret();
      const [row] = await asService(deps.sql, (tx) =>
        tx`
          insert into wisely.webhook_endpoints (url, events, description, secret)
          values (${verdict.url.href}, ${body.events}, ${body.description ?? null}, ${secret})
          returning id, url, events, description, created_at
        `);
      return json({ ...row, secret }, 201);
    },
  };
}

function listRoute(deps: WebhookRouteDeps): Route {
  return {
    method: "GET",
    path: "webhooks",
    auth: "service",
    async handle() {
      // Everything but the secret and the outbox bookkeeping.
      const rows = await asService(deps.sql, (tx) =>
        tx`
          select id, url, events, description, created_at, disabled_at, disabled_reason,
            last_success_at, failing_since
          from wisely.webhook_endpoints
          order by created_at, id
        `);
      return json({ webhooks: rows });
    },
  };
}

/** True for a UUID: anything else names no endpoint (404, never a 500 from the cast). */
export const isUuid = (text: string) => z.uuid().safeParse(text).success;

function deleteRoute(deps: WebhookRouteDeps): Route {
  return {
    method: "DELETE",
    path: "webhooks/:id",
    auth: "service",
    async handle({ params }) {
      const id = params.id;
      const deleted = !isUuid(id)
        ? []
        : await asService(deps.sql, (tx) =>
          tx`delete from wisely.webhook_endpoints where id = ${id} returning id`);
      if (deleted.length === 0) throw notFound("No webhook with that id.");
      return new Response(null, { status: 204 });
    },
  };
}

export function webhookRoutes(deps: WebhookRouteDeps): Route[] {
  return [createRoute(deps), listRoute(deps), deleteRoute(deps)];
}
