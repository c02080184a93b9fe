/**
 * What follows a completed day: which day comes next, how the next plan adapts to the
 * completion (spec 7), and the hint `day.done` returns (spec 5.5). The adaptation rule lives
 * here once and `composePlan` imports it, so the hint can never promise something the next plan
 * does not do.
 *
 * @module
 */
import type { Adaptation, PreviousCompletion } from "./types.ts";

/** Highest week `day.run` accepts (spec 5.4). */
export const MAX_WEEK = 520;
/** Days in a week of the programme. */
export const DAYS_PER_WEEK = 7;

/** A position in the programme. */
export interface DayRef {
  week: number;
  day: number;
}

/**
 * The day after `week`/`day`: day 7 rolls over to day 1 of the next week.
 *
 * The last day (week {@linkcode MAX_WEEK}, day 7) has no successor `day.run` would accept, so
 * it saturates and returns itself; use {@linkcode isLastDay} to tell that case apart.
 *
 * @throws {RangeError} When week is not an integer in 1..520 or day not in 1..7.
 */
export function nextDay(week: number, day: number): DayRef {
  assertDay(week, day);
  if (day < DAYS_PER_WEEK) return { week, day: day + 1 };
  if (week < MAX_WEEK) return { week: week + 1, day: 1 };
  return { week, day };
}

/** True for week {@linkcode MAX_WEEK}, day 7: the last day of the programme. */
export function isLastDay(week: number, day: number): boolean {
  assertDay(week, day);
  return week === MAX_WEEK && day === DAYS_PER_WEEK;
}

/** Formats a day the way plans and hints name it: `Week 1, Day 4`. */
export function dayLabel(week: number, day: number): string {
  return `Week ${week}, Day ${day}`;
}

/**
 * The facts about a completion the adaptation rule is built from. Integer comparisons
 * (`time * 10 < planned * 7`) keep the thresholds exact at their boundaries.
 */
export interface CompletionAssessment {
  /** Confidence <= 5. */
  low_confidence: boolean;
  /** Time spent < 70 % of the planned minutes. */
  short_session: boolean;
  /** Confidence >= 8. */
  high_confidence: boolean;
  /** Time spent >= 90 % of the planned minutes (over-running counts as well spent). */
  time_well_spent: boolean;
}

/** Classifies a completion against the thresholds of spec 7. */
export function assessCompletion(previous: PreviousCompletion): CompletionAssessment {
  const time10 = previous.completion_time_min * 10;
  return {
    low_confidence: previous.confidence <= 5,
    short_session: time10 < previous.planned_minutes * 7,
    high_confidence: previous.confidence >= 8,
    time_well_spent: time10 >= previous.planned_minutes * 9,
  };
}

/**
 * How the plan after `previous` adapts to it. The single source of the rule for both
 * `composePlan` and {@linkcode nextDayHint}:
 *
 * - `"review"` when confidence <= 5 or less than 70 % of the planned minutes were spent;
 * - else `"stretch"` when confidence >= 8 and at least 90 % of the planned minutes were spent;
 * - else (and without a previous completion) `"none"`.
 */
export function adaptationFor(previous: PreviousCompletion | null): Adaptation {
  if (previous === null) return "none";
  const a = assessCompletion(previous);
  if (a.low_confidence || a.short_session) return "review";
  if (a.high_confidence && a.time_well_spent) return "stretch";
  return "none";
}

/**
 * The `next_day_hint` of `day.done`: deterministic from the time spent against the planned
 * minutes and the confidence, names the next day and says what its plan will do, which is
 * exactly what {@linkcode adaptationFor} makes `composePlan` do.
 *
 * @example
 * ```ts
 * nextDayHint({ week: 1, day: 3, completion_time_min: 60, confidence: 7, planned_minutes: 60 });
 * // "Good time investment! For Week 1, Day 4, keep the pace and reinforce today's concepts to build confidence."
 * ```
 */
export function nextDayHint(completion: PreviousCompletion): string {
  const { week, day, completion_time_min: spent, planned_minutes: planned, confidence } =
    completion;
  const a = assessCompletion(completion);
  const done = dayLabel(week, day);
  const next = nextDay(week, day);
  const target = isLastDay(week, day)
    ? `${done} was the last day of the programme. If you run it again, it`
    : `For ${dayLabel(next.week, next.day)}, the plan`;

  switch (adaptationFor(completion)) {
    case "review": {
      const why = a.low_confidence && a.short_session
        ? `Confidence ${confidence}/10 after ${spent} of ${planned} planned minutes.`
        : a.low_confidence
        ? `Confidence ${confidence}/10 noted.`
        : `A short session (${spent} of ${planned} planned minutes).`;
      return `${why} ${target} starts with a review of ${done} before new material.`;
    }
    case "stretch":
      return `Great session! ${target} adds a stretch exercise to push you further.`;
    case "none":
      if (a.high_confidence) {
        return `Strong confidence (${confidence}/10), but ${spent} of ${planned} planned minutes. ` +
          `${target} keeps the same level; give it the full time to unlock a stretch exercise.`;
      }
      return isLastDay(week, day)
        ? `Good time investment! ${target} keeps the same level.`
        : `Good time investment! For ${dayLabel(next.week, next.day)}, keep the pace and ` +
          `reinforce today's concepts to build confidence.`;
  }
}

function assertDay(week: number, day: number): void {
  if (!Number.isInteger(week) || week < 1 || week > MAX_WEEK) {
    throw new RangeError(`week must be an integer in 1..${MAX_WEEK}, got ${week}`);
  }
  if (!Number.isInteger(day) || day < 1 || day > DAYS_PER_WEEK) {
    throw new RangeError(`day must be an integer in 1..${DAYS_PER_WEEK}, got ${day}`);
  }
}
