/**
 * Delivery on PGlite: one backend behind the socket server, so NOTIFY reaches only the
 * connection that committed and LISTEN elsewhere never fires. But transactions there run one
 * at a time on the pool's single connection, so the bootstrap's `local_seq` (a sequence
 * default on `realtime.messages`) is commit order: poll for rows past the last one seen. One
 * small indexed query per tick on the shared pool, never holding the connection in between.
 */
import type postgres from "postgres";
import { type Deliver, type Delivery, MessageRow } from "./delivery.ts";
import { describeError, type RealtimeLog } from "./log.ts";

export interface PollOptions {
  /** Milliseconds between polls while someone is subscribed. @default 25 */
  intervalMs?: number;
  /** Milliseconds between polls while nobody is. @default 250 */
  idleIntervalMs?: number;
  /** Rows read per query; a full batch polls again at once. @default 500 */
  batch?: number;
  /** True while nobody is subscribed. @default () => false */
  idle?: () => boolean;
}

async function lastSeq(sql: postgres.Sql): Promise<bigint> {
  const [row] = await sql`select coalesce(max(local_seq), 0)::text as last from realtime.messages`;
  return BigInt(row.last);
}

async function rowsAfter(sql: postgres.Sql, after: bigint, batch: number) {
  return await sql`
    select local_seq::text as seq, id, topic, event, private, payload from realtime.messages
    where local_seq > ${after.toString()}::bigint and extension = 'broadcast'
    order by local_seq
    limit ${batch}
  `;
}

/**
 * One poll per call: delivers the rows past the last one seen and resolves to whether a full
 * batch came (poll again at once). The first call only finds where to start: rows already
 * stored when the server starts are history, not news.
 */
function poller(
  sql: postgres.Sql,
  deliver: Deliver,
  batch: number,
  stopped: () => boolean,
): () => Promise<boolean> {
  let last: bigint | null = null;
  return async () => {
    if (last === null) {
      last = await lastSeq(sql);
      return false;
    }
    const rows = await rowsAfter(sql, last, batch);
    for (const row of rows) {
      if (stopped()) return false;
      last = BigInt(row.seq);
      deliver(MessageRow.parse(row));
    }
    return rows.length === batch;
  };
}

export function startPollDelivery(
  sql: postgres.Sql,
  deliver: Deliver,
  log: RealtimeLog,
  options: PollOptions = {},
): Delivery {
  const { intervalMs = 25, idleIntervalMs = 250, batch = 500, idle = () => false } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | null = null;
  let stopped = false;
  let failing = false;
  const poll = poller(sql, deliver, batch, () => stopped);

  let polledAt = -Infinity;
  const tick = () => {
    // Idle ticks skip the query but keep the timer short, so a first subscriber waits at most
    // one interval for its first poll.
    if (idle() && performance.now() - polledAt < idleIntervalMs) return schedule();
    polledAt = performance.now();
    running = poll().then((more) => {
      failing = false;
      schedule(more ? 0 : undefined);
    }, (error) => {
      // One line per outage, not one per tick.
      if (!failing) {
        log({ level: "error", code: "UnableToBroadcastChanges", message: describeError(error) });
      }
      failing = true;
      schedule(idleIntervalMs);
    });
  };

  const schedule = (delay = intervalMs) => {
    if (stopped) return;
    timer = setTimeout(tick, delay);
  };

  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
