/**
 * Delivery on Postgres: the bootstrap's trigger on `realtime.messages` NOTIFYs
 * `realtime_local_messages` with the row (or, when the row is over pg_notify's 8000-byte
 * limit, only its id), and Postgres delivers notifications after commit, in commit order.
 * postgres.js LISTENs on a dedicated connection of the pool and re-LISTENs after a reconnect
 * (rows committed while it is down are not delivered). Notifications are handled one after
 * another, so fetching a large row never lets a later one overtake it.
 */
import type postgres from "postgres";
import { z } from "zod";
import { type Deliver, type Delivery, MessageRow } from "./delivery.ts";
import { describeError, type RealtimeLog } from "./log.ts";

export const NOTIFY_CHANNEL = "realtime_local_messages";

const Notification = z.union([MessageRow, z.object({ id: z.string() })]);

async function fetchRow(sql: postgres.Sql, id: string): Promise<MessageRow | null> {
  const rows = await sql`
    select id, topic, event, private, payload from realtime.messages
    where id = ${id} and extension = 'broadcast'
  `;
  return rows.length === 0 ? null : MessageRow.parse(rows[0]);
}

export async function startListenDelivery(
  sql: postgres.Sql,
  deliver: Deliver,
  log: RealtimeLog,
): Promise<Delivery> {
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;

  const handle = async (raw: string) => {
    const parsed = Notification.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new Error(`Unexpected notification: ${raw.slice(0, 200)}`);
    const row = "topic" in parsed.data ? parsed.data : await fetchRow(sql, parsed.data.id);
    if (row !== null && !stopped) deliver(row);
  };

  const listener = await sql.listen(NOTIFY_CHANNEL, (raw) => {
    chain = chain.then(() => handle(raw)).catch((error) => {
      log({ level: "error", code: "UnableToBroadcastChanges", message: describeError(error) });
    });
  });

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      await listener.unlisten().catch(() => {});
      await chain;
    },
  };
}
