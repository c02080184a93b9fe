/**
 * Which learning day falls on which local date, for the calendar feed: one (week, day) per
 * local day from today on, in program order (day 7 → next week's day 1, at most week 520).
 *
 * The anchor is the one day.tick uses (`wisely.due_day_runs`): the intent's latest session in
 * program order and its local creation date. day.tick creates the day after it at `plan_time`
 * on the local date after that session's, and at once when that date has passed; a learner
 * who stopped is not pushed forward, so the next day lands on today at the earliest. Hence:
 * - latest session created today: today is that session's day (it stays on the calendar for
 *   the rest of its day, title and all), the next days follow it;
 * - latest session from an earlier date, or none: today is the next day (week 1 day 1 without
 *   a session).
 * - paused through a date: day.tick generates nothing until the day after it (spec 12), so the
 *   list starts there with the next day, and the paused days are not listed.
 * Pure: `today` is an input, so a test can put the window across a DST change.
 */
import { type DayRef, isLastDay, nextDay } from "../plan/days.ts";

/** Days the feed lists. @default 14 (spec 12) */
export const FEED_DAYS = 14;

/** A calendar date as `YYYY-MM-DD` (local to the learner's zone; no time, no zone). */
export type LocalDate = string;

export interface LatestSession {
  week: number;
  day: number;
  /** The session's creation date in the learner's zone. */
  localDate: LocalDate;
  /** The day's title (the plan summary's), null when the plan has none. */
  title: string | null;
}

export interface ScheduleInput {
  /** Today in the learner's zone. */
  today: LocalDate;
  /** The intent's latest session in program order; null before the first. */
  latest: LatestSession | null;
  /** How many days to list. @default FEED_DAYS (14) */
  count?: number;
  /** The last paused local day when today is paused (inclusive). @default null (not paused) */
  pausedUntil?: LocalDate | null;
}

export interface ScheduledDay {
  week: number;
  day: number;
  date: LocalDate;
  /** The stored day's title where a session for this (week, day) exists; else null. */
  title: string | null;
}

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `date` plus `days` calendar days (proleptic Gregorian, no zone involved). */
export function addDays(date: LocalDate, days: number): LocalDate {
  const match = LOCAL_DATE.exec(date);
  if (!match) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  const [year, month, day] = match.slice(1).map(Number);
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day + days);
  return at.toISOString().slice(0, 10);
}

/** The learning day after (week, day); null past the programme's last day. */
function following(week: number, day: number): DayRef | null {
  return isLastDay(week, day) ? null : nextDay(week, day);
}

/** The days the feed lists, today first, one per local date. */
export function upcomingDays(input: ScheduleInput): ScheduledDay[] {
  const { today, latest } = input;
  const count = input.count ?? FEED_DAYS;
  const paused = input.pausedUntil != null && input.pausedUntil >= today;
  const first = paused ? addDays(input.pausedUntil!, 1) : today;
  const days: ScheduledDay[] = [];
  if (!paused && count > 0 && latest !== null && latest.localDate >= today) {
    days.push({ week: latest.week, day: latest.day, date: today, title: latest.title });
  }
  let current = latest === null ? { week: 1, day: 1 } : following(latest.week, latest.day);
  while (current !== null && days.length < count) {
    // No session exists after the latest in program order: these have no title yet.
    days.push({ ...current, date: addDays(first, days.length), title: null });
    current = following(current.week, current.day);
  }
  return days;
}
