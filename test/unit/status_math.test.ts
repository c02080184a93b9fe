/**
 * The status route's date math, in SQL (supabase/migrations/*_wisely_status.sql): streaks over
 * local calendar days, the next run's instant across DST changes, and the whole
 * wisely.user_status() document as a signed-in user sees it.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { asRole, createUser, freshDatabase } from "../support/db.ts";

interface IntentSeed {
  tz?: string;
  planTime?: string;
  active?: boolean;
  topic?: string;
  meta?: Record<string, postgres.JSONValue>;
  createdAt?: string;
}

async function addIntent(sql: postgres.Sql, user: string, seed: IntentSeed = {}): Promise<string> {
  const [row] = await sql`
    insert into wisely.intents (user_id, topic, depth, end_goal, time_per_day_min, user_tz,
      plan_time, meta, active, created_at, updated_at)
    values (${user}, ${seed.topic ?? "Linear algebra"}, 'informed', 'Read papers', 60,
      ${seed.tz ?? "UTC"}, ${seed.planTime ?? "07:00"}, ${sql.json(seed.meta ?? {})},
      ${seed.active ?? true}, ${seed.createdAt ?? "2026-01-01T00:00:00Z"},
      ${seed.createdAt ?? "2026-01-01T00:00:00Z"})
    returning id
  `;
  return row.id;
}

interface SessionSeed {
  week: number;
  day: number;
  createdAt: string;
  title?: string;
}

async function addSession(
  sql: postgres.Sql,
  user: string,
  intent: string,
  seed: SessionSeed,
): Promise<string> {
  const [row] = await sql`
    insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
      total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality, created_at,
      updated_at)
    values (${user}, ${intent}, ${seed.week}, ${seed.day}, '# plan',
      ${sql.json({ title: seed.title ?? `Week ${seed.week} day ${seed.day}` })}, '{}', 60, false,
      2, 2, '{}', ${seed.createdAt}, ${seed.createdAt})
    returning id
  `;
  return row.id;
}

interface CompletionSeed {
  at: string;
  minutes?: number;
  confidence?: number;
  notes?: string | null;
}

async function addCompletion(
  sql: postgres.Sql,
  user: string,
  session: string,
  seed: CompletionSeed,
): Promise<void> {
  await sql`
    insert into wisely.completions (session_id, user_id, completion_time_min, confidence, notes,
      completed_at, updated_at)
    values (${session}, ${user}, ${seed.minutes ?? 30}, ${seed.confidence ?? 7},
      ${seed.notes ?? null}, ${seed.at}, ${seed.at})
  `;
}

/** A user with one completed session per instant (an inactive intent: streaks ignore intents). */
async function userWithCompletions(sql: postgres.Sql, instants: string[]): Promise<string> {
  const user = await createUser(sql);
  const intent = await addIntent(sql, user, { active: false });
  for (const [i, at] of instants.entries()) {
    const session = await addSession(sql, user, intent, {
      week: Math.floor(i / 7) + 1,
      day: (i % 7) + 1,
      createdAt: at,
    });
    await addCompletion(sql, user, session, { at });
  }
  return user;
}

async function streak(sql: postgres.Sql, user: string, tz: string, now: string): Promise<number> {
  const [row] = await sql`
    select wisely.streak_days(${user}, ${tz}, ${now}::timestamptz) as n
  `;
  return row.n;
}

async function nextRun(
  sql: postgres.Sql,
  tz: string,
  planTime: string,
  afterLocalDate: string | null,
  now: string,
): Promise<string> {
  const [row] = await sql`
    select wisely.iso_utc(wisely.next_run_at(${tz}, ${planTime}::time, ${afterLocalDate}::date,
      ${now}::timestamptz)) as at
  `;
  return row.at;
}

/** The status document as `user` sees it, through RLS. */
function userStatus(sql: postgres.Sql, user: string, now: string): Promise<unknown> {
  return asRole(sql, "authenticated", user, async (tx) => {
    const [row] = await tx`select wisely.user_status(${now}::timestamptz) as status`;
    return row.status;
  });
}

Deno.test("status math: streaks, next run and the status document", async (t) => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const enabledAgents = (await sql`select name from wisely.agents where enabled order by name`)
      .map((row) => String(row.name));
    const noSignals = Object.fromEntries(
      enabledAgents.map((name) => [name, { available: false, fresh: false, last_updated: null }]),
    );

    await t.step("streak: ending today, ending yesterday, broken (UTC)", async () => {
      const user = await userWithCompletions(sql, [
        "2026-04-29T12:00:00Z", // before a gap: not part of the streak
        "2026-05-01T12:00:00Z",
        "2026-05-02T08:00:00Z",
        "2026-05-02T20:00:00Z", // a second completion the same day counts once
        "2026-05-03T12:00:00Z",
      ]);
      assert.equal(await streak(sql, user, "UTC", "2026-05-03T23:59:59Z"), 3, "ends today");
      assert.equal(await streak(sql, user, "UTC", "2026-05-04T00:00:00Z"), 3, "ends yesterday");
      assert.equal(await streak(sql, user, "UTC", "2026-05-04T23:59:59Z"), 3, "still yesterday");
      assert.equal(await streak(sql, user, "UTC", "2026-05-05T00:00:00Z"), 0, "broken");
      assert.equal(await streak(sql, user, "UTC", "2026-04-30T12:00:00Z"), 1, "gap on 04-30");
      const nobody = await createUser(sql);
      assert.equal(await streak(sql, nobody, "UTC", "2026-05-03T12:00:00Z"), 0, "no history");
    });

    await t.step("streak: America/New_York across spring forward (2026-03-08)", async () => {
      const user = await userWithCompletions(sql, [
        "2026-03-07T04:59:59Z", // Mar 6 23:59:59 EST
        "2026-03-07T05:00:00Z", // Mar 7 00:00:00 EST
        "2026-03-09T03:59:59Z", // Mar 8 23:59:59 EDT (the 23-hour day)
      ]);
      // Local days Mar 6, 7, 8: consecutive. In UTC they are Mar 7, 7, 9: not.
      assert.equal(await streak(sql, user, "America/New_York", "2026-03-09T12:00:00Z"), 3);
      assert.equal(await streak(sql, user, "UTC", "2026-03-09T12:00:00Z"), 1);
      // Mar 9 23:59:59 EDT: still "yesterday"; one second later it is Mar 10 and broken.
      assert.equal(await streak(sql, user, "America/New_York", "2026-03-10T03:59:59Z"), 3);
      assert.equal(await streak(sql, user, "America/New_York", "2026-03-10T04:00:00Z"), 0);
    });

    await t.step("streak: America/New_York across fall back (2026-11-01)", async () => {
      const user = await userWithCompletions(sql, [
        "2026-10-31T04:00:00Z", // Oct 31 00:00 EDT
        "2026-11-01T06:30:00Z", // Nov 1 01:30 EST, the second 01:30 of the 25-hour day
        "2026-11-02T04:30:00Z", // Nov 1 23:30 EST (Nov 2 in UTC)
        "2026-11-02T05:00:00Z", // Nov 2 00:00 EST
      ]);
      assert.equal(await streak(sql, user, "America/New_York", "2026-11-02T12:00:00Z"), 3);
      // As of Nov 1 23:59 EST: Oct 31 and Nov 1.
      assert.equal(await streak(sql, user, "America/New_York", "2026-11-02T04:59:59Z"), 2);
      // Nov 3 23:59:59 EST still counts Nov 2 as yesterday; Nov 4 00:00 EST does not.
      assert.equal(await streak(sql, user, "America/New_York", "2026-11-04T04:59:59Z"), 3);
      assert.equal(await streak(sql, user, "America/New_York", "2026-11-04T05:00:00Z"), 0);
    });

    await t.step("streak: Asia/Kolkata (+05:30) near local midnight", async () => {
      const user = await userWithCompletions(sql, [
        "2026-06-01T18:29:59Z", // Jun 1 23:59:59 IST
        "2026-06-01T18:30:00Z", // Jun 2 00:00:00 IST
        "2026-06-03T10:00:00Z", // Jun 3 15:30 IST
      ]);
      assert.equal(await streak(sql, user, "Asia/Kolkata", "2026-06-03T12:00:00Z"), 3);
      // The same instants in UTC fall on Jun 1, 1, 3.
      assert.equal(await streak(sql, user, "UTC", "2026-06-03T12:00:00Z"), 1);
      // Jun 4 23:59:59 IST = 18:29:59Z: yesterday (Jun 3) still counts.
      assert.equal(await streak(sql, user, "Asia/Kolkata", "2026-06-04T18:29:59Z"), 3);
      assert.equal(await streak(sql, user, "Asia/Kolkata", "2026-06-04T18:30:00Z"), 0);
    });

    await t.step("streak: a long run is counted in full", async () => {
      const user = await createUser(sql);
      const intent = await addIntent(sql, user, { active: false });
      await sql`
        with days as (
          select n, timestamptz '2025-01-01 12:00:00Z' + n * interval '1 day' as at
          from generate_series(0, 399) as n
        ),
        made as (
          insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
            total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality, created_at)
          select ${user}, ${intent}, n / 7 + 1, n % 7 + 1, '# plan', '{}', '{}', 60, false, 0, 0,
            '{}', at
          from days
          returning id, created_at
        )
        insert into wisely.completions (session_id, user_id, completion_time_min, confidence,
          completed_at)
        select id, ${user}, 30, 7, created_at from made
      `;
      // Day 399 is 2026-02-04.
      assert.equal(await streak(sql, user, "UTC", "2026-02-04T20:00:00Z"), 400);
      assert.equal(await streak(sql, user, "UTC", "2026-02-05T20:00:00Z"), 400);
      assert.equal(await streak(sql, user, "UTC", "2026-02-06T00:00:00Z"), 0);
    });

    await t.step("next run: today's slot, a passed slot, a session today (UTC)", async () => {
      assert.equal(
        await nextRun(sql, "UTC", "07:00", null, "2026-05-01T06:00:00Z"),
        "2026-05-01T07:00:00.000Z",
        "no session: today's slot counts",
      );
      assert.equal(
        await nextRun(sql, "UTC", "07:00", null, "2026-05-01T07:00:00Z"),
        "2026-05-01T07:00:00.000Z",
        "exactly now is not in the past",
      );
      assert.equal(
        await nextRun(sql, "UTC", "07:00", null, "2026-05-01T07:00:01Z"),
        "2026-05-02T07:00:00.000Z",
        "plan time already passed today",
      );
      assert.equal(
        await nextRun(sql, "UTC", "07:00", "2026-05-01", "2026-05-01T06:00:00Z"),
        "2026-05-02T07:00:00.000Z",
        "latest session today: tomorrow, though today's slot is still ahead",
      );
      assert.equal(
        await nextRun(sql, "UTC", "07:00", "2026-04-20", "2026-05-01T06:00:00Z"),
        "2026-05-01T07:00:00.000Z",
        "latest session long ago: the first slot not in the past",
      );
      assert.equal(
        await nextRun(sql, "UTC", "07:00", "2026-04-20", "2026-05-01T08:00:00Z"),
        "2026-05-02T07:00:00.000Z",
      );
    });

    await t.step("next run: America/New_York across DST changes", async () => {
      // 07:00 on Mar 8 is EDT (UTC-4): not 24 hours after 07:00 EST on Mar 7.
      assert.equal(
        await nextRun(sql, "America/New_York", "07:00", "2026-03-07", "2026-03-07T18:00:00Z"),
        "2026-03-08T11:00:00.000Z",
      );
      assert.equal(
        await nextRun(sql, "America/New_York", "07:00", null, "2026-03-07T11:00:00Z"),
        "2026-03-07T12:00:00.000Z",
      );
      // 07:00 on Nov 1 is EST again (UTC-5).
      assert.equal(
        await nextRun(sql, "America/New_York", "07:00", "2026-10-31", "2026-10-31T18:00:00Z"),
        "2026-11-01T12:00:00.000Z",
      );
      // 02:30 on Mar 8 does not exist: read with the pre-change offset (EST), i.e. 03:30 EDT.
      assert.equal(
        await nextRun(sql, "America/New_York", "02:30", "2026-03-07", "2026-03-07T18:00:00Z"),
        "2026-03-08T07:30:00.000Z",
      );
      // 01:30 on Nov 1 happens twice: the later one (EST).
      assert.equal(
        await nextRun(sql, "America/New_York", "01:30", "2026-10-31", "2026-10-31T18:00:00Z"),
        "2026-11-01T06:30:00.000Z",
      );
    });

    await t.step("next run: Asia/Kolkata, where the local date runs ahead of UTC", async () => {
      assert.equal(
        await nextRun(sql, "Asia/Kolkata", "07:00", null, "2026-06-01T00:00:00Z"),
        "2026-06-01T01:30:00.000Z",
      );
      assert.equal(
        await nextRun(sql, "Asia/Kolkata", "07:00", null, "2026-06-01T02:00:00Z"),
        "2026-06-02T01:30:00.000Z",
      );
      // 20:00Z on Jun 1 is already Jun 2 01:30 IST.
      assert.equal(
        await nextRun(sql, "Asia/Kolkata", "07:00", null, "2026-06-01T20:00:00Z"),
        "2026-06-02T01:30:00.000Z",
      );
      assert.equal(
        await nextRun(sql, "Asia/Kolkata", "07:00", "2026-06-02", "2026-06-01T20:00:00Z"),
        "2026-06-03T01:30:00.000Z",
      );
    });

    await t.step("user_status: no intent, no history", async () => {
      const user = await createUser(sql);
      assert.deepEqual(await userStatus(sql, user, "2026-05-01T12:00:00Z"), {
        user_id: user,
        active_intent: null,
        latest_session: null,
        signal_freshness: noSignals,
        next_scheduled_run: null,
        learning_stats: {
          total_sessions: 0,
          completed_sessions: 0,
          total_time_min: 0,
          average_confidence: null,
          current_streak_days: 0,
        },
      });
    });

    await t.step("user_status: no active intent, but history (streak in UTC)", async () => {
      const user = await userWithCompletions(sql, [
        "2026-05-01T23:30:00Z",
        "2026-05-02T00:30:00Z",
      ]);
      assert.deepEqual(await userStatus(sql, user, "2026-05-02T12:00:00Z"), {
        user_id: user,
        active_intent: null,
        latest_session: null,
        signal_freshness: noSignals,
        next_scheduled_run: null,
        learning_stats: {
          total_sessions: 2,
          completed_sessions: 2,
          total_time_min: 60,
          average_confidence: 7,
          current_streak_days: 2,
        },
      });
    });

    await t.step("user_status: an intent with no session yet", async () => {
      const user = await createUser(sql);
      const intent = await addIntent(sql, user, {
        tz: "Asia/Kolkata",
        planTime: "07:00",
        createdAt: "2026-06-01T00:00:00Z",
      });
      const status = await userStatus(sql, user, "2026-06-01T00:30:00Z");
      assert.ok(typeof status === "object" && status !== null);
      assert.deepEqual(Object.keys(status).sort(), [
        "active_intent",
        "latest_session",
        "learning_stats",
        "next_scheduled_run",
        "signal_freshness",
        "user_id",
      ]);
      assert.ok("active_intent" in status && "latest_session" in status);
      assert.ok("next_scheduled_run" in status);
      assert.deepEqual(status.active_intent, {
        id: intent,
        topic: "Linear algebra",
        depth: "informed",
        end_goal: "Read papers",
        time_per_day_min: 60,
        user_tz: "Asia/Kolkata",
        created_at: "2026-06-01T00:00:00.000Z",
        updated_at: "2026-06-01T00:00:00.000Z",
        meta: { plan_time: "07:00" },
        state: "active",
        paused_until: null,
      });
      assert.equal(status.latest_session, null);
      assert.deepEqual(status.next_scheduled_run, {
        week: 1,
        day: 1,
        estimated_time: "2026-06-01T01:30:00.000Z",
        timezone: "Asia/Kolkata",
      });
    });

    // A learner in New York: an older intent with history, then the active one whose latest
    // session is week 1 day 7, completed on Mar 7 (EST); the next run is week 2 day 1 on Mar 8,
    // the spring-forward day, at 06:30 EDT.
    const user = await createUser(sql);
    const oldIntent = await addIntent(sql, user, { active: false, topic: "Statistics" });
    const old1 = await addSession(sql, user, oldIntent, {
      week: 1,
      day: 1,
      createdAt: "2026-03-05T15:00:00Z",
    });
    await addCompletion(sql, user, old1, {
      at: "2026-03-05T20:00:00Z",
      minutes: 30,
      confidence: 6,
    });
    const old2 = await addSession(sql, user, oldIntent, {
      week: 1,
      day: 2,
      createdAt: "2026-03-06T15:00:00Z",
    });
    await addCompletion(sql, user, old2, {
      at: "2026-03-06T20:00:00Z",
      minutes: 50,
      confidence: 9,
    });
    const intent = await addIntent(sql, user, {
      tz: "America/New_York",
      planTime: "06:30",
      topic: "Machine Learning",
      meta: { learning_style: "project-first", plan_time: "05:00" },
      createdAt: "2026-03-01T12:00:00Z",
    });
    await addSession(sql, user, intent, { week: 1, day: 6, createdAt: "2026-03-06T16:00:00Z" });
    const latest = await addSession(sql, user, intent, {
      week: 1,
      day: 7,
      createdAt: "2026-03-07T15:00:00Z",
      title: "Neural Network Fundamentals",
    });
    await addCompletion(sql, user, latest, {
      at: "2026-03-07T23:00:00Z",
      minutes: 45,
      confidence: 7,
      notes: "Struggled with backprop",
    });
    const cache = async (agent: string, scopeKey: string, validatedAt: string) => {
      await sql`
        insert into wisely.agent_cache (user_id, agent, scope_key, etag, payload, fetched_at,
          validated_at)
        values (${user}, ${agent}, ${scopeKey}, '"e"', '{}', ${validatedAt}, ${validatedAt})
      `;
    };
    const now = "2026-03-08T03:00:00Z"; // Mar 7 22:00 EST
    await cache("clo", `intent:${intent}:w1`, "2026-03-08T02:00:00Z"); // 1 h old, window 7 days
    await cache("clo", `intent:${intent}:w0`, "2026-02-01T00:00:00Z"); // older row, same intent
    await cache("alex", `intent:${intent}`, "2026-02-26T03:00:00Z"); // 10 days, window 7 days
    // 52 days old: past 7 × its 7-day window.
    await cache("ta", `intent:${intent}:w1:d7`, "2026-01-15T03:00:00Z");
    await cache("ta", `intent:${oldIntent}:w1:d2`, "2026-03-08T02:30:00Z"); // another intent's
    // Keys that only look like this intent's: neither is 'intent:<id>' nor starts 'intent:<id>:'.
    await cache("socratic", `intent:${intent}x:w1:d7`, "2026-03-08T02:30:00Z");
    await cache("socratic", `intent:${intent}0`, "2026-03-08T02:30:00Z");

    const expected = {
      user_id: user,
      active_intent: {
        id: intent,
        topic: "Machine Learning",
        depth: "informed",
        end_goal: "Read papers",
        time_per_day_min: 60,
        user_tz: "America/New_York",
        created_at: "2026-03-01T12:00:00.000Z",
        updated_at: "2026-03-01T12:00:00.000Z",
        // The plan_time column wins over a stale copy in meta.
        meta: { learning_style: "project-first", plan_time: "06:30" },
        state: "active",
        paused_until: null,
      },
      latest_session: {
        id: latest,
        week: 1,
        day: 7,
        revision: 1,
        topic: "Machine Learning",
        plan_title: "Neural Network Fundamentals",
        degraded_mode: false,
        created_at: "2026-03-07T15:00:00.000Z",
        state: "completed",
        completion: {
          completion_time_min: 45,
          confidence: 7,
          notes: "Struggled with backprop",
          completed_at: "2026-03-07T23:00:00.000Z",
        },
      },
      signal_freshness: {
        ...noSignals,
        clo: { available: true, fresh: true, last_updated: "2026-03-08T02:00:00.000Z" },
        alex: { available: true, fresh: false, last_updated: "2026-02-26T03:00:00.000Z" },
        ta: { available: false, fresh: false, last_updated: "2026-01-15T03:00:00.000Z" },
        socratic: { available: false, fresh: false, last_updated: null },
      },
      next_scheduled_run: {
        week: 2,
        day: 1,
        estimated_time: "2026-03-08T10:30:00.000Z",
        timezone: "America/New_York",
      },
      learning_stats: {
        // All intents: 2 old sessions + 2 current.
        total_sessions: 4,
        completed_sessions: 3,
        total_time_min: 125,
        average_confidence: 7.3, // (6 + 9 + 7) / 3
        current_streak_days: 3, // Mar 5, 6, 7 local
      },
    };

    await t.step("user_status: full document for a learner in New York", async () => {
      assert.deepEqual(await userStatus(sql, user, now), expected);
    });

    await t.step("user_status: another user sees none of it", async () => {
      const other = await createUser(sql);
      const status = await userStatus(sql, other, now);
      assert.ok(typeof status === "object" && status !== null && "learning_stats" in status);
      assert.ok("user_id" in status && "active_intent" in status);
      assert.equal(status.user_id, other);
      assert.equal(status.active_intent, null);
      assert.deepEqual(status.learning_stats, {
        total_sessions: 0,
        completed_sessions: 0,
        total_time_min: 0,
        average_confidence: null,
        current_streak_days: 0,
      });
    });

    await t.step("user_status: the service role acting for the user agrees", async () => {
      const status = await asRole(sql, "service_role", user, async (tx) => {
        const [row] = await tx`select wisely.user_status(${now}::timestamptz) as status`;
        return row.status;
      });
      assert.deepEqual(status, expected);
    });

    await t.step(
      "user_status: disabled agents are left out; stale factor from settings",
      async () => {
        const status = await asRole(sql, "service_role", user, async (tx) => {
          await tx`update wisely.agents set enabled = false where name = 'socratic'`;
          await tx`update wisely.settings set value = '1' where key = 'agent.stale_factor'`;
          const [row] = await tx`select wisely.user_status(${now}::timestamptz) as status`;
          return row.status;
        });
        assert.ok(typeof status === "object" && status !== null && "signal_freshness" in status);
        const { socratic: _, ...rest } = expected.signal_freshness;
        assert.deepEqual(status.signal_freshness, {
          ...rest,
          // 10 days old with a 7-day window and a stale factor of 1: no longer usable.
          alex: { available: false, fresh: false, last_updated: "2026-02-26T03:00:00.000Z" },
        });
      },
    );

    await t.step(
      "user_status: the next week starts after day 7; streak relative to now",
      async () => {
        const later = await userStatus(sql, user, "2026-03-09T12:00:00Z"); // Mar 9 08:00 EDT
        assert.ok(typeof later === "object" && later !== null && "next_scheduled_run" in later);
        assert.ok("learning_stats" in later);
        // Mar 8's slot has passed: Mar 9 at 06:30 EDT has too, so Mar 10.
        assert.deepEqual(later.next_scheduled_run, {
          week: 2,
          day: 1,
          estimated_time: "2026-03-10T10:30:00.000Z",
          timezone: "America/New_York",
        });
        // Mar 7 was the last completion: on Mar 9 the streak is broken.
        assert.deepEqual(later.learning_stats, {
          ...expected.learning_stats,
          current_streak_days: 0,
        });
      },
    );

    await t.step("user_status: needs a user; anon may not call it", async () => {
      await assert.rejects(
        asRole(sql, "service_role", null, (tx) => tx`select wisely.user_status()`),
        (error: unknown) =>
          typeof error === "object" && error !== null && "code" in error &&
          error.code === "28000",
      );
      await assert.rejects(
        asRole(sql, "anon", null, (tx) => tx`select wisely.user_status()`),
        (error: unknown) =>
          typeof error === "object" && error !== null && "code" in error &&
          error.code === "42501",
      );
    });
  } finally {
    await db.close();
  }
});
