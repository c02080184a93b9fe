import assert from "node:assert/strict";
import fc from "fast-check";
import {
  adaptationFor,
  assessCompletion,
  isLastDay,
  nextDay,
  nextDayHint,
} from "../../supabase/functions/_shared/plan/hint.ts";
import type { PreviousCompletion } from "../../supabase/functions/_shared/plan/types.ts";

function completion(overrides: Partial<PreviousCompletion> = {}): PreviousCompletion {
  return {
    week: 1,
    day: 3,
    completion_time_min: 100,
    confidence: 7,
    planned_minutes: 100,
    ...overrides,
  };
}

Deno.test("nextDay: next day within a week, rollover to the next week", () => {
  assert.deepEqual(nextDay(1, 3), { week: 1, day: 4 });
  assert.deepEqual(nextDay(1, 6), { week: 1, day: 7 });
  assert.deepEqual(nextDay(1, 7), { week: 2, day: 1 });
  assert.deepEqual(nextDay(519, 7), { week: 520, day: 1 });
});

Deno.test("nextDay: the last day (week 520, day 7) saturates", () => {
  assert.deepEqual(nextDay(520, 6), { week: 520, day: 7 });
  assert.deepEqual(nextDay(520, 7), { week: 520, day: 7 });
  assert.equal(isLastDay(520, 7), true);
  assert.equal(isLastDay(520, 6), false);
  assert.equal(isLastDay(519, 7), false);
});

Deno.test("nextDay: rejects out-of-range days", () => {
  for (const [week, day] of [[0, 1], [521, 1], [1, 0], [1, 8], [1.5, 1], [1, Number.NaN]]) {
    assert.throws(() => nextDay(week, day), RangeError);
  }
});

Deno.test("nextDay: always a valid day.run position (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 520 }), fc.integer({ min: 1, max: 7 }), (w, d) => {
      const next = nextDay(w, d);
      assert.ok(next.week >= 1 && next.week <= 520 && next.day >= 1 && next.day <= 7);
      // Strictly later, except on the saturated last day.
      if (!isLastDay(w, d)) assert.ok(next.week * 7 + next.day === w * 7 + d + 1);
    }),
  );
});

Deno.test("adaptationFor: no previous completion means no adaptation", () => {
  assert.equal(adaptationFor(null), "none");
});

Deno.test("adaptationFor: confidence boundaries 5/6/7/8 with full time", () => {
  assert.equal(adaptationFor(completion({ confidence: 1 })), "review");
  assert.equal(adaptationFor(completion({ confidence: 5 })), "review");
  assert.equal(adaptationFor(completion({ confidence: 6 })), "none");
  assert.equal(adaptationFor(completion({ confidence: 7 })), "none");
  assert.equal(adaptationFor(completion({ confidence: 8 })), "stretch");
  assert.equal(adaptationFor(completion({ confidence: 10 })), "stretch");
});

Deno.test("adaptationFor: time boundaries 69/70/89/90 % of the planned minutes", () => {
  const at = (minutes: number, confidence: number) =>
    adaptationFor(completion({ completion_time_min: minutes, planned_minutes: 100, confidence }));
  assert.equal(at(69, 8), "review");
  assert.equal(at(70, 8), "none");
  assert.equal(at(89, 8), "none");
  assert.equal(at(90, 8), "stretch");
  assert.equal(at(69, 6), "review");
  assert.equal(at(70, 6), "none");
  assert.equal(at(90, 6), "none");
  assert.equal(at(0, 10), "review");
  assert.equal(at(300, 9), "stretch"); // over-running counts as time well spent
  assert.equal(at(100, 5), "review"); // low confidence wins over time well spent
});

Deno.test("adaptationFor: thresholds are exact for non-round plans", () => {
  // 70 % of 45 is 31.5: 31 is short, 32 is not. 90 % of 45 is 40.5: 41 is well spent.
  const at = (minutes: number) =>
    adaptationFor(completion({ completion_time_min: minutes, planned_minutes: 45, confidence: 9 }));
  assert.equal(at(31), "review");
  assert.equal(at(32), "none");
  assert.equal(at(40), "none");
  assert.equal(at(41), "stretch");
  const a = assessCompletion(completion({ completion_time_min: 7, planned_minutes: 10 }));
  assert.deepEqual(a, {
    low_confidence: false,
    short_session: false,
    high_confidence: false,
    time_well_spent: false,
  });
});

Deno.test("nextDayHint: the reference case (good time, confidence 7)", () => {
  assert.equal(
    nextDayHint(completion({ completion_time_min: 60, planned_minutes: 60, confidence: 7 })),
    "Good time investment! For Week 1, Day 4, keep the pace and reinforce today's concepts to " +
      "build confidence.",
  );
});

Deno.test("nextDayHint: names the next day and what the plan will do", () => {
  assert.equal(
    nextDayHint(completion({ confidence: 4 })),
    "Confidence 4/10 noted. For Week 1, Day 4, the plan starts with a review of Week 1, Day 3 " +
      "before new material.",
  );
  assert.equal(
    nextDayHint(completion({ completion_time_min: 20, planned_minutes: 60, confidence: 7 })),
    "A short session (20 of 60 planned minutes). For Week 1, Day 4, the plan starts with a " +
      "review of Week 1, Day 3 before new material.",
  );
  assert.equal(
    nextDayHint(completion({ completion_time_min: 20, planned_minutes: 60, confidence: 2 })),
    "Confidence 2/10 after 20 of 60 planned minutes. For Week 1, Day 4, the plan starts with a " +
      "review of Week 1, Day 3 before new material.",
  );
  assert.equal(
    nextDayHint(completion({ confidence: 9 })),
    "Great session! For Week 1, Day 4, the plan adds a stretch exercise to push you further.",
  );
  assert.equal(
    nextDayHint(completion({ completion_time_min: 80, planned_minutes: 100, confidence: 9 })),
    "Strong confidence (9/10), but 80 of 100 planned minutes. For Week 1, Day 4, the plan keeps " +
      "the same level; give it the full time to unlock a stretch exercise.",
  );
});

Deno.test("nextDayHint: week rollover names day 1 of the next week", () => {
  const hint = nextDayHint(completion({ week: 3, day: 7, confidence: 3 }));
  assert.match(hint, /For Week 4, Day 1,/);
  assert.match(hint, /review of Week 3, Day 7/);
  assert.match(nextDayHint(completion({ week: 3, day: 7 })), /For Week 4, Day 1,/);
});

Deno.test("nextDayHint: the last day says so instead of naming a day past week 520", () => {
  for (const confidence of [3, 7, 9]) {
    const hint = nextDayHint(completion({ week: 520, day: 7, confidence }));
    assert.match(hint, /Week 520, Day 7 was the last day of the programme/);
    assert.doesNotMatch(hint, /Week 521/);
  }
});

Deno.test("nextDayHint: deterministic and consistent with adaptationFor (property)", () => {
  const completionArb = fc.record({
    week: fc.integer({ min: 1, max: 520 }),
    day: fc.integer({ min: 1, max: 7 }),
    completion_time_min: fc.integer({ min: 0, max: 1440 }),
    confidence: fc.integer({ min: 1, max: 10 }),
    planned_minutes: fc.integer({ min: 5, max: 480 }),
  });
  fc.assert(
    fc.property(completionArb, (c) => {
      const hint = nextDayHint(c);
      assert.equal(nextDayHint({ ...c }), hint);
      const next = nextDay(c.week, c.day);
      if (!isLastDay(c.week, c.day)) assert.ok(hint.includes(`Week ${next.week}, Day ${next.day}`));
      const adaptation = adaptationFor(c);
      assert.equal(hint.includes("starts with a review"), adaptation === "review");
      assert.equal(hint.includes("adds a stretch exercise"), adaptation === "stretch");
    }),
    { numRuns: 2000 },
  );
});
