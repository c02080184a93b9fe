/**
 * The objective memory tables (migration 20260101000900) under RLS, from raw database sessions
 * as PostgREST opens them: a learner reads and writes only their own rows, only on their own
 * intent and session, within the CHECKs; `anon` has no access at all.
 */
import assert from "node:assert/strict";
import { asRole, freshDatabase } from "../support/db.ts";
import {
  hasCode,
  type Learner,
  refusedAs,
  seedLearner,
  twoUsers,
  type Tx,
} from "../support/two_users.ts";

interface MemoryOverrides {
  key?: string;
  stability?: number;
  difficulty?: number;
  rating?: number;
}

function memoryRow(tx: Tx, owner: string, intent: string, overrides: MemoryOverrides = {}) {
  const { key = "define the terms", stability = 2.3, difficulty = 5, rating = 3 } = overrides;
  return tx`
    insert into wisely.objective_memory (intent_id, objective_key, user_id, objective,
      origin_week, origin_day, stability, difficulty, state, reps, lapses, scheduled_days,
      last_rating, last_learning_day, last_reviewed_at)
    values (${intent}, ${key}, ${owner}, 'Define the terms', 1, 1, ${stability}, ${difficulty},
      2, 1, 0, 3, ${rating}, 1, now())
  `;
}

function reviewRow(tx: Tx, owner: string, o: Learner, rating = 3, key = "define the terms") {
  return tx`
    insert into wisely.objective_reviews (session_id, objective_key, user_id, intent_id, week, day,
      learning_day, rating, reviewed_at)
    values (${o.session}, ${key}, ${owner}, ${o.intent}, 1, 1, 1, ${rating}, now())
  `;
}

Deno.test("objective memory: a learner's own rows, on their own intent and session", async (t) => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const { a, b } = await twoUsers(sql, seedLearner);
    await sql.begin(async (tx) => {
      await memoryRow(tx, b.user, b.intent);
      await reviewRow(tx, b.user, b);
    });

    await t.step("the learner writes and reads their own memory and reviews", async () => {
      const rows = await asRole(sql, "authenticated", a.user, async (tx) => {
        await memoryRow(tx, a.user, a.intent);
        await reviewRow(tx, a.user, a);
        return await tx`
          select (select count(*)::int from wisely.objective_memory) as memory,
            (select count(*)::int from wisely.objective_reviews) as reviews
        `;
      });
      assert.deepEqual(rows[0], { memory: 1, reviews: 1 }, "B's rows are invisible");
    });

    await t.step("not for another user, nor on another user's intent or session", async () => {
      await refusedAs(
        sql,
        a.user,
        (tx) => memoryRow(tx, b.user, b.intent, { key: "planted" }),
        "42501",
      );
      await refusedAs(
        sql,
        a.user,
        (tx) => memoryRow(tx, a.user, b.intent, { key: "planted" }),
        "23503",
      );
      await refusedAs(sql, a.user, (tx) => reviewRow(tx, a.user, b, 3, "planted"), "23503");
      const changed = await asRole(sql, "authenticated", a.user, async (tx) => [
        ...(await tx`update wisely.objective_memory set stability = 99 returning 1`),
        ...(await tx`delete from wisely.objective_reviews returning 1`),
      ]);
      assert.deepEqual(changed, [], "B's rows cannot be changed or deleted");
      const [{ stability }] = await sql`
        select stability from wisely.objective_memory where user_id = ${b.user}
      `;
      assert.equal(stability, 2.3);
    });

    await t.step("the CHECKs hold whoever writes", async () => {
      for (const overrides of [{ rating: 5 }, { stability: 0 }, { difficulty: 11 }]) {
        await refusedAs(sql, a.user, (tx) => memoryRow(tx, a.user, a.intent, overrides), "23514");
      }
      await refusedAs(sql, a.user, (tx) => reviewRow(tx, a.user, a, 0), "23514");
    });

    await t.step("anon has no access", async () => {
      await assert.rejects(
        asRole(sql, "anon", a.user, (tx) => tx`select 1 from wisely.objective_memory`),
        hasCode("42501"),
      );
    });

    await t.step("deleting the session or the user removes what they held", async () => {
      await sql`delete from wisely.sessions where id = ${b.session}`;
      assert.equal(
        (await sql`select 1 from wisely.objective_reviews where user_id = ${b.user}`).length,
        0,
      );
      await sql`delete from auth.users where id = ${b.user}`;
      assert.equal(
        (await sql`select 1 from wisely.objective_memory where user_id = ${b.user}`).length,
        0,
      );
    });
  } finally {
    await db.close();
  }
});
