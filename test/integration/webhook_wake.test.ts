/**
 * The local delivery loop's wake-up (migration 20260101001400): a statement that inserts events
 * NOTIFYs `wisely_webhooks` only while an enabled endpoint exists. Notifications arrive in
 * commit order, so a sentinel NOTIFY sent after each insert shows, without waiting on a timer,
 * whether the insert notified anything before it.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { createUser, freshDatabase } from "../support/db.ts";

Deno.test("events wake the webhook loop only when an enabled endpoint exists", async (t) => {
  const db = await freshDatabase();
  if (db.kind !== "postgres") return await db.close(); // LISTEN needs a second backend
  const listener = postgres(db.url, { max: 1, onnotice: () => {} });
  const heard: string[] = [];
  let sentinel: ((payload: string) => void) | null = null;
  await listener.listen("wisely_webhooks", (payload) => {
    if (payload.startsWith("sentinel")) sentinel?.(payload);
    else heard.push(payload);
  });
  const { sql } = db;
  /** Inserts an event, then waits for a sentinel sent after it: what the insert notified. */
  const notifiedBy = async (user: string, name: string) => {
    heard.length = 0;
    const arrived = new Promise((resolve) => sentinel = resolve);
    await sql`insert into wisely.events (user_id, type, payload) values (${user}, 'intent_synced', '{}')`;
    await sql`select pg_notify('wisely_webhooks', ${"sentinel " + name})`;
    await arrived;
    return [...heard];
  };
  try {
    const user = await createUser(sql);
    await t.step("no endpoint: nothing to wake for", async () => {
      assert.deepEqual(await notifiedBy(user, "none"), []);
    });
    const [endpoint] = await sql`
      insert into wisely.webhook_endpoints (url, events, secret)
      values ('https://example.com/hook', '{*}', 'whsec_c2VjcmV0') returning id
    `;
    await t.step("an enabled endpoint: one wake-up per statement", async () => {
      assert.deepEqual(await notifiedBy(user, "enabled"), [""]);
    });
    await t.step("only disabled endpoints: nothing again", async () => {
      await sql`update wisely.webhook_endpoints set disabled_at = now() where id = ${endpoint.id}`;
      assert.deepEqual(await notifiedBy(user, "disabled"), []);
    });
  } finally {
    await listener.end();
    await db.close();
  }
});
