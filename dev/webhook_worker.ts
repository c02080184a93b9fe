/**
 * The local stack's webhook delivery loop (spec 12): what Supabase Cron and pg_net do for a
 * hosted project (`POST webhooks.deliver`), run in-process and sooner. Each tick queues the
 * committed events (the outbox, _shared/webhooks/outbox.ts), leases the endpoints whose next
 * delivery is due and drains each in the background, up to `concurrency` endpoints at once and
 * one delivery at a time within an endpoint; a slow receiver therefore holds up only its own
 * endpoint, and never a request, which delivery is never part of.
 *
 * It wakes on new events: on Postgres by LISTEN on `wisely_webhooks` (a trigger on
 * wisely.events NOTIFYs at commit) with a poll as the safety net; on PGlite, where LISTEN on
 * another connection never fires (see dev/realtime/delivery_poll.ts), by polling. It stops
 * on the stack's `closing` signal: attempts in flight are abandoned and retried next time.
 */
import type postgres from "postgres";
import { isDatabaseUnavailable } from "../supabase/functions/_shared/db.ts";
import { createLogger, type Logger } from "../supabase/functions/_shared/log.ts";
import { drainEndpoint } from "../supabase/functions/_shared/webhooks/deliver.ts";
import {
  anyEndpointEnabled,
  queueAndClaim,
} from "../supabase/functions/_shared/webhooks/outbox.ts";
import type { Resolver } from "../supabase/functions/_shared/webhooks/url_rules.ts";

export const WAKE_CHANNEL = "wisely_webhooks";

export interface WebhookWorkerOptions {
  sql: postgres.Sql;
  kind: "postgres" | "pglite";
  /** `config.local`: http and loopback receivers allowed. */
  local: boolean;
  /** The stack's stop signal. */
  closing: AbortSignal;
  /** Milliseconds between polls. @default 250 on PGlite, 1000 on Postgres (which LISTENs) */
  intervalMs?: number;
  /**
   * Milliseconds between checks while no endpoint is enabled, when a tick would find nothing:
   * one small query instead of a tick's transaction, which matters on PGlite, whose one
   * connection and WASM engine the whole stack shares. @default 1000
   */
  idleIntervalMs?: number;
  /** Endpoints drained at once. @default 8 */
  concurrency?: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default denoResolver */
  resolve?: Resolver;
  /** Only failures are logged. @default JSON lines, function `webhook-worker` */
  log?: Logger;
}

export interface WebhookWorker {
  /** Resolves once the loop and every drain in flight have ended (after `closing`). */
  stop(): Promise<void>;
}

/**
 * A sleep that `wake()` or the stop signal ends early. A wake while nobody sleeps (a NOTIFY
 * during a tick) is kept, so the next sleep returns at once instead of missing it.
 */
function alarm(closing: AbortSignal) {
  let ring: (() => void) | null = null;
  let pending = false;
  return {
    wake: () => ring ? ring() : pending = true,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        if (pending || closing.aborted) {
          pending = false;
          return resolve();
        }
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          closing.removeEventListener("abort", done);
          ring = null;
          resolve();
        }
        ring = done;
        closing.addEventListener("abort", done, { once: true });
      }),
  };
}

export async function startWebhookWorker(options: WebhookWorkerOptions): Promise<WebhookWorker> {
  const { sql, closing } = options;
  const log = options.log ?? createLogger({ functionName: "webhook-worker" });
  const intervalMs = options.intervalMs ?? (options.kind === "pglite" ? 250 : 1000);
  const idleIntervalMs = options.idleIntervalMs ?? 1000;
  const concurrency = options.concurrency ?? 8;
  const { wake, sleep } = alarm(closing);
  const inFlight = new Map<string, Promise<void>>();
  const lanes: Lanes = { inFlight, concurrency, wake, log };
  const listener = options.kind === "postgres"
    ? await sql.listen(WAKE_CHANNEL, () => wake()).catch(() => null)
    : null;

  const loop = (async () => {
    let failing = false;
    let idle = false;
    while (!closing.aborted) {
      try {
        idle = idle && inFlight.size === 0 && !(await anyEndpointEnabled(sql));
        if (!idle) idle = !(await tick(options, lanes)) && inFlight.size === 0;
        failing = false;
      } catch (error) {
        // One line per outage, not one per tick.
        if (!failing && !closing.aborted) log.warn("webhook.tick_failed", describe(error));
        failing = true;
      }
      await sleep(failing || idle ? Math.max(intervalMs, idleIntervalMs) : intervalMs);
    }
  })();

  return {
    async stop() {
      await loop;
      await Promise.all(inFlight.values());
      await listener?.unlisten().catch(() => {});
    },
  };
}

/** The endpoints being drained, by id, and what a drain needs to report back. */
interface Lanes {
  inFlight: Map<string, Promise<void>>;
  concurrency: number;
  wake(): void;
  log: Logger;
}

/**
 * One tick: queue what committed, lease the due endpoints that fit in the free lanes, and
 * start draining each in the background. False when no endpoint is enabled at all.
 */
async function tick(options: WebhookWorkerOptions, lanes: Lanes): Promise<boolean> {
  const { sql, closing } = options;
  const { inFlight, log } = lanes;
  const { settings, leases, enabled } = await queueAndClaim(sql, {
    limit: lanes.concurrency - inFlight.size,
    exclude: [...inFlight.keys()],
  });
  for (const lease of leases) {
    const drained = drainEndpoint(sql, lease, settings, { ...options, signal: closing })
      .then(() => {}, (error) => {
        if (!closing.aborted) log.warn("webhook.drain_failed", describe(error));
      })
      .finally(() => {
        inFlight.delete(lease.endpointId);
        lanes.wake(); // a drained endpoint may have more due, and frees a lane
      });
    inFlight.set(lease.endpointId, drained);
  }
  return enabled > 0;
}

/** Name and SQLSTATE only: a message may quote data. */
function describe(error: unknown) {
  const code = typeof error === "object" && error !== null && "code" in error
    ? String(error.code)
    : null;
  return {
    error_name: error instanceof Error ? error.name : typeof error,
    error_code: code,
    db_unavailable: isDatabaseUnavailable(error),
  };
}
