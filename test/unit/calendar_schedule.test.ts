/** Which learning day falls on which local date (_shared/calendar/schedule.ts), pure. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  addDays,
  FEED_DAYS,
  upcomingDays,
} from "../../supabase/functions/_shared/calendar/schedule.ts";

Deno.test("addDays crosses months, leap days and years", () => {
  assert.equal(addDays("2026-03-28", 4), "2026-04-01");
  assert.equal(addDays("2028-02-28", 1), "2028-02-29");
  assert.equal(addDays("2026-02-28", 1), "2026-03-01");
  assert.equal(addDays("2026-12-31", 1), "2027-01-01");
  assert.equal(addDays("2026-01-01", 0), "2026-01-01");
  assert.throws(() => addDays("2026-1-1", 1), RangeError);
});

Deno.test("no session yet: week 1 day 1 today, then one day per local date", () => {
  const days = upcomingDays({ today: "2026-03-22", latest: null });
  assert.equal(days.length, FEED_DAYS);
  assert.deepEqual(days[0], { week: 1, day: 1, date: "2026-03-22", title: null });
  assert.deepEqual(days[6], { week: 1, day: 7, date: "2026-03-28", title: null });
  assert.deepEqual(days[7], { week: 2, day: 1, date: "2026-03-29", title: null });
  assert.deepEqual(days[13], { week: 2, day: 7, date: "2026-04-04", title: null });
});

Deno.test("latest session created today: it is today's event, with its title", () => {
  const days = upcomingDays({
    today: "2026-03-22",
    latest: { week: 1, day: 7, localDate: "2026-03-22", title: "Lifetimes" },
  });
  assert.deepEqual(days.slice(0, 2), [
    { week: 1, day: 7, date: "2026-03-22", title: "Lifetimes" },
    { week: 2, day: 1, date: "2026-03-23", title: null },
  ]);
  assert.equal(days.length, FEED_DAYS);
});

Deno.test("latest session from an earlier date: the next day is today, not in the past", () => {
  // As day.tick: the day after the latest is due on the date after it, or at once if that
  // date has passed (a learner back after a gap).
  for (const localDate of ["2026-03-21", "2026-03-01"]) {
    const days = upcomingDays({
      today: "2026-03-22",
      latest: { week: 3, day: 2, localDate, title: "Traits" },
    });
    assert.deepEqual(days[0], { week: 3, day: 3, date: "2026-03-22", title: null });
    assert.ok(days.every((d) => d.title === null), "only the latest session has a title");
  }
});

Deno.test("the programme ends at week 520 day 7", () => {
  const days = upcomingDays({
    today: "2026-03-22",
    latest: { week: 520, day: 5, localDate: "2026-03-21", title: null },
  });
  assert.deepEqual(days.map((d) => [d.week, d.day]), [[520, 6], [520, 7]]);
  assert.deepEqual(
    upcomingDays({
      today: "2026-03-22",
      latest: { week: 520, day: 7, localDate: "2026-03-20", title: null },
    }),
    [],
  );
});

Deno.test("property: consecutive dates from today, consecutive days in programme order", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 510 }), // far enough from week 520 for 30 days
    fc.integer({ min: 1, max: 7 }),
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 1, max: 30 }),
    (week, day, daysAgo, count) => {
      const today = "2026-10-20";
      const latest = { week, day, localDate: addDays(today, -daysAgo), title: "t" };
      const days = upcomingDays({ today, latest, count });
      assert.equal(days.length, count);
      days.forEach((d, i) => {
        assert.equal(d.date, addDays(today, i));
        if (i > 0) {
          const prev = (days[i - 1].week - 1) * 7 + days[i - 1].day;
          assert.equal((d.week - 1) * 7 + d.day, prev + 1);
        }
      });
      const first = (days[0].week - 1) * 7 + days[0].day;
      assert.equal(first, (week - 1) * 7 + day + (daysAgo === 0 ? 0 : 1));
    },
  ));
});

Deno.test("paused through a date: nothing listed until the day after, then the next day", () => {
  const latest = { week: 1, day: 3, localDate: "2026-03-22", title: "Borrowing" };
  const days = upcomingDays({ today: "2026-03-22", latest, pausedUntil: "2026-03-28" });
  assert.equal(days.length, FEED_DAYS);
  assert.deepEqual(days[0], { week: 1, day: 4, date: "2026-03-29", title: null });
  assert.ok(days.every((d) => d.date > "2026-03-28"), "no paused day is listed");
  // A pause that ended yesterday changes nothing.
  assert.deepEqual(
    upcomingDays({ today: "2026-03-22", latest, pausedUntil: "2026-03-21" }),
    upcomingDays({ today: "2026-03-22", latest }),
  );
});
