/**
 * Positions in the programme: weeks of seven days, week 1 day 1 to week 520 day 7 (spec 5.4).
 *
 * @module
 */

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

/** @throws {RangeError} When week is not an integer in 1..520 or day not in 1..7. */
export function assertDay(week: number, day: number): void {
  if (!Number.isInteger(week) || week < 1 || week > MAX_WEEK) {
    throw new RangeError(`week must be an integer in 1..${MAX_WEEK}, got ${week}`);
  }
  if (!Number.isInteger(day) || day < 1 || day > DAYS_PER_WEEK) {
    throw new RangeError(`day must be an integer in 1..${DAYS_PER_WEEK}, got ${day}`);
  }
}
