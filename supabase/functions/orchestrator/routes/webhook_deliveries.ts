/**
 * A webhook endpoint's deliveries (spec 12), service role only. `GET webhooks/<id>/deliveries`
 * lists them newest first by keyset pagination (`limit`, `cursor`; the next cursor in
 * `next_cursor` and `X-Next-Cursor`, as routes/sessions.ts), each with its attempts (status,
 * latency, response excerpt, error). `POST webhooks/<id>/deliveries/<delivery id>/retry`
 * requeues a delivery for now, with the retry schedule from its start; it goes out when it
 * reaches the head of the endpoint's queue (its place is its event's).
 */
import { z } from "zod";
import { asService, type Sql } from "../../_shared/db.ts";
import { notFound } from "../../_shared/errors.ts";
import { decodeCursor, encodeCursor } from "../../_shared/http/cursor.ts";
import type { Route } from "../../_shared/http/app.ts";
import { readQuery } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import { DeliveriesQuery } from "../../_shared/webhooks/schemas.ts";
import { isUuid } from "./webhooks.ts";

const CursorSchema = z.strictObject({ s: z.string().regex(/^[1-9]\d{0,17}$/) });

async function endpointExists(sql: Sql, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const rows = await asService(
    sql,
    (tx) => tx`select 1 from wisely.webhook_endpoints where id = ${id}`,
  );
  return rows.length > 0;
}

/** Newest attempts kept per delivery in the listing (a delivery makes at most 7 per queue). */
const ATTEMPTS_LISTED = 50;

function listRoute(sql: Sql): Route {
  return {
    method: "GET",
    path: "webhooks/:id/deliveries",
    auth: "service",
    async handle({ url, params }) {
      const query = readQuery(url, DeliveriesQuery);
      const after = query.cursor === undefined ? null : decodeCursor(query.cursor, CursorSchema).s;
      if (!(await endpointExists(sql, params.id))) throw notFound("No webhook with that id.");
      const rows = await asService(sql, (tx) =>
        tx`
          select d.seq::text as seq, d.id, d.webhook_id, d.event_id, ev.type as event_type,
            d.state, d.attempts as attempt_count,
            case when d.state = 'pending' then d.next_attempt_at end as next_attempt_at,
            d.created_at, d.updated_at,
            coalesce((
              select jsonb_agg(jsonb_build_object(
                'attempted_at', a.attempted_at, 'status', a.status, 'latency_ms', a.latency_ms,
                'response_excerpt', a.response_excerpt, 'error', a.error) order by a.id)
              from (
                select * from wisely.webhook_attempts x where x.delivery_id = d.id
                order by x.id desc limit ${ATTEMPTS_LISTED}
              ) a
            ), '[]'::jsonb) as attempts
          from wisely.webhook_deliveries d
          join wisely.events ev on ev.id = d.event_id
          where d.endpoint_id = ${params.id}
            ${query.state === undefined ? tx`` : tx`and d.state = ${query.state}`}
            ${after === null ? tx`` : tx`and d.seq < ${after}::bigint`}
          order by d.seq desc
          limit ${query.limit + 1}
        `);
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      const nextCursor = rows.length > query.limit && last ? encodeCursor({ s: last.seq }) : null;
      const headers = nextCursor ? { "X-Next-Cursor": nextCursor } : undefined;
      const deliveries = page.map(({ seq: _, event_id, ...row }) => ({
        ...row,
        event_id: Number(event_id),
      }));
      return json({ deliveries, next_cursor: nextCursor }, 200, headers);
    },
  };
}

function retryRoute(sql: Sql): Route {
  return {
    method: "POST",
    path: "webhooks/:id/deliveries/:delivery_id/retry",
    auth: "service",
    async handle({ params }) {
      const { id, delivery_id: deliveryId } = params;
      const rows = !isUuid(id) || !isUuid(deliveryId) ? [] : await asService(sql, (tx) =>
        tx`
          update wisely.webhook_deliveries d
          set state = 'pending', step = 0, next_attempt_at = now(), updated_at = now()
          from wisely.webhook_endpoints e
          where d.id = ${deliveryId} and d.endpoint_id = ${id} and e.id = d.endpoint_id
          returning d.id, d.webhook_id, d.state, d.next_attempt_at,
            e.disabled_at is not null as endpoint_disabled
        `);
      if (rows.length === 0) throw notFound("No delivery with that id for this webhook.");
      return json(rows[0]);
    },
  };
}

export function webhookDeliveryRoutes(sql: Sql): Route[] {
  return [listRoute(sql), retryRoute(sql)];
}
