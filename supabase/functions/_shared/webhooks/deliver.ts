/**
 * Delivery passes (spec 12): queue what committed, then send each leased endpoint's due
 * deliveries one after another, in order, endpoints side by side (bounded). The local stack's
 * loop (dev/webhook_worker.ts) and `POST webhooks.deliver` (a hosted project's Cron) run this
 * same code.
 *
 * Order per endpoint: only the head of an endpoint's queue is ever attempted, so a delivery
 * waiting for its retry holds back the later ones of that endpoint until it succeeds or has
 * finally failed (at most ~18 h on the default schedule). Receivers see events in order, at
 * the price of a stall; other endpoints are not affected.
 */
import type { Sql } from "../db.ts";
import { sendAttempt } from "./attempt.ts";
import {
  type AttemptOutcome,
  type DueDelivery,
  type Lease,
  leaseSeconds,
  nextDelivery,
  queueAndClaim,
  recordAttempt,
  releaseLease,
} from "./outbox.ts";
import { UnexpectedPayload, webhookPayload } from "./payload.ts";
import type { WebhookSettings } from "./settings.ts";
import type { Resolver } from "./url_rules.ts";

export interface DeliveryOptions {
  /** Inside the local stack: http and loopback receivers allowed. */
  local: boolean;
  /** Stops the pass: no new attempt starts, one in flight is abandoned (and retried later). */
  signal?: AbortSignal;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default denoResolver (url_rules.ts) */
  resolve?: Resolver;
  /** Deliveries sent per endpoint per lease. @default 20 */
  perEndpoint?: number;
  /** No attempt starts after this `performance.now()` time. @default Infinity */
  deadline?: number;
  /** Called after each recorded attempt (logging). @default none */
  onAttempt?: (state: "succeeded" | "pending" | "failed") => void;
}

/** Sends `due` once; an event whose payload cannot be sent fails the attempt without a call. */
async function attemptDelivery(
  due: DueDelivery,
  settings: WebhookSettings,
  options: DeliveryOptions,
): Promise<AttemptOutcome> {
  let body: string;
  try {
    body = JSON.stringify(webhookPayload(due.event));
  } catch (error) {
    if (!(error instanceof UnexpectedPayload)) throw error;
    return { ok: false, status: null, latencyMs: 0, excerpt: null, error: "payload not sendable" };
  }
  return await sendAttempt(
    { url: due.url, secret: due.secret, webhookId: due.webhook_id, body },
    { ...options, timeoutMs: settings.attemptTimeoutMs },
  );
}

export interface DrainResult {
  attempted: number;
  succeeded: number;
}

/** Sends the leased endpoint's due deliveries in order, then releases the lease. */
export async function drainEndpoint(
  sql: Sql,
  lease: Lease,
  settings: WebhookSettings,
  options: DeliveryOptions,
): Promise<DrainResult> {
  const result = { attempted: 0, succeeded: 0 };
  let release = true;
  try {
    while (result.attempted < (options.perEndpoint ?? 20)) {
      if (options.signal?.aborted) break;
      if (performance.now() > (options.deadline ?? Infinity)) break;
      const due = await nextDelivery(sql, lease, leaseSeconds(settings));
      if (due === null) break;
      const outcome = await attemptDelivery(due, settings, options);
      const state = await recordAttempt(sql, due, outcome, settings);
      result.attempted++;
      if (state === "succeeded") result.succeeded++;
      options.onAttempt?.(state);
      if (state === "pending") break; // the head now waits for its retry
    }
  } catch (error) {
    // Unless stopping, the lease is kept until it expires (leaseSeconds): an attempt that
    // cannot be recorded is then not repeated at once, tick after tick.
    release = options.signal?.aborted ?? false;
    throw error;
  } finally {
    if (release) await releaseLease(sql, lease).catch(() => {});
  }
  return result;
}

export interface PassResult {
  queued: number;
  endpoints: number;
  attempted: number;
  succeeded: number;
}

/** Runs `tasks` with at most `limit` at a time. */
export async function bounded<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const at = next++;
      results[at] = await tasks[at]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return results;
}

export interface PassOptions extends DeliveryOptions {
  /** Endpoints leased per pass. @default 50 */
  endpoints?: number;
  /** Endpoints drained at once. @default 8 */
  concurrency?: number;
  /** No attempt starts after this many ms of the pass. @default Infinity */
  budgetMs?: number;
}

/** One bounded pass: queue, lease up to `endpoints` endpoints, drain them `concurrency` wide. */
export async function runDeliveryPass(sql: Sql, options: PassOptions): Promise<PassResult> {
  const deadline = performance.now() + (options.budgetMs ?? Infinity);
  const { settings, queued, leases } = await queueAndClaim(sql, {
    limit: options.endpoints ?? 50,
  });
  const drained = await bounded(
    leases.map((lease) => () => drainEndpoint(sql, lease, settings, { ...options, deadline })),
    options.concurrency ?? 8,
  );
  return {
    queued,
    endpoints: leases.length,
    attempted: drained.reduce((n, r) => n + r.attempted, 0),
    succeeded: drained.reduce((n, r) => n + r.succeeded, 0),
  };
}
