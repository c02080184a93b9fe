/**
 * Objective memory (spec 7): the confidence/time → FSRS rating mapping, FSRS scheduling on a
 * fake clock (the learning moments the tests pass: no wall clock anywhere), the day count, and
 * the learner state built from what the database returns.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { addDays, daysBetween } from "../../supabase/functions/_shared/memory/calendar.ts";
import {
  elapsedDays,
  isDue,
  type MemoryState,
  replay,
  retrievability,
  review,
  type ReviewEvent,
} from "../../supabase/functions/_shared/memory/fsrs.ts";
import { fromLoaded, learnerModel } from "../../supabase/functions/_shared/memory/learner.ts";
import { LearnerModelSchema } from "../../supabase/functions/_shared/memory/learner_model.ts";
import { ratingFor } from "../../supabase/functions/_shared/memory/rating.ts";
import { decideDay } from "../../supabase/functions/_shared/plan/adaptation.ts";
import { objectiveKey } from "../../supabase/functions/_shared/plan/objectives.ts";
import type {
  PreviousCompletion,
  RatingName,
} from "../../supabase/functions/_shared/plan/types.ts";

const done = (confidence: number, spent: number, planned = 100): PreviousCompletion => ({
  week: 1,
  day: 1,
  confidence,
  completion_time_min: spent,
  planned_minutes: planned,
});

/** A fake clock: learning day n on calendar day n (one session a day) from 2026-03-02. */
const dayN = (n: number, calendarOffset = 0) => ({
  on: addDays("2026-03-02", n - 1 + calendarOffset),
  learning_day: n,
});

/** Reviews each time the objective falls due, with `ratings` in order; returns the states. */
function reviewWhenDue(ratings: RatingName[]): { at: number; memory: MemoryState }[] {
  const out: { at: number; memory: MemoryState }[] = [];
  let memory: MemoryState | null = null;
  let at = 1;
  for (const rating of ratings) {
    memory = review(memory, { ...dayN(at), rating });
    out.push({ at, memory });
    at += Math.max(1, memory.scheduled_days);
  }
  return out;
}

Deno.test("rating: the documented mapping, at every threshold", () => {
  // Again: confidence <= 3 or < 30 % of the minutes.
  assert.equal(ratingFor(done(3, 100)), "again");
  assert.equal(ratingFor(done(9, 29)), "again");
  // Hard: confidence <= 5 or < 70 %.
  assert.equal(ratingFor(done(4, 100)), "hard");
  assert.equal(ratingFor(done(5, 100)), "hard");
  assert.equal(ratingFor(done(9, 30)), "hard");
  assert.equal(ratingFor(done(9, 69)), "hard");
  // Easy: confidence >= 8 and >= 90 %.
  assert.equal(ratingFor(done(8, 90)), "easy");
  assert.equal(ratingFor(done(10, 300)), "easy");
  // Good: the rest.
  assert.equal(ratingFor(done(6, 100)), "good");
  assert.equal(ratingFor(done(7, 70)), "good");
  assert.equal(ratingFor(done(9, 89)), "good");
  // 70 % of 45 is 31.5: 31 minutes is short.
  assert.equal(ratingFor(done(7, 31, 45)), "hard");
  assert.equal(ratingFor(done(7, 32, 45)), "good");
});

Deno.test("rating: agrees with the day's adaptation (weak → Hard/Again, strong → Easy)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 0, max: 1440 }),
      fc.integer({ min: 5, max: 480 }),
      (confidence, spent, planned) => {
        const c = done(confidence, spent, planned);
        const rating = ratingFor(c);
        const decision = decideDay({
          previous: c,
          due: [],
          previous_objectives: [],
          fading: [],
          mastery: null,
          days_since_last_completion: 1,
        }, 60).adaptation;
        assert.equal(decision === "review", rating === "again" || rating === "hard");
        assert.equal(decision === "stretch", rating === "easy");
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("fsrs: intervals grow after each success", () => {
  for (const rating of ["good", "easy", "hard"] as const) {
    const states = reviewWhenDue([rating, rating, rating, rating]);
    const intervals = states.map((s) => s.memory.scheduled_days);
    for (let i = 1; i < intervals.length; i++) {
      assert.ok(intervals[i] > intervals[i - 1], `${rating}: ${intervals}`);
    }
  }
  // Easy spaces further than Good, Good further than Hard, Hard further than Again.
  const first = (r: RatingName) => reviewWhenDue([r])[0].memory.scheduled_days;
  assert.ok(first("easy") > first("good") && first("good") > first("hard"));
  assert.ok(first("hard") >= first("again") && first("again") >= 1);
});

Deno.test("fsrs: a lapse shrinks the interval, and it grows again after", () => {
  const states = reviewWhenDue(["good", "good", "good", "again", "good", "good"]);
  const intervals = states.map((s) => s.memory.scheduled_days);
  assert.ok(intervals[3] < intervals[2], `${intervals}`);
  assert.ok(intervals[3] * 4 < intervals[2], `${intervals}`);
  assert.equal(states[3].memory.lapses, 1);
  assert.ok(intervals[4] > intervals[3] && intervals[5] > intervals[4], `${intervals}`);
});

Deno.test("fsrs: due exactly when the interval has passed, on the fake clock", () => {
  const memory = review(null, { ...dayN(1), rating: "good" });
  const interval = memory.scheduled_days;
  assert.ok(interval >= 2);
  assert.equal(isDue(memory, dayN(interval)), false);
  assert.equal(isDue(memory, dayN(1 + interval)), true);
  assert.equal(isDue(memory, dayN(1)), false, "nothing is due the day it was met");
  // Recall fades with time.
  assert.ok(retrievability(memory, dayN(2)) > retrievability(memory, dayN(20)));
});

Deno.test("fsrs: days count in the calendar but never fewer than learning days", () => {
  const memory = review(null, { on: "2026-03-02", learning_day: 1, rating: "again" });
  // Three sessions in one sitting: the calendar says 0 days, the learning days say 2.
  assert.equal(elapsedDays(memory, { on: "2026-03-02", learning_day: 3 }), 2);
  // A week away with one session in between: the calendar wins.
  assert.equal(elapsedDays(memory, { on: "2026-03-09", learning_day: 2 }), 7);
  // An Again objective is due on the next learning day, even the same calendar day.
  assert.equal(isDue(memory, { on: "2026-03-02", learning_day: 2 }), true);
  assert.equal(daysBetween("2026-02-27", "2026-03-01"), 2);
  assert.equal(daysBetween("2024-02-28", "2024-03-01"), 2, "leap year");
  assert.throws(() => daysBetween("2026-02-30", "2026-03-01"), RangeError);
});

Deno.test("fsrs: deterministic given the same history (property)", () => {
  const eventArb = fc.array(
    fc.record({
      gap: fc.integer({ min: 0, max: 30 }),
      rating: fc.constantFrom<RatingName>("again", "hard", "good", "easy"),
    }),
    { minLength: 1, maxLength: 12 },
  );
  fc.assert(
    fc.property(eventArb, (steps) => {
      let n = 0;
      const events: ReviewEvent[] = steps.map(({ gap, rating }) => {
        n += 1;
        return { on: addDays("2026-01-01", n + gap), learning_day: n, rating };
      });
      const a = replay(events);
      const b = replay(structuredClone(events));
      assert.deepEqual(a, b);
      // The order events are listed in does not matter, only their learning days.
      assert.deepEqual(replay([...events].reverse()), a);
      assert.ok(a !== null && a.stability > 0 && a.scheduled_days >= 1);
      assert.ok(a.difficulty >= 1 && a.difficulty <= 10);
    }),
    { numRuns: 500 },
  );
  assert.equal(replay([]), null);
});

Deno.test("objectiveKey: one key for the same objective however it is spaced or cased", () => {
  assert.equal(objectiveKey("  Define  the TERMS\n"), "define the terms");
  assert.equal(objectiveKey("Ｆｕｌｌ width"), "full width");
  assert.equal(objectiveKey("x".repeat(600)).length, 500);
  assert.equal(objectiveKey("\u0000\u0001 "), "");
});

Deno.test("learner state: due first by fading, refresher candidates, the last day's ratings", () => {
  const met = (key: string, rating: RatingName, at: number) => {
    const memory = review(null, { ...dayN(at), rating });
    return {
      key,
      objective: key.toUpperCase(),
      week: 1,
      day: at,
      stability: memory.stability,
      difficulty: memory.difficulty,
      state: memory.state,
      reps: memory.reps,
      lapses: memory.lapses,
      scheduled_days: memory.scheduled_days,
      last_rating: { again: 1, hard: 2, good: 3, easy: 4 }[rating],
      last_learning_day: at,
      last_on: dayN(at).on,
    };
  };
  const rows = [
    met("a", "again", 3),
    met("b", "good", 1),
    met("c", "easy", 1),
    met("d", "hard", 3),
  ];
  const loaded = fromLoaded({
    today: dayN(4).on,
    learning_day: 4,
    days_since: 1,
    mastery: 0.5,
    recent: [{
      week: 1,
      day: 3,
      confidence: 3,
      completion_time_min: 60,
      planned_minutes: 60,
      completed_on: dayN(3).on,
    }],
    memory: rows,
    previous: [{ ...rows[0], rating: 1 }, { ...rows[3], rating: 2 }],
    weeks: [{ week: 1, secure: 2, reviews: 4 }],
  });
  // a (Again on day 3) is due on day 4; b (Good on day 1, 2+ days) is due; c and d are not.
  assert.deepEqual(loaded.state.due.map((d) => d.key).sort(), ["a", "b"]);
  assert.ok(loaded.state.due.every((d) => d.overdue_days >= 0));
  assert.deepEqual(loaded.state.fading.map((d) => d.key).sort(), ["c", "d"]);
  assert.deepEqual(loaded.state.previous_objectives.map((o) => [o.key, o.last_rating]), [
    ["a", "again"],
    ["d", "hard"],
  ]);
  assert.deepEqual(loaded.state.previous, {
    week: 1,
    day: 3,
    confidence: 3,
    completion_time_min: 60,
    planned_minutes: 60,
  });
  const decision = decideDay(loaded.state, 60);
  assert.equal(decision.adaptation, "review");
  const model = LearnerModelSchema.parse(learnerModel(loaded, decision));
  assert.equal(model.adaptation, "review");
  assert.equal(model.reason, "weak_session");
  assert.deepEqual(model.weeks, [{ week: 1, mastery: 0.5, reviews: 4 }]);
  assert.equal(model.learning_day, 4);
  assert.deepEqual(model.due_reviews.map((d) => d.objective).sort(), ["A", "B"]);
});
