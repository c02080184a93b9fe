/**
 * day.done's memory update when the session's reviews change under it (memory/record.ts): the
 * history of the objectives it touches is read in the same round trip as the new reviews'
 * writes, for the keys of the reviews it read at the start of the transaction. A review that
 * appears in between (a concurrent correction of the same session) is still found by the delete,
 * and its objective's memory must still be brought in line with what is left.
 *
 * The race is staged by a trigger on `wisely.completions` that adds a review of an objective
 * the session does not cover, inside day.done's own transaction, after its first read and
 * before its delete. That objective was also reviewed on day 1, so its memory must be replayed
 * from that review alone: kept, as of day 1 (without its history it would be deleted).
 */
import assert from "node:assert/strict";
import { userDb } from "../../supabase/functions/_shared/user_db.ts";
import { DayDoneBody } from "../../supabase/functions/_shared/schemas.ts";
import { completeSession } from "../../supabase/functions/orchestrator/routes/day_done.ts";
import { freshDatabase } from "../support/db.ts";
import { seedLearner } from "../support/two_users.ts";

const PLAN = {
  version: 2,
  objectives: [{ key: "define the terms", objective: "Define the terms" }],
  reviews: [],
};

Deno.test("day.done: a review added under it still has its memory replayed", async () => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const learner = await seedLearner(sql);
    await sql`
      update wisely.sessions set plan = ${sql.json(PLAN)} where id = ${learner.openSession}
    `;
    await sql`
      insert into wisely.objective_memory (intent_id, objective_key, user_id, objective,
        origin_week, origin_day, stability, difficulty, state, reps, lapses, scheduled_days,
        last_rating, last_learning_day, last_reviewed_at)
      values (${learner.intent}, 'ghost', ${learner.user}, 'Ghost', 1, 1, 2.3, 5, 2, 2, 0, 3, 3,
        2, now())
    `;
    await sql`
      insert into wisely.objective_reviews (session_id, objective_key, user_id, intent_id, week,
        day, learning_day, rating, reviewed_at)
      values (${learner.session}, 'ghost', ${learner.user}, ${learner.intent}, 1, 1, 1, 3,
        now() - interval '1 day')
    `;
    await sql.unsafe(`
      create function public.test_review_race() returns trigger
      language plpgsql security definer set search_path = '' as $$
      begin
        insert into wisely.objective_reviews (session_id, objective_key, user_id, intent_id,
          week, day, learning_day, rating, reviewed_at)
        select new.session_id, 'ghost', s.user_id, s.intent_id, s.week, s.day, 2, 3, now()
        from wisely.sessions s where s.id = new.session_id;
        return new;
      end $$;
      create trigger test_review_race after insert on wisely.completions
        for each row execute function public.test_review_race();
    `);

    const body = DayDoneBody.parse({
      session_id: learner.openSession,
      completion_time_min: 40,
      confidence: 8,
    });
    const done = await userDb(sql, { sub: learner.user, role: "authenticated" })
      .transaction((tx) => completeSession(tx, learner.user, body));
    assert.equal(done.completion.session_id, learner.openSession);

    const reviews = await sql`
      select objective_key from wisely.objective_reviews where session_id = ${learner.openSession}
    `;
    assert.deepEqual(reviews.map((r) => r.objective_key), ["define the terms"]);
    const memory = await sql`
      select objective_key, last_learning_day, reps from wisely.objective_memory
      where intent_id = ${learner.intent} order by objective_key
    `;
    assert.deepEqual(memory.map((m) => m.objective_key), ["define the terms", "ghost"]);
    const ghost = memory.find((m) => m.objective_key === "ghost");
    assert.equal(ghost?.last_learning_day, 1, "replayed from its day-1 review alone");
    assert.equal(ghost?.reps, 1);
  } finally {
    await db.close();
  }
});
