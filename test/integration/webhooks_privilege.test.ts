/**
 * The webhook tables (migration 20260101001000) are the service role's alone: they hold the
 * signing secrets. From raw database sessions as PostgREST opens them, `authenticated` (with a
 * user's claims) and `anon` can neither read nor write any of them, nor call the outbox's
 * functions; `service_role` can. Also the outbox horizon itself: an event whose transaction is
 * still open is not fanned out, and is once it commits, in (xid, id) order.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { asRole, createUser, freshDatabase, type Role } from "../support/db.ts";

const TABLES = ["webhook_endpoints", "webhook_deliveries", "webhook_attempts"] as const;

function hasCode(code: string) {
  return (error: unknown) => {
    assert.ok(typeof error === "object" && error !== null && "code" in error, String(error));
    assert.equal(error.code, code, String(error));
    return true;
  };
}

/** Seeds one endpoint with one delivery and one attempt (as the superuser). */
async function seed(sql: postgres.Sql, user: string) {
  const [endpoint] = await sql`
    insert into wisely.webhook_endpoints (url, events, secret)
    values ('https://example.com/hook', '{*}', 'whsec_c2VjcmV0') returning id
  `;
  const [event] = await sql`
    insert into wisely.events (user_id, type, payload) values (${user}, 'intent_synced', '{}')
    returning id, xid
  `;
  const [delivery] = await sql`
    insert into wisely.webhook_deliveries (endpoint_id, event_id, event_xid)
    values (${endpoint.id}, ${event.id}, ${event.xid}) returning id
  `;
  await sql`
    insert into wisely.webhook_attempts (delivery_id, status, latency_ms)
    values (${delivery.id}, 200, 5)
  `;
  return { endpoint: endpoint.id as string, delivery: delivery.id as string };
}

Deno.test("webhook tables and functions are the service role's only", async (t) => {
  const db = await freshDatabase();
  try {
    const user = await createUser(db.sql);
    const rows = await seed(db.sql, user);
    for (const role of ["authenticated", "anon"] as Role[]) {
      const as = role === "authenticated" ? user : null;
      await t.step(`${role} can read none of them`, async () => {
        for (const table of TABLES) {
          await assert.rejects(
            asRole(db.sql, role, as, (tx) => tx`select * from ${tx("wisely")}.${tx(table)}`),
            hasCode("42501"),
            table,
          );
        }
      });
      await t.step(`${role} can write none of them`, async () => {
        await assert.rejects(
          asRole(
            db.sql,
            role,
            as,
            (tx) =>
              tx`insert into wisely.webhook_endpoints (url, events, secret)
               values ('https://evil.example/x', '{*}', 'whsec_eA==')`,
          ),
          hasCode("42501"),
        );
        await assert.rejects(
          asRole(
            db.sql,
            role,
            as,
            (tx) => tx`update wisely.webhook_endpoints set url = 'https://evil.example/x'`,
          ),
          hasCode("42501"),
        );
        await assert.rejects(
          asRole(
            db.sql,
            role,
            as,
            (tx) =>
              tx`update wisely.webhook_deliveries set state = 'pending', next_attempt_at = now()`,
          ),
          hasCode("42501"),
        );
        await assert.rejects(
          asRole(db.sql, role, as, (tx) => tx`delete from wisely.webhook_attempts`),
          hasCode("42501"),
        );
      });
      await t.step(`${role} cannot call the outbox functions`, async () => {
        for (
          const call of [
            (tx: postgres.TransactionSql) => tx`select wisely.webhook_enqueue(10)`,
            (tx: postgres.TransactionSql) => tx`select wisely.schedule_webhook_delivery()`,
            (tx: postgres.TransactionSql) => tx`select wisely.request_webhook_delivery()`,
          ]
        ) {
          await assert.rejects(asRole(db.sql, role, as, call), hasCode("42501"));
        }
      });
    }
    await t.step("service_role reads and writes them", async () => {
      const secrets = await asRole(
        db.sql,
        "service_role",
        null,
        (tx) => tx`select secret from wisely.webhook_endpoints where id = ${rows.endpoint}`,
      );
      assert.equal(secrets[0].secret, "whsec_c2VjcmV0");
      const [{ queued }] = await asRole(
        db.sql,
        "service_role",
        null,
        (tx) => tx`select wisely.webhook_enqueue(10) as queued`,
      );
      assert.equal(typeof queued, "number");
    });
    await t.step("locally, scheduling says what is missing instead of failing", async () => {
      const [{ result }] = await db.sql`select wisely.schedule_webhook_delivery() as result`;
      assert.match(result, /^not scheduled: missing .*pg_cron/);
    });
  } finally {
    await db.close();
  }
});

Deno.test({
  name: "the outbox fans out only committed events, in (xid, id) order",
  // PGlite runs one transaction at a time: there is no second one to hold open.
  ignore: !Deno.env.get("TEST_DATABASE_URL"),
}, async () => {
  const db = await freshDatabase();
  try {
    const user = await createUser(db.sql);
    const [endpoint] = await db.sql`
      insert into wisely.webhook_endpoints (url, events, secret)
      values ('https://example.com/hook', '{intent_synced}', 'whsec_c2VjcmV0') returning id
    `;
    const insert = (tx: postgres.Sql | postgres.TransactionSql, type = "intent_synced") =>
      tx`insert into wisely.events (user_id, type, payload) values (${user}, ${type}, '{}')
         returning id::int`;
    const queued = async () =>
      (await db.sql`
        select event_id::int as id from wisely.webhook_deliveries
        where endpoint_id = ${endpoint.id} order by event_xid, event_id
      `).map((r) => r.id);

    // An open transaction takes the first id; a later one commits first.
    let release!: () => void;
    const held = new Promise<void>((resolve) => release = resolve);
    let early = 0;
    const open = db.sql.begin(async (tx) => {
      [{ id: early }] = await insert(tx);
      await held;
    });
    while (early === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const [{ id: later }] = await insert(db.sql);
    const [{ id: skipped }] = await insert(db.sql, "day_completed");
    await db.sql`select wisely.webhook_enqueue(100)`;
    assert.deepEqual(await queued(), [], "nothing past an open transaction's horizon");
    release();
    await open;
    await db.sql`select wisely.webhook_enqueue(100)`;
    assert.deepEqual(await queued(), [early, later], "both, once it committed; not the other type");
    const [cursor] = await db.sql`
      select cursor_id::int as id from wisely.webhook_endpoints where id = ${endpoint.id}
    `;
    assert.equal(cursor.id, skipped, "the cursor passed the event of another type too");
    await db.sql`select wisely.webhook_enqueue(100)`;
    assert.equal((await queued()).length, 2, "never twice");
  } finally {
    await db.close();
  }
});
