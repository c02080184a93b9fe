import assert from "node:assert/strict";
import fc from "fast-check";
import {
  adaptationFor,
  assessCompletion,
  isLastDay,
  nextDay,
  nextDayHint,
} from "../../supabase/functions/_shared/plan/hint.ts";
import type {
  LearnerState,
  PreviousCompletion,
  ReviewItem,
} from "../../supabase/functions/_shared/plan/types.ts";

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

function item(objective: string, week: number, day: number, rating = "hard"): ReviewItem {
  return {
    key: objective.toLowerCase(),
    objective,
    week,
    day,
    last_rating: rating as ReviewItem["last_rating"],
    overdue_days: 0,
    retrievability: 0.8,
  };
}

/** The phrase each adaptation alone uses (plan/wording.ts). */
const PHRASE = {
  review: /opens with a (review|refresher)/,
  steady: /keeps a steady pace/,
  stretch: /adds a stretch exercise/,
};

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

Deno.test("adaptationFor: no previous completion is a steady first day", () => {
  assert.equal(adaptationFor(null), "steady");
});

Deno.test("adaptationFor: confidence boundaries 5/6/7/8 with full time", () => {
  assert.equal(adaptationFor(completion({ confidence: 1 })), "review");
  assert.equal(adaptationFor(completion({ confidence: 5 })), "review");
  assert.equal(adaptationFor(completion({ confidence: 6 })), "steady");
  assert.equal(adaptationFor(completion({ confidence: 7 })), "steady");
  assert.equal(adaptationFor(completion({ confidence: 8 })), "stretch");
  assert.equal(adaptationFor(completion({ confidence: 10 })), "stretch");
});

Deno.test("adaptationFor: time boundaries 69/70/89/90 % of the planned minutes", () => {
  const at = (minutes: number, confidence: number) =>
    adaptationFor(completion({ completion_time_min: minutes, planned_minutes: 100, confidence }));
  assert.equal(at(69, 8), "review");
  assert.equal(at(70, 8), "steady");
  assert.equal(at(89, 8), "steady");
  assert.equal(at(90, 8), "stretch");
  assert.equal(at(69, 6), "review");
  assert.equal(at(70, 6), "steady");
  assert.equal(at(90, 6), "steady");
  assert.equal(at(0, 10), "review");
  assert.equal(at(300, 9), "stretch"); // over-running counts as time well spent
  assert.equal(at(100, 5), "review"); // low confidence wins over time well spent
});

Deno.test("adaptationFor: thresholds are exact for non-round plans", () => {
  // 70 % of 45 is 31.5: 31 is short, 32 is not. 90 % of 45 is 40.5: 41 is well spent.
  const at = (minutes: number) =>
    adaptationFor(completion({ completion_time_min: minutes, planned_minutes: 45, confidence: 9 }));
  assert.equal(at(31), "review");
  assert.equal(at(32), "steady");
  assert.equal(at(40), "steady");
  assert.equal(at(41), "stretch");
  const a = assessCompletion(completion({ completion_time_min: 7, planned_minutes: 10 }));
  assert.deepEqual(a, {
    low_confidence: false,
    short_session: false,
    high_confidence: false,
    time_well_spent: false,
    failed: false,
    barely_started: false,
  });
});

Deno.test("adaptationFor: a day under 10 minutes has no room for a stretch", () => {
  assert.equal(adaptationFor(completion({ confidence: 9 }), 9), "steady");
  assert.equal(adaptationFor(completion({ confidence: 9 }), 10), "stretch");
});

Deno.test("nextDayHint: the reference case (good time, confidence 7)", () => {
  assert.equal(
    nextDayHint(completion({ completion_time_min: 60, planned_minutes: 60, confidence: 7 })),
    "Week 1, Day 3 went steadily: 7/10 after 60 of 60 planned minutes. Week 1, Day 4 keeps a " +
      "steady pace.",
  );
});

Deno.test("nextDayHint: names the next day, what its plan does and why", () => {
  assert.equal(
    nextDayHint(completion({ confidence: 4 })),
    "Week 1, Day 3 felt shaky: 4/10 after 100 of 100 planned minutes. Week 1, Day 4 opens " +
      "with a review of Week 1, Day 3, and keeps new material light.",
  );
  assert.equal(
    nextDayHint(completion({ completion_time_min: 20, planned_minutes: 60, confidence: 7 })),
    "Week 1, Day 3 was short: 7/10 after 20 of 60 planned minutes. Week 1, Day 4 opens with a " +
      "review of Week 1, Day 3, and keeps new material light.",
  );
  assert.equal(
    nextDayHint(completion({ completion_time_min: 20, planned_minutes: 60, confidence: 2 })),
    "Week 1, Day 3 felt shaky and was short: 2/10 after 20 of 60 planned minutes. Week 1, " +
      "Day 4 opens with a review of Week 1, Day 3, and keeps new material light.",
  );
  assert.equal(
    nextDayHint(completion({ confidence: 9 })),
    "Week 1, Day 3 went well: 9/10 after 100 of 100 planned minutes. Week 1, Day 4 adds a " +
      "stretch exercise on its focus.",
  );
  assert.equal(
    nextDayHint(completion({ completion_time_min: 80, planned_minutes: 100, confidence: 9 })),
    "Week 1, Day 3 went steadily: 9/10 after 80 of 100 planned minutes. Give the plan its full " +
      "time to unlock a stretch. Week 1, Day 4 keeps a steady pace.",
  );
});

Deno.test("nextDayHint: names the weak objective and the spaced reviews due", () => {
  const weak = completion({ confidence: 4, planned_minutes: 60, completion_time_min: 60 });
  const learner: LearnerState = {
    previous: weak,
    due: [item("Define the five key terms", 1, 1, "good")],
    previous_objectives: [
      item("Trace a simple example", 1, 3),
      item("Explain the mechanism", 1, 3),
    ],
    fading: [],
    mastery: 0.4,
    days_since_last_completion: 0,
  };
  assert.equal(
    nextDayHint(weak, { learner, minutes: 60 }),
    "Week 1, Day 3 felt shaky: 4/10 after 60 of 60 planned minutes. Week 1, Day 4 opens with a " +
      "review of “Trace a simple example” (Week 1, Day 3), “Explain the mechanism” (Week 1, " +
      "Day 3) and 1 more, and keeps new material light.",
  );
  const steady = completion({ confidence: 7, planned_minutes: 60, completion_time_min: 60 });
  assert.equal(
    nextDayHint(steady, { learner: { ...learner, previous: steady, mastery: 0.9 }, minutes: 60 }),
    "Week 1, Day 3 went steadily: 7/10 after 60 of 60 planned minutes. Week 1, Day 4 keeps a " +
      "steady pace, and starts with 1 spaced review: “Define the five key terms” (Week 1, Day 1).",
  );
  // A strong day on a shaky record: no stretch, and the hint says why.
  const strong = completion({ confidence: 9, planned_minutes: 60, completion_time_min: 60 });
  assert.match(
    nextDayHint(strong, { learner: { ...learner, previous: strong, mastery: 0.25 }, minutes: 60 }),
    /went well \(9\/10\), but only 25 % of your recent objectives are secure\. Week 1, Day 4 keeps a steady pace/,
  );
});

Deno.test("nextDayHint: an objective rated Again but not due yet says when it comes back", () => {
  const steady = completion({ week: 2, day: 4, planned_minutes: 60, completion_time_min: 60 });
  const rated = { ...item("Solve three problems", 1, 4, "again"), overdue_days: -2 };
  const learner: LearnerState = {
    previous: steady,
    due: [],
    previous_objectives: [rated, { ...item("Time yourself", 1, 4, "good"), overdue_days: -13 }],
    fading: [],
    mastery: 0.8,
    days_since_last_completion: 0,
  };
  assert.equal(
    nextDayHint(steady, { learner, minutes: 60 }),
    "Week 2, Day 4 went steadily: 7/10 after 60 of 60 planned minutes. Week 2, Day 5 keeps a " +
      "steady pace; “Solve three problems” (Week 1, Day 4), rated again, comes back for review " +
      "in 2 days.",
  );
});

Deno.test("nextDayHint: week rollover names day 1 of the next week", () => {
  const hint = nextDayHint(completion({ week: 3, day: 7, confidence: 3 }));
  assert.match(hint, /Week 4, Day 1 opens/);
  assert.match(hint, /review of Week 3, Day 7/);
  assert.match(nextDayHint(completion({ week: 3, day: 7 })), /Week 4, Day 1 keeps/);
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
      assert.ok(hint.length <= 1000);
      const next = nextDay(c.week, c.day);
      if (!isLastDay(c.week, c.day)) assert.ok(hint.includes(`Week ${next.week}, Day ${next.day}`));
      const adaptation = adaptationFor(c);
      for (const [name, phrase] of Object.entries(PHRASE)) {
        assert.equal(phrase.test(hint), name === adaptation, `${name}: ${hint}`);
      }
    }),
    { numRuns: 2000 },
  );
});
