/**
 * The first step of day.run (`run_day/claim.ts` loadDay) on a real database, with the race it
 * guards against made deterministic: a run of the day that finishes between the first look at
 * the session and the claim. The load transaction ends with the claim (its COMMIT goes out with
 * the claim's statements), so this case takes a second transaction, which must release the
 * claim and return that run's session, opened.
 *
 * The race is staged by a trigger on `wisely.run_claims` that stores the day's session in the
 * claiming transaction itself: the first look (before the claim) misses it, the second look
 * (after it) finds it. No timing is involved.
 */
import assert from "node:assert/strict";
import { runScopeKeys } from "../../supabase/functions/_shared/agents/scope.ts";
import { DayRunBody } from "../../supabase/functions/_shared/schemas.ts";
import { userDb } from "../../supabase/functions/_shared/user_db.ts";
import { loadDay } from "../../supabase/functions/orchestrator/run_day/claim.ts";
import { asRoleCommit, freshDatabase } from "../support/db.ts";
import { seedLearner } from "../support/two_users.ts";

const EDGE_BASE_URL = "http://127.0.0.1:1/functions/v1";

Deno.test("day.run's first step: a claim, or the session a run finished meanwhile", async (t) => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const learner = await seedLearner(sql);
    const day = (week: number, dayOfWeek: number) => ({
      userId: learner.user,
      db: userDb(sql, { sub: learner.user, role: "authenticated" }),
      body: DayRunBody.parse({ week, day: dayOfWeek }),
    });
    const claims = (dayOfWeek: number) =>
      sql<{ n: number }[]>`
        select count(*)::int as n from wisely.run_claims
        where intent_id = ${learner.intent} and week = 1 and day = ${dayOfWeek}
      `.then(([row]) => row.n);

    await t.step("no session: the day is claimed, and the claim is committed", async () => {
      const loaded = await loadDay(day(1, 4), EDGE_BASE_URL, true);
      assert.equal(loaded.kind, "run");
      assert.equal(await claims(4), 1, "seen from another connection: committed");
    });

    await t.step(
      "the claim reads the cache rows of the day's keys as scope.ts names them",
      async () => {
        const keys = runScopeKeys(learner.intent, 1, 7);
        const otherDay = runScopeKeys(learner.intent, 1, 6).at(-1)!;
        for (const key of [...keys, otherDay]) {
          await sql`
          insert into wisely.agent_cache (user_id, agent, scope_key, etag, payload)
          values (${learner.user}, 'clo', ${key}, '"e"', '{}')
        `;
        }
        const [row] = await asRoleCommit(
          sql,
          "authenticated",
          learner.user,
          (tx) =>
            tx<{ kind: string; cache: { scope_key: string }[] }[]>`
          select kind, cache from wisely.claim_day(${learner.user}, 1, 7, false, false, true, 21,
            60)
        `,
        );
        assert.equal(row.kind, "run");
        assert.deepEqual(
          row.cache.map((r) => r.scope_key).sort(),
          [...keys].sort(),
        );
      },
    );

    await t.step("a run finished meanwhile: its session, opened, and no claim", async () => {
      await sql.unsafe(`
        create function public.test_finish_run() returns trigger
        language plpgsql security definer set search_path = '' as $$
        begin
          insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary,
            plan, total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality)
          values (new.user_id, new.intent_id, new.week, new.day, '# finished meanwhile', '{}',
            '{}', 45, false, 4, 0, '{}');
          return new;
        end $$;
        create trigger test_finish_run after insert on wisely.run_claims
          for each row execute function public.test_finish_run();
      `);
      try {
        const loaded = await loadDay(day(1, 3), EDGE_BASE_URL, true);
        assert.equal(loaded.kind, "existing");
        if (loaded.kind !== "existing") return;
        assert.equal(loaded.session.plan_md, "# finished meanwhile");
        assert.equal(await claims(3), 0, "the claim was released");
        const [stored] = await sql`
          select opened_at from wisely.sessions where id = ${loaded.session.id}
        `;
        assert.ok(stored.opened_at instanceof Date, "the learner was shown it: opened");
      } finally {
        await sql.unsafe(`
          drop trigger test_finish_run on wisely.run_claims;
          drop function public.test_finish_run();
        `);
      }
    });

    await t.step("a stored session is returned as it is, opened, with no claim", async () => {
      const loaded = await loadDay(day(1, 2), EDGE_BASE_URL, true);
      assert.equal(loaded.kind, "existing");
      if (loaded.kind === "existing") assert.equal(loaded.session.id, learner.openSession);
      assert.equal(await claims(2), 0);
    });

    // Planned for today in the intent's zone, so it is not stale whatever the hour.
    const [{ today }] = await sql`
      select (now() at time zone user_tz)::date::text as today
      from wisely.intents where id = ${learner.intent}
    `;

    await t.step("an unopened session is marked opened only for the learner", async () => {
      const [{ id }] = await sql`
        insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
          total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality, planned_on)
        values (${learner.user}, ${learner.intent}, 1, 5, '# unopened', '{}', '{}', 45, false,
          4, 0, '{}', ${today})
        returning id
      `;
      const openedAt = () =>
        sql`select opened_at from wisely.sessions where id = ${id}`.then(([r]) => r.opened_at);
      const ticked = await loadDay(day(1, 5), EDGE_BASE_URL, false);
      assert.equal(ticked.kind, "existing");
      assert.equal(await openedAt(), null, "day.tick's read leaves it unopened");
      const shown = await loadDay(day(1, 5), EDGE_BASE_URL, true);
      assert.equal(shown.kind, "existing");
      if (shown.kind === "existing") assert.equal(shown.session.plan_md, "# unopened");
      assert.ok((await openedAt()) instanceof Date, "the learner's read opens it");
      assert.equal(await claims(5), 0);
    });

    await t.step("the intent replaced within the read: read again, then no intent", async () => {
      // Marking the session opened deactivates the intent in the same transaction: the second
      // look finds no session of an active intent, and the read again finds no intent.
      await sql.unsafe(`
        create function public.test_replace_intent() returns trigger
        language plpgsql security definer set search_path = '' as $$
        begin
          update wisely.intents set active = false where id = new.intent_id;
          return new;
        end $$;
        create trigger test_replace_intent after update of opened_at on wisely.sessions
          for each row execute function public.test_replace_intent();
      `);
      try {
        const [{ id }] = await sql`
          insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary,
            plan, total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality,
            planned_on)
          values (${learner.user}, ${learner.intent}, 1, 6, '# replaced', '{}', '{}', 45, false,
            4, 0, '{}', ${today})
          returning id
        `;
        const loaded = await loadDay(day(1, 6), EDGE_BASE_URL, true);
        assert.equal(loaded.kind, "no_intent");
        const [intent] = await sql`select active from wisely.intents where id = ${learner.intent}`;
        assert.equal(intent.active, false, "the trigger ran: the first read saw the session");
        const [session] = await sql`select opened_at from wisely.sessions where id = ${id}`;
        assert.ok(session.opened_at instanceof Date);
      } finally {
        await sql.unsafe(`
          drop trigger test_replace_intent on wisely.sessions;
          drop function public.test_replace_intent();
          update wisely.intents set active = true where id = '${learner.intent}';
        `);
      }
    });
  } finally {
    await db.close();
  }
});
