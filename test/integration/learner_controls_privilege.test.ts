/**
 * Learner controls and session states in the database (spec 9, 12; migration
 * 20260101001100), attacked from raw `authenticated` sessions as PostgREST would open them:
 * - pause windows are read-only for learners (a backdated pause would repair a broken streak)
 *   and invisible to other users; pause_intent / resume_intent act on the caller's intent only
 *   and enforce the 60-day bound;
 * - sessions.state cannot be written by a learner at all, and stays true to the facts whoever
 *   writes the row (no `completed` without a completion);
 * - cancelled_at cannot mark an active intent, nor touch another user's;
 * - record_event accepts the three new events only as stored;
 * - the streak freeze, due_day_runs and mark_skipped_sessions, with a controlled clock.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { asRole, asRoleCommit, createUser, freshDatabase } from "../support/db.ts";
import {
  type IntentOwner,
  refusedAs,
  seedIntent,
  seedLearner,
  twoUsers,
  type Tx,
} from "../support/two_users.ts";

const stateOf = async (sql: postgres.Sql, id: string) =>
  (await sql`select state from wisely.sessions where id = ${id}`)[0].state;

Deno.test("learner controls: privileges, states and the streak freeze", async (t) => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const { a, b } = await twoUsers(sql, seedLearner);
    const asA = <T>(fn: (tx: Tx) => Promise<T>) => asRole(sql, "authenticated", a.user, fn);
    const refusedForA = (fn: (tx: Tx) => Promise<unknown>, code = "42501") =>
      refusedAs(sql, a.user, fn, code);

    await t.step("pause_intent pauses the caller's own intent and nobody else's", async () => {
      const [row] = await asRoleCommit(sql, "authenticated", a.user, (tx) =>
        tx`
        select outcome, intent_id, paused_until - today as days, changed
        from wisely.pause_intent(null)
      `);
      assert.deepEqual({ ...row }, {
        outcome: "paused",
        intent_id: a.intent,
        days: 60,
        changed: true,
      });
      const pauses = await sql`select intent_id, user_id from wisely.intent_pauses`;
      assert.deepEqual(pauses.map((p) => [p.intent_id, p.user_id]), [[a.intent, a.user]]);
    });

    await t.step("pauses: read-only for learners, invisible to other users", async () => {
      await refusedForA((tx) =>
        tx`
        insert into wisely.intent_pauses (intent_id, user_id, starts_on, ends_on)
        values (${a.intent}, ${a.user}, current_date - 30, current_date)
      `
      );
      await refusedForA((tx) => tx`update wisely.intent_pauses set starts_on = starts_on - 30`);
      await refusedForA((tx) => tx`delete from wisely.intent_pauses`);
      const seenByB = await asRole(
        sql,
        "authenticated",
        b.user,
        (tx) => tx`select id from wisely.intent_pauses`,
      );
      assert.equal(seenByB.length, 0);
      assert.equal((await asA((tx) => tx`select id from wisely.intent_pauses`)).length, 1);
    });

    await t.step("pause bounds: today .. today + 60, and no intent", async () => {
      const outcome = (user: string, until: string) =>
        asRole(sql, "authenticated", user, (tx) =>
          tx`
          select outcome from wisely.pause_intent((now() at time zone 'UTC')::date + ${until}::int)
        `).then(([r]) => r.outcome);
      assert.equal(await outcome(b.user, "-1"), "until_past");
      assert.equal(await outcome(b.user, "61"), "until_too_far");
      assert.equal(await outcome(b.user, "0"), "paused");
      const nobody = await createUser(sql);
      assert.equal(await outcome(nobody, "3"), "no_intent");
      assert.equal((await sql`select count(*)::int as n from wisely.intent_pauses`)[0].n, 1);
    });

    await t.step("resume_intent ends only the caller's pause", async () => {
      const [row] = await asRoleCommit(
        sql,
        "authenticated",
        b.user,
        (tx) => tx`select outcome, intent_id, changed from wisely.resume_intent()`,
      );
      assert.deepEqual({ ...row }, { outcome: "resumed", intent_id: b.intent, changed: false });
      const [pause] = await sql`select resumed_at from wisely.intent_pauses`;
      assert.equal(pause.resumed_at, null, "A's pause is untouched");
    });

    await t.step("session state: no learner writes it, and it follows the facts", async () => {
      await refusedForA((tx) => tx`update wisely.sessions set state = 'completed'`);
      await refusedForA((tx) =>
        tx`
        insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
          total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality, state)
        values (${a.user}, ${a.intent}, 2, 1, '#', '{}', '{}', 45, false, 0, 4, '{}', 'completed')
      `
      );
      // The service role may name a state, but the trigger keeps the true one.
      await sql`update wisely.sessions set state = 'completed' where id = ${a.openSession}`;
      assert.equal(await stateOf(sql, a.openSession), "opened");
      await sql`update wisely.sessions set state = 'skipped' where id = ${a.openSession}`;
      assert.equal(await stateOf(sql, a.openSession), "opened", "its day has not passed");
      // What a learner may write (their own completion) is what completes it; B's rows stay.
      const touchedB = await asRoleCommit(sql, "authenticated", a.user, async (tx) => {
        await tx`
          insert into wisely.completions (session_id, user_id, completion_time_min, confidence)
          values (${a.openSession}, ${a.user}, 10, 4)
        `;
        return (await tx`update wisely.sessions set opened_at = now() where user_id = ${b.user}`)
          .count;
      });
      assert.equal(touchedB, 0);
      assert.equal(await stateOf(sql, a.openSession), "completed");
      await sql`delete from wisely.completions where session_id = ${a.openSession}`;
      assert.equal(await stateOf(sql, a.openSession), "opened");
    });

    await t.step("cancelled_at: never on an active intent, never another user's", async () => {
      await refusedForA((tx) => tx`update wisely.intents set cancelled_at = now()`, "23514");
      const count = await asA((tx) =>
        tx`
        update wisely.intents set active = false, cancelled_at = now() where user_id = ${b.user}
      `.then((r) => r.count)
      );
      assert.equal(count, 0);
    });

    await t.step("record_event takes the new events only as stored", async () => {
      const record = (type: string, payload: Record<string, string>) => (tx: Tx) =>
        tx`select wisely.record_event(${type}, ${sql.json(payload)})`;
      const [{ until }] = await sql`
        select to_char(ends_on, 'YYYY-MM-DD') as until from wisely.intent_pauses
      `;
      await asA(record("intent_paused", { intent_id: a.intent, paused_until: until }));
      await refusedForA(
        record("intent_paused", { intent_id: a.intent, paused_until: "2020-01-01" }),
      );
      await refusedForA(record("intent_paused", { intent_id: b.intent, paused_until: until }));
      await refusedForA(
        record("intent_paused", { intent_id: a.intent, paused_until: "soon" }),
        "22023",
      );
      await refusedForA(record("intent_resumed", { intent_id: a.intent }), "42501");
      await refusedForA(record("intent_cancelled", { intent_id: a.intent }), "42501");
    });

    await t.step("cancelling ends the intent's pause; the event is then accepted", async () => {
      await asRoleCommit(sql, "authenticated", a.user, async (tx) => {
        await tx`update wisely.intents set active = false, cancelled_at = now()`;
        await record(tx);
      });
      async function record(tx: Tx) {
        await tx`
          select wisely.record_event('intent_cancelled', ${sql.json({ intent_id: a.intent })})
        `;
      }
      const [pause] =
        await sql`select resumed_on = (now() at time zone 'UTC')::date as ended from wisely.intent_pauses`;
      assert.equal(pause.ended, true);
    });
  } finally {
    await db.close();
  }
});

/** Completions on `days` (offsets from 2026-06-20, UTC) for a fresh user; returns the user. */
async function learner(sql: postgres.Sql, days: number[]) {
  const { user, intent } = await seedIntent(sql);
  for (const [n, offset] of days.entries()) {
    const [s] = await sql`
      insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
        total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality)
      values (${user}, ${intent}, ${Math.floor(n / 7) + 1}, ${(n % 7) + 1}, '#', '{}', '{}',
        45, false, 0, 4, '{}')
      returning id
    `;
    await sql`
      insert into wisely.completions (session_id, user_id, completion_time_min, confidence,
        completed_at)
      values (${s.id}, ${user}, 40, 7, '2026-06-20T12:00:00Z'::timestamptz + ${offset} * interval '1 day')
    `;
  }
  return { user, intent };
}

async function pause(sql: postgres.Sql, who: IntentOwner, w: {
  from: number;
  to: number;
  resumedOn?: number;
}) {
  await sql`
    insert into wisely.intent_pauses (intent_id, user_id, starts_on, ends_on, resumed_at, resumed_on)
    values (${who.intent}, ${who.user}, '2026-06-20'::date + ${w.from}::int,
      '2026-06-20'::date + ${w.to}::int,
      case when ${w.resumedOn ?? null}::int is not null then now() end,
      '2026-06-20'::date + ${w.resumedOn ?? null}::int)
  `;
}

Deno.test("streak freeze: paused days neither break nor extend the streak", async (t) => {
  const db = await freshDatabase();
  const { sql } = db;
  const streak = async (user: string, day: number) =>
    (await sql`
      select wisely.streak_days(${user}, 'UTC',
        '2026-06-20T18:00:00Z'::timestamptz + ${day} * interval '1 day') as n
    `)[0].n;
  try {
    await t.step("no pause: three days, then broken after a missed day", async () => {
      const l = await learner(sql, [0, 1, 2]);
      assert.equal(await streak(l.user, 2), 3);
      assert.equal(await streak(l.user, 3), 3, "today not done yet");
      assert.equal(await streak(l.user, 4), 0);
    });

    await t.step("3 days, paused 7 days, a completion the day after: 4", async () => {
      const l = await learner(sql, [0, 1, 2, 10]);
      await pause(sql, l, { from: 3, to: 9 });
      assert.equal(await streak(l.user, 6), 3, "during the pause the streak stands");
      assert.equal(await streak(l.user, 10), 4);
      assert.equal(await streak(l.user, 11), 4);
      assert.equal(await streak(l.user, 12), 0, "an active day missed after the pause breaks it");
    });

    await t.step(
      "a resume cuts the freeze short; a paused day with a completion counts",
      async () => {
        const l = await learner(sql, [0, 1, 3]);
        await pause(sql, l, { from: 2, to: 20, resumedOn: 4 });
        assert.equal(await streak(l.user, 3), 3, "day 3 was completed during the pause");
        assert.equal(await streak(l.user, 4), 3, "resumed today, not done yet");
        assert.equal(await streak(l.user, 5), 0, "day 4 was active again and missed");
      },
    );

    await t.step("another user's pause freezes nothing", async () => {
      const l = await learner(sql, [0, 1, 2]);
      const other = await learner(sql, []);
      await pause(sql, other, { from: 3, to: 9 });
      assert.equal(await streak(l.user, 6), 0);
    });
  } finally {
    await db.close();
  }
});

Deno.test("due_day_runs skips paused intents; mark_skipped_sessions marks passed days", async () => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const paused = await learner(sql, []);
    const active = await learner(sql, []);
    await sql`update wisely.intents set plan_time = '00:00'`;
    await sql`
      insert into wisely.intent_pauses (intent_id, user_id, starts_on, ends_on)
      values (${paused.intent}, ${paused.user}, (now() at time zone 'UTC')::date,
        (now() at time zone 'UTC')::date + 2)
    `;
    const due = async (offsetDays: number) =>
      (await sql`
        select user_id from wisely.due_day_runs(now() + ${offsetDays} * interval '1 day', 100)
      `).map((r) => r.user_id).sort();
    assert.deepEqual(await due(0), [active.user]);
    assert.deepEqual(await due(2), [active.user], "the last paused day");
    assert.deepEqual(await due(3), [active.user, paused.user].sort(), "active again by itself");

    // A planned session of yesterday: read as skipped at once, stored as skipped by the tick.
    const [s] = await sql`
      insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
        total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality, planned_on)
      values (${active.user}, ${active.intent}, 1, 1, '#', '{}', '{}', 45, false, 0, 4, '{}',
        (now() at time zone 'UTC')::date - 1)
      returning id, state, wisely.session_state(state, planned_on,
        (now() at time zone 'UTC')::date) as read
    `;
    assert.deepEqual([s.state, s.read], ["planned", "skipped"]);
    assert.equal((await sql`select wisely.mark_skipped_sessions(now()) as n`)[0].n, 1);
    assert.equal(await stateOf(sql, s.id), "skipped");
    assert.equal((await sql`select wisely.mark_skipped_sessions(now()) as n`)[0].n, 0);
  } finally {
    await db.close();
  }
});
