/**
 * Row-level security and grants on every wisely table (spec 9), and the events broadcast on
 * Realtime with its topic policy. Users A and B each own rows everywhere; A must see and touch
 * only A's, anon nothing at all. Bookkeeping tables are read-only for users (their writers are
 * the definer functions that test/integration/least_privilege.test.ts attacks).
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { asRole, asRoleCommit, freshDatabase } from "../support/db.ts";
import {
  type Bookkeeper,
  hasCode,
  refusedAs,
  REQUEST_HASH,
  seedBookkeeper,
  twoUsers,
} from "../support/two_users.ts";

/** Tables whose rows belong to a user. */
const USER_TABLES = [
  "intents",
  "sessions",
  "plan_revisions",
  "completions",
  "agent_cache",
  "agent_calls",
  "events",
  "rate_limits",
  "idempotency_keys",
  "run_claims",
] as const;
type UserTable = (typeof USER_TABLES)[number];

/**
 * Bookkeeping others rely on (spec 9, least privilege): users read their own rows but write
 * none directly, not even their own; security definer functions write them.
 */
const READ_ONLY: ReadonlySet<UserTable> = new Set([
  "agent_cache",
  "agent_calls",
  "events",
  "rate_limits",
  "idempotency_keys",
  "run_claims",
]);

/** An insert of one new row owned by `owner.user`, per table. */
function insertRow(
  tx: postgres.TransactionSql,
  table: UserTable,
  owner: Bookkeeper,
): postgres.PendingQuery<postgres.Row[]> {
  switch (table) {
    case "intents":
      return tx`
        insert into wisely.intents (user_id, topic, depth, end_goal, time_per_day_min, active)
        values (${owner.user}, 'Rust', 'deep', 'Ship a crate', 30, false)
      `;
    case "sessions":
      return tx`
        insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
          total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality)
        values (${owner.user}, ${owner.intent}, 5, 5, '# plan', '{}', '{}', 30, false, 0, 4, '{}')
      `;
    case "plan_revisions":
      return tx`
        insert into wisely.plan_revisions (session_id, user_id, revision, plan_md, plan_summary,
          plan, degraded_mode, cache_hits, cache_misses, signal_quality)
        values (${owner.session}, ${owner.user}, 2, '# plan', '{}', '{}', false, 0, 4, '{}')
      `;
    case "completions":
      return tx`
        insert into wisely.completions (session_id, user_id, completion_time_min, confidence)
        values (${owner.openSession}, ${owner.user}, 30, 7)
      `;
    case "agent_cache":
      return tx`
        insert into wisely.agent_cache (user_id, agent, scope_key, payload)
        values (${owner.user}, 'alex', ${`intent:${owner.intent}`}, '{}')
      `;
    case "agent_calls":
      return tx`
        insert into wisely.agent_calls (user_id, agent, outcome) values (${owner.user}, 'ta', 'hit')
      `;
    case "events":
      return tx`
        insert into wisely.events (user_id, type, payload) values (${owner.user}, 'test_event', '{}')
      `;
    case "rate_limits":
      return tx`
        insert into wisely.rate_limits (user_id, bucket, tokens) values (${owner.user}, 'other', 1)
      `;
    case "idempotency_keys":
      return tx`
        insert into wisely.idempotency_keys (user_id, key, route, request_hash)
        values (${owner.user}, 'key-2', 'day.run', ${REQUEST_HASH})
      `;
    case "run_claims":
      return tx`
        insert into wisely.run_claims (intent_id, week, day, user_id, expires_at)
        values (${owner.intent}, 9, 7, ${owner.user}, now() + interval '1 minute')
      `;
  }
}

Deno.test("row-level security and grants on every wisely table", async (t) => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const { a, b } = await twoUsers(sql, seedBookkeeper);
    const table = (name: string) => sql(`wisely.${name}`);

    for (const name of USER_TABLES) {
      await t.step(`${name}: A sees only A's rows`, async () => {
        const rows = await asRole(sql, "authenticated", a.user, (tx) =>
          tx`
          select user_id from ${table(name)}
        `);
        assert.ok(rows.length >= 1, "A's own rows are visible");
        assert.deepEqual(new Set(rows.map((r) => r.user_id)), new Set([a.user]));
        const all = await sql`select distinct user_id from ${table(name)}`;
        assert.equal(all.length, 2, "both users have rows (the superuser sees them)");
      });

      await t.step(`${name}: service_role sees everyone's rows`, async () => {
        const rows = await asRole(sql, "service_role", null, (tx) =>
          tx`
          select distinct user_id from ${table(name)}
        `);
        assert.deepEqual(new Set(rows.map((r) => r.user_id)), new Set([a.user, b.user]));
      });

      if (READ_ONLY.has(name)) {
        await t.step(`${name}: read-only, no update or delete even of A's rows`, async () => {
          for (const owner of [a, b]) {
            await refusedAs(sql, a.user, (tx) =>
              tx`
                update ${table(name)} set user_id = user_id where user_id = ${owner.user}
              `, "42501");
            await refusedAs(sql, a.user, (tx) =>
              tx`
                delete from ${table(name)} where user_id = ${owner.user}
              `, "42501");
          }
        });
      } else {
        await t.step(`${name}: A cannot update or delete B's rows`, async () => {
          const counts = await asRole(sql, "authenticated", a.user, async (tx) => ({
            updateB: (await tx`
              update ${table(name)} set user_id = user_id where user_id = ${b.user}
            `).count,
            deleteB: (await tx`delete from ${table(name)} where user_id = ${b.user}`).count,
            // Controls: the same statements do reach A's own rows.
            updateA: (await tx`
              update ${table(name)} set user_id = user_id where user_id = ${a.user}
            `).count,
            deleteA: (await tx`delete from ${table(name)} where user_id = ${a.user}`).count,
          }));
          assert.equal(counts.updateB, 0);
          assert.equal(counts.deleteB, 0);
          assert.ok(counts.updateA >= 1);
          assert.ok(counts.deleteA >= 1);
          const [{ n }] = await sql`select count(*)::int as n from ${table(name)}
            where user_id = ${b.user}`;
          assert.ok(n >= 1, "B's rows are still there");
        });
      }

      await t.step(`${name}: A cannot insert a row owned by B`, async () => {
        await refusedAs(sql, a.user, (tx) => insertRow(tx, name, b), "42501");
        if (READ_ONLY.has(name)) {
          // Nor for itself: only the definer functions write bookkeeping.
          await refusedAs(sql, a.user, (tx) => insertRow(tx, name, a), "42501");
          return;
        }
        // Control: A may insert the same row for itself.
        const inserted = await asRole(sql, "authenticated", a.user, (tx) => insertRow(tx, name, a));
        assert.equal(inserted.count, 1);
      });

      await t.step(`${name}: service_role still writes it`, async () => {
        const inserted = await asRole(sql, "service_role", null, (tx) => insertRow(tx, name, b));
        assert.equal(inserted.count, 1);
      });

      await t.step(`${name}: anon can neither read nor write`, async () => {
        await assert.rejects(
          asRole(sql, "anon", null, (tx) => tx`select 1 from ${table(name)}`),
          hasCode("42501"),
        );
        await assert.rejects(
          asRole(sql, "anon", null, (tx) => insertRow(tx, name, a)),
          hasCode("42501"),
        );
      });
    }

    await t.step(
      "A cannot attach rows to B's intent or sessions (composite foreign keys)",
      async () => {
        await refusedAs(
          sql,
          a.user,
          (tx) => insertRow(tx, "sessions", { ...a, intent: b.intent }),
          "23503",
        );
        await refusedAs(
          sql,
          a.user,
          (tx) => insertRow(tx, "plan_revisions", { ...a, session: b.session }),
          "23503",
        );
        await refusedAs(
          sql,
          a.user,
          (tx) => insertRow(tx, "completions", { ...a, openSession: b.openSession }),
          "23503",
        );
      },
    );

    await t.step("time_zones: readable by authenticated, not writable; anon nothing", async () => {
      const [{ n }] = await asRole(
        sql,
        "authenticated",
        a.user,
        (tx) => tx`select count(*)::int as n from wisely.time_zones`,
      );
      assert.ok(n > 300);
      await refusedAs(
        sql,
        a.user,
        (tx) => tx`insert into wisely.time_zones (name) values ('Mars/Base')`,
        "42501",
      );
      await assert.rejects(
        asRole(sql, "anon", null, (tx) => tx`select 1 from wisely.time_zones`),
        hasCode("42501"),
      );
    });

    for (const name of ["settings", "agents"]) {
      await t.step(`${name}: readable by authenticated, not writable`, async () => {
        const rows = await asRole(sql, "authenticated", a.user, (tx) =>
          tx`
          select * from ${table(name)}
        `);
        assert.ok(rows.length >= 4);
        await refusedAs(sql, a.user, (tx) =>
          tx`
            update ${table(name)} set updated_at = now()
          `, "42501");
        await refusedAs(sql, a.user, (tx) => tx`delete from ${table(name)}`, "42501");
        await refusedAs(
          sql,
          a.user,
          (tx) =>
            name === "settings"
              ? tx`insert into wisely.settings (key, value) values ('x.y', '1')`
              : tx`
                insert into wisely.agents (name, path, scope, freshness_s, timeout_ms)
                values ('evil', '/x', 'intent', 60, 1000)
              `,
          "42501",
        );
      });

      await t.step(`${name}: anon can neither read nor write`, async () => {
        await assert.rejects(
          asRole(sql, "anon", null, (tx) => tx`select 1 from ${table(name)}`),
          hasCode("42501"),
        );
        await assert.rejects(
          asRole(sql, "anon", null, (tx) => tx`update ${table(name)} set updated_at = now()`),
          hasCode("42501"),
        );
      });
    }

    await t.step("an event A records is broadcast on both topics", async () => {
      // A's session of week 1, day 1 has a completion.
      const payload = {
        session_id: a.session,
        intent_id: a.intent,
        week: 1,
        day: 1,
        next_week: 1,
        next_day: 2,
      };
      const [event] = await asRoleCommit(sql, "authenticated", a.user, (tx) =>
        tx`
        select wisely.record_event('day_completed', ${sql.json(payload)}) as id
      `);
      const messages = await sql`
        select topic, extension, private, event, payload
        from realtime.messages
        where payload ->> 'event_id' = ${String(event.id)}
        order by topic
      `;
      assert.deepEqual(
        messages.map((m) => [m.topic, m.extension, m.private, m.event]),
        [
          ["wisely.events", "broadcast", true, "day_completed"],
          [`wisely.events:${a.user}`, "broadcast", true, "day_completed"],
        ],
      );
      for (const { payload } of messages) {
        assert.equal(String(payload.event_id), String(event.id));
        assert.equal(payload.type, "day_completed");
        assert.equal(payload.user_id, a.user);
        assert.equal(payload.week, 1);
        assert.equal(payload.day, 1);
      }
    });

    await t.step("realtime.messages: a user reads only their own topic", async () => {
      const read = (topic: string) =>
        asRole(sql, "authenticated", a.user, async (tx) => {
          await tx`select set_config('realtime.topic', ${topic}, true)`;
          return await tx`select topic, payload from realtime.messages`;
        });
      // The policy gates the channel being joined (realtime.topic()), as Realtime checks it at
      // join time; it does not look at each row's topic column.
      const own = await read(`wisely.events:${a.user}`);
      const ownTopic = own.filter((m) => m.topic === `wisely.events:${a.user}`);
      assert.ok(ownTopic.length >= 1);
      assert.ok(ownTopic.every((m) => m.payload.user_id === a.user));

      const [{ n }] = await sql`
        select count(*)::int as n from realtime.messages where topic = ${`wisely.events:${b.user}`}
      `;
      assert.ok(n >= 1, "B has messages");
      assert.equal((await read(`wisely.events:${b.user}`)).length, 0);
      // The shared topic is for service-role listeners only.
      assert.equal((await read("wisely.events")).length, 0);
    });
  } finally {
    await db.close();
  }
});
