/**
 * The calendar link table and feed function (migration 20260101001200) on a real database,
 * from raw sessions as PostgREST opens them: a learner reads and writes only their own link's
 * hash, `anon` nothing; only the service role may call `wisely.calendar_feed`, which answers
 * one link's data and null for any other hash. And the feed's times agree with Postgres's own
 * `(date + time) at time zone tz` across DST gaps and overlaps, for every zone kind we test.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { calendarFeed } from "../../supabase/functions/_shared/calendar/ics.ts";
import { upcomingDays } from "../../supabase/functions/_shared/calendar/schedule.ts";
import { hashKey, newKey } from "../../supabase/functions/_shared/calendar/keys.ts";
import { localInstant } from "../../supabase/functions/_shared/calendar/local_time.ts";
import { toHex } from "../../supabase/functions/_shared/hex.ts";
import ICAL from "ical.js";
import { asRole, asRoleCommit, freshDatabase } from "../support/db.ts";
import { hasCode, type IntentOwner, refusedAs, seedIntent } from "../support/two_users.ts";

/** A learner with a calendar link. */
interface Linked extends IntentOwner {
  hash: Uint8Array;
}

async function seed(sql: postgres.Sql, topic: string, tz: string): Promise<Linked> {
  const { user, intent } = await seedIntent(sql, {
    topic,
    end_goal: "A goal",
    time_per_day_min: 25,
    user_tz: tz,
    plan_time: "06:45",
  });
  const { hash } = await newKey();
  await asRoleCommit(
    sql,
    "authenticated",
    user,
    (tx) => tx`insert into wisely.calendar_links (user_id, key_hash) values (${user}, ${hash})`,
  );
  return { user, intent, hash };
}

Deno.test("calendar links: own hash only, no anon, the feed function for the service role", async (t) => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const a = await seed(sql, "Rust", "Pacific/Auckland");
    const b = await seed(sql, "Go", "America/New_York");

    await t.step("a learner sees only their own link's hash", async () => {
      const rows = await asRole(
        sql,
        "authenticated",
        a.user,
        (tx) => tx`select user_id, key_hash from wisely.calendar_links`,
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0].user_id, a.user);
      assert.equal(toHex(rows[0].key_hash), toHex(a.hash));
      const byHash = await asRole(
        sql,
        "authenticated",
        a.user,
        (tx) => tx`select 1 from wisely.calendar_links where key_hash = ${b.hash}`,
      );
      assert.equal(byHash.length, 0, "B's hash is invisible even when named");
    });

    await t.step("nor changes, deletes or plants another learner's link", async () => {
      const changed = await asRole(sql, "authenticated", a.user, async (tx) => [
        ...(await tx`update wisely.calendar_links set key_hash = ${a.hash}
          where user_id = ${b.user} returning 1`),
        ...(await tx`delete from wisely.calendar_links where user_id = ${b.user} returning 1`),
      ]);
      assert.deepEqual(changed, []);
      const { hash } = await newKey();
      await refusedAs(
        sql,
        a.user,
        (tx) =>
          tx`insert into wisely.calendar_links (user_id, key_hash) values (${b.user}, ${hash})`,
        "42501",
      );
      await refusedAs(
        sql,
        a.user,
        (tx) =>
          tx`insert into wisely.calendar_links (user_id, key_hash) values (${a.user}, '\\x00')`,
        "23514",
      );
      const [row] = await sql`select key_hash from wisely.calendar_links where user_id = ${b.user}`;
      assert.equal(toHex(row.key_hash), toHex(b.hash));
    });

    await t.step("anon reads nothing and calls nothing", async () => {
      await assert.rejects(
        asRole(sql, "anon", null, (tx) => tx`select * from wisely.calendar_links`),
        hasCode("42501"),
      );
      await assert.rejects(
        asRole(sql, "anon", null, (tx) => tx`select wisely.calendar_feed(${a.hash})`),
        hasCode("42501"),
      );
    });

    await t.step("an authenticated user cannot call the feed function (it skips RLS)", async () => {
      await refusedAs(sql, a.user, (tx) => tx`select wisely.calendar_feed(${b.hash})`, "42501");
    });

    await t.step("the service role gets one link's data, null for any other hash", async () => {
      await sql`
        insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
          total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality, created_at)
        values
          (${a.user}, ${a.intent}, 1, 1, '# p', '{"title": "Borrowing"}', '{}', 25, false, 0, 4,
            '{}', '2026-03-20 09:00Z'),
          -- The latest in programme order, created earlier: the anchor is week/day, not time.
          (${a.user}, ${a.intent}, 1, 2, '# p', '{"title": "Lifetimes"}', '{}', 25, false, 0, 4,
            '{}', '2026-03-21 12:00Z')
      `;
      const feed = (hash: Uint8Array) =>
        asRole(sql, "service_role", null, async (tx) => {
          const [row] = await tx`
            select wisely.calendar_feed(${hash}, '2026-03-22 10:30Z') as feed
          `;
          return row.feed;
        });
      const got = await feed(a.hash);
      assert.deepEqual(got.intent, {
        id: a.intent,
        topic: "Rust",
        time_per_day_min: 25,
        user_tz: "Pacific/Auckland",
        plan_time: "06:45",
        updated_at: got.intent.updated_at,
        paused_until: null,
      });
      // 12:00Z on 21 March is 01:00 on 22 March in Auckland (NZDT, +13), which is "today".
      assert.equal(got.latest.week, 1);
      assert.equal(got.latest.day, 2);
      assert.equal(got.latest.title, "Lifetimes");
      assert.equal(got.latest.local_date, "2026-03-22");
      assert.equal(got.today, "2026-03-22");
      assert.doesNotMatch(JSON.stringify(got), /Go|New_York/, "nothing of B's");

      assert.equal((await feed(b.hash)).intent.topic, "Go");
      // A pause covering today names its last day (the schedule starts after it).
      await sql`
        insert into wisely.intent_pauses (intent_id, user_id, starts_on, ends_on)
        values (${a.intent}, ${a.user}, '2026-03-22', '2026-03-27')
      `;
      assert.equal((await feed(a.hash)).intent.paused_until, "2026-03-27");
      assert.equal(await feed(await hashKey("not a key")), null);
      await sql`update wisely.intents set active = false where id = ${a.intent}`;
      const inactive = await feed(a.hash);
      assert.deepEqual(inactive, { intent: null, latest: null, today: null });
      await asRoleCommit(
        sql,
        "authenticated",
        a.user,
        (tx) => tx`delete from wisely.calendar_links where user_id = ${a.user}`,
      );
      assert.equal(await feed(a.hash), null, "revoked");
    });
  } finally {
    await db.close();
  }
});

const INTENT = {
  id: crypto.randomUUID(),
  topic: "T",
  timePerDayMin: 30,
  timeZone: "UTC",
  planTime: "07:30",
};

Deno.test("every zone the database accepts gives a feed; all but two with a VTIMEZONE", async () => {
  const db = await freshDatabase();
  try {
    const rows = await db.sql<{ name: string }[]>`select name from wisely.time_zones`;
    assert.ok(rows.length > 300);
    const days = upcomingDays({ today: "2026-03-22", latest: null, count: 2 });
    const utc: string[] = [];
    for (const { name } of rows) {
      const text = calendarFeed({
        intent: { ...INTENT, timeZone: name },
        days,
        stamp: new Date(0),
      });
      const calendar = new ICAL.Component(ICAL.parse(text));
      const defined = calendar.getAllSubcomponents("vtimezone")
        .map((zone) => zone.getFirstPropertyValue("tzid"));
      const starts = calendar.getAllSubcomponents("vevent")
        .map((event) => event.getFirstProperty("dtstart"));
      assert.equal(starts.length, 2, name);
      const tzids = starts.map((start) => start?.getParameter("tzid") ?? null);
      if (tzids.every((tzid) => tzid === null)) {
        utc.push(name);
        continue;
      }
      // Every TZID an event names is one the feed defines, and the local time is plan_time.
      assert.deepEqual(tzids, [defined[0], defined[0]], name);
      assert.equal(defined.length, 1, name);
      assert.equal(String(starts[0]?.getFirstValue()), "2026-03-22T07:30:00", name);
    }
    // Factory has no VTIMEZONE, posixrules (a legacy alias some builds list) no Intl zone.
    const expected = new Set(["Factory", "posixrules", "UTC"]);
    assert.ok(utc.includes("UTC") && utc.includes("Factory"), utc.join());
    assert.deepEqual(utc.filter((name) => !expected.has(name)), []);
  } finally {
    await db.close();
  }
});

/** Zones with the shapes DST takes: north and south, 30- and 45-minute offsets, none. */
const ZONES = [
  "Europe/Berlin",
  "America/New_York",
  "Australia/Sydney",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "Asia/Kolkata",
];

/** The zone's UTC offset at `ms` as Intl names it, e.g. `GMT+13:45`. */
function offsetName(zone: string, ms: number): string {
  return new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
    .formatToParts(ms).find((p) => p.type === "timeZoneName")?.value ?? "";
}

/** The dates of 2026 on which `zone`'s offset changes, and the days before them. */
function changeDates(zone: string): string[] {
  const dates: string[] = [];
  const dayMs = 86_400_000;
  for (let ms = Date.UTC(2026, 0, 1, 12); ms < Date.UTC(2027, 0, 1); ms += dayMs) {
    if (offsetName(zone, ms) !== offsetName(zone, ms + dayMs)) {
      for (const at of [ms, ms + dayMs]) dates.push(new Date(at).toISOString().slice(0, 10));
    }
  }
  return dates;
}

Deno.test("local times agree with Postgres across DST gaps and overlaps", async () => {
  const db = await freshDatabase();
  try {
    const zones: string[] = [];
    const dates: string[] = [];
    const times: string[] = [];
    for (const zone of ZONES) {
      for (const date of changeDates(zone)) {
        for (let m = 0; m < 24 * 60; m += 15) {
          zones.push(zone);
          dates.push(date);
          times.push(
            `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`,
          );
        }
      }
    }
    assert.ok(new Set(zones).size >= 5 && dates.length > 1000, "DST dates were found");
    const rows = await db.sql<{ zone: string; date: string; time: string; at: Date }[]>`
      select z as zone, d as date, t as time, (d::date + t::time) at time zone z as at
      from unnest(${zones}::text[], ${dates}::text[], ${times}::text[]) as u (z, d, t)
    `;
    const disagree = rows.filter((r) =>
      localInstant(r.date, r.time, r.zone).getTime() !== r.at.getTime()
    ).map((r) => `${r.zone} ${r.date} ${r.time}: postgres ${r.at.toISOString()}`);
    assert.deepEqual(disagree, []);
  } finally {
    await db.close();
  }
});
