/**
 * Migration 20260101000800_wisely_week_packs (issue 9 item 1): the registry moves to spec
 * 6.1's scopes and windows where it still holds the old seed values, and cache rows that held
 * one day's answer under a week key are removed so they can never serve another day; per-day,
 * intent and week-pack rows stay. The database starts migrated; the test puts rows back in the
 * old state and runs the migration file again, which also shows it is re-runnable.
 */
import assert from "node:assert/strict";
import { createUser, freshDatabase, type TestDatabase } from "../support/db.ts";

const MIGRATION = new URL(
  "../../supabase/migrations/20260101000800_wisely_week_packs.sql",
  import.meta.url,
);

/** Runs the migration file as the migrator does: one transaction. */
async function runMigration(db: TestDatabase): Promise<void> {
  const text = await Deno.readTextFile(MIGRATION);
  await db.sql.begin((tx) => tx.unsafe(text));
}

async function registry(db: TestDatabase) {
  return await db.sql<{ name: string; scope: string; freshness_s: number }[]>`
    select name, scope, freshness_s from wisely.agents order by sort_order, name
  `;
}

Deno.test("week packs migration: registry and cache rows move safely", async (t) => {
  const db = await freshDatabase({ max: 1 });
  try {
    await t.step("a fresh database has spec 6.1's registry", async () => {
      assert.deepEqual(
        (await registry(db)).map((row) => [row.name, row.scope, row.freshness_s]),
        [
          ["clo", "intent_week", 604800],
          ["alex", "intent", 604800],
          ["ta", "intent_week", 604800],
          ["socratic", "intent_week", 604800],
        ],
      );
    });

    const user = await createUser(db.sql);
    const intent = crypto.randomUUID();
    const week = `intent:${intent}:w1`;
    const oneDay = { title: "Day 1", description: "d", objectives: ["o"], difficulty: "intro" };
    const pack = { days: [1, 2, 3, 4, 5, 6, 7].map((day) => ({ day, ...oneDay })) };

    await t.step("old seeds move, tuned rows stay; old week rows go, the rest stays", async () => {
      await db.sql`
        update wisely.agents set scope = 'intent_week', freshness_s = 86400 where name = 'clo'
      `;
      await db.sql`
        update wisely.agents set scope = 'intent_week_day', freshness_s = 21600
        where name = 'ta'
      `;
      // An operator's own choice for socratic: per day, 1 h.
      await db.sql`
        update wisely.agents set scope = 'intent_week_day', freshness_s = 3600
        where name = 'socratic'
      `;
      const rows: [string, string, unknown][] = [
        ["clo", week, oneDay], // the old bug: one day's answer under the week key
        ["clo", `intent:${intent}:w2`, pack], // a pack: stays
        ["ta", `${week}:d3`, { exercises: [{ title: "t", instructions: "i", minutes: 5 }] }],
        ["alex", `intent:${intent}`, { resources: [] }],
      ];
      for (const [agent, key, payload] of rows) {
        await db.sql`
          insert into wisely.agent_cache (user_id, agent, scope_key, etag, payload)
          values (${user}, ${agent}, ${key}, '"e"', ${db.sql.json(payload as never)})
        `;
      }

      await runMigration(db);
      assert.deepEqual(
        (await registry(db)).map((row) => [row.name, row.scope, row.freshness_s]),
        [
          ["clo", "intent_week", 604800],
          ["alex", "intent", 604800],
          ["ta", "intent_week", 604800],
          ["socratic", "intent_week_day", 3600],
        ],
      );
      const left = await db.sql<{ agent: string; scope_key: string }[]>`
        select agent, scope_key from wisely.agent_cache where user_id = ${user}
        order by agent, scope_key
      `;
      assert.deepEqual(left.map((row) => [row.agent, row.scope_key]), [
        ["alex", `intent:${intent}`],
        ["clo", `intent:${intent}:w2`],
        ["ta", `${week}:d3`],
      ]);
    });

    await t.step("running it again changes nothing", async () => {
      const before = await db.sql`select * from wisely.agent_cache order by agent, scope_key`;
      const agents = await registry(db);
      await runMigration(db);
      assert.deepEqual(
        await db.sql`select * from wisely.agent_cache order by agent, scope_key`,
        before,
      );
      assert.deepEqual(await registry(db), agents);
    });
  } finally {
    await db.close();
  }
});
