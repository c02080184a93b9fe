/**
 * The SQL of webhook delivery (migration 20260101001000), each statement its own short
 * service-role transaction: nothing here holds a connection while a receiver is called.
 *
 * - `queueAndClaim`: committed events → deliveries (wisely.webhook_enqueue, the outbox
 *   horizon), then leases on endpoints whose queue head is due, one holder at a time, so each
 *   endpoint's deliveries go out one by one, in order, whoever else runs a pass.
 * - `nextDelivery`: the head of a leased endpoint's queue (renewing the lease).
 * - `recordAttempt`: the attempt's log row and what follows it, in one transaction.
 */
import { asService, type Sql, type Tx } from "../db.ts";
import type { OutboxEvent } from "./payload.ts";
import { afterFailure, shouldDisable } from "./schedule.ts";
import { loadWebhookSettings, type WebhookSettings } from "./settings.ts";

export interface Lease {
  endpointId: string;
  token: string;
}

/** Seconds an endpoint stays leased without a renewal: longer than any attempt. */
export function leaseSeconds(settings: WebhookSettings): number {
  return Math.ceil(settings.attemptTimeoutMs / 1000) + 30;
}

export interface ClaimOptions {
  /** Endpoints to lease at most. */
  limit: number;
  /** Endpoints not to lease (the caller drains them already). @default [] */
  exclude?: readonly string[];
  /** Events fanned out per endpoint. @default 500 */
  enqueueLimit?: number;
}

/**
 * One transaction: the settings, the fan-out of committed events into deliveries, leases on
 * up to `limit` enabled endpoints whose earliest pending delivery is due, and how many
 * endpoints are enabled at all.
 */
export async function queueAndClaim(sql: Sql, options: ClaimOptions) {
  const token = crypto.randomUUID();
  return await asService(sql, async (tx) => {
    const settings = await loadWebhookSettings(tx);
    const [{ queued, enabled }] = await tx<{ queued: number; enabled: number }[]>`
      select wisely.webhook_enqueue(${options.enqueueLimit ?? 500}) as queued,
        (select count(*)::int from wisely.webhook_endpoints where disabled_at is null) as enabled
    `;
    const claimed = options.limit < 1 ? [] : await claim(tx, token, settings, options);
    const leases: Lease[] = claimed.map((row) => ({ endpointId: row.id, token }));
    return { settings, queued, enabled, leases };
  });
}

function claim(tx: Tx, token: string, settings: WebhookSettings, options: ClaimOptions) {
  return tx<{ id: string }[]>`
    update wisely.webhook_endpoints e
    set lease_token = ${token},
      lease_until = now() + make_interval(secs => ${leaseSeconds(settings)})
    where e.id in (
      select x.id from wisely.webhook_endpoints x
      where x.disabled_at is null
        and (x.lease_until is null or x.lease_until < now())
        and x.id <> all (${options.exclude ?? []}::uuid[])
        and (
          select d.next_attempt_at from wisely.webhook_deliveries d
          where d.endpoint_id = x.id and d.state = 'pending'
          order by d.event_xid, d.event_id
          limit 1
        ) <= now()
      order by x.id
      limit ${options.limit}
      for update skip locked
    )
    returning e.id
  `;
}

/**
 * True when some endpoint is enabled: a single small query (as the pool's role) that an idle
 * delivery loop runs instead of a whole tick.
 */
export async function anyEndpointEnabled(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ any: boolean }[]>`
    select exists (select 1 from wisely.webhook_endpoints where disabled_at is null) as any
  `;
  return row.any;
}

export interface DueDelivery {
  endpoint_id: string;
  delivery_id: string;
  webhook_id: string;
  /** Failed attempts since the delivery was queued. */
  step: number;
  url: string;
  secret: string;
  failing_since: Date | null;
  /** The database's clock: retries and disabling are computed on it. */
  db_now: Date;
  event: OutboxEvent;
}

interface HeadRow extends Omit<DueDelivery, "event">, OutboxEvent {
  due: boolean;
}

/**
 * The head of the leased endpoint's queue when it is due; null when it is not yet due, the
 * queue is empty, the endpoint was disabled or deleted, or the lease was lost.
 */
export async function nextDelivery(sql: Sql, lease: Lease, leaseS: number) {
  const rows = await asService(sql, (tx) =>
    tx<HeadRow[]>`
      with lease as (
        update wisely.webhook_endpoints
        set lease_until = now() + make_interval(secs => ${leaseS})
        where id = ${lease.endpointId} and lease_token = ${lease.token} and disabled_at is null
        returning id, url, secret, failing_since
      )
      select l.id as endpoint_id, d.id as delivery_id, d.webhook_id, d.step, d.next_attempt_at <= now() as due,
        l.url, l.secret, l.failing_since, now() as db_now,
        ev.id as event_id, ev.type, ev.user_id, ev.payload, ev.created_at
      from lease l
      join wisely.webhook_deliveries d on d.endpoint_id = l.id and d.state = 'pending'
      join wisely.events ev on ev.id = d.event_id
      order by d.event_xid, d.event_id
      limit 1
    `);
  const head = rows[0];
  if (!head?.due) return null;
  const { event_id, type, user_id, payload, created_at, due: _, ...delivery } = head;
  return { ...delivery, event: { event_id, type, user_id, payload, created_at } };
}

/** Ends the lease (when still ours), so the next pass may claim the endpoint at once. */
export async function releaseLease(sql: Sql, lease: Lease): Promise<void> {
  await asService(sql, (tx) =>
    tx`
      update wisely.webhook_endpoints set lease_token = null, lease_until = null
      where id = ${lease.endpointId} and lease_token = ${lease.token}
    `);
}

/** One attempt's result (attempt.ts). */
export interface AttemptOutcome {
  ok: boolean;
  /** HTTP status; null when no response came. */
  status: number | null;
  latencyMs: number;
  /** The start of the response body, at most ~500 characters. */
  excerpt: string | null;
  /** Why it failed, in our words (never the receiver's); null on success. */
  error: string | null;
}

/**
 * Logs the attempt and moves the delivery on: succeeded; or the next retry of the schedule;
 * or failed. A failure also starts (or continues) the endpoint's failing streak, disabling it
 * once the streak is `disableAfterS` old; a success ends the streak.
 */
export async function recordAttempt(
  sql: Sql,
  due: DueDelivery,
  outcome: AttemptOutcome,
  settings: WebhookSettings,
): Promise<"succeeded" | "pending" | "failed"> {
  const attemptedAt = new Date(due.db_now.getTime() + outcome.latencyMs);
  const next = outcome.ok
    ? { state: "succeeded" as const }
    : afterFailure(due.step + 1, attemptedAt, settings.retryScheduleS);
  const disable = !outcome.ok &&
    shouldDisable(due.failing_since ?? attemptedAt, attemptedAt, settings.disableAfterS);
  const retryAt = next.state === "pending" ? next.retryAt : null;
  await asService(sql, async (tx) => {
    // The endpoint row first: the lock order of DELETE webhooks/<id> and of the fan-out
    // (endpoint, then its deliveries, then their attempts), so the two never deadlock.
    await updateEndpoint(tx, due, outcome, disable, settings);
    // From the delivery row, so an endpoint deleted during the attempt logs nothing.
    await tx`
      insert into wisely.webhook_attempts
        (delivery_id, status, latency_ms, response_excerpt, error)
      select d.id, ${outcome.status}::integer, ${outcome.latencyMs}::integer,
        ${outcome.excerpt}::text, ${outcome.error}::text
      from wisely.webhook_deliveries d where d.id = ${due.delivery_id}
    `;
    await tx`
      update wisely.webhook_deliveries
      set state = ${next.state}, attempts = attempts + 1,
        step = ${outcome.ok ? due.step : due.step + 1},
        next_attempt_at = coalesce(${retryAt}::timestamptz, next_attempt_at),
        updated_at = now()
      where id = ${due.delivery_id}
    `;
  });
  return next.state;
}

function disabledReason(due: DueDelivery, outcome: AttemptOutcome, settings: WebhookSettings) {
  const since = (due.failing_since ?? due.db_now).toISOString();
  const hours = Math.round(settings.disableAfterS / 360) / 10;
  const text = `Deliveries failed for ${hours} h with no success (failing since ${since}); ` +
    `last error: ${outcome.error ?? "unknown"}`;
  return text.slice(0, 400);
}

async function updateEndpoint(
  tx: Tx,
  due: DueDelivery,
  outcome: AttemptOutcome,
  disable: boolean,
  settings: WebhookSettings,
): Promise<void> {
  if (outcome.ok) {
    await tx`
      update wisely.webhook_endpoints set last_success_at = now(), failing_since = null
      where id = ${due.endpoint_id}
    `;
    return;
  }
  const reason = disable ? disabledReason(due, outcome, settings) : null;
  await tx`
    update wisely.webhook_endpoints
    set failing_since = coalesce(failing_since, now()),
      disabled_at = case when ${disable} then coalesce(disabled_at, now()) else disabled_at end,
      disabled_reason = coalesce(disabled_reason, ${reason})
    where id = ${due.endpoint_id}
  `;
}
