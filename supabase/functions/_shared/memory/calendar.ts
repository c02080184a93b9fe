/**
 * Local calendar dates (`YYYY-MM-DD`, the learner's `user_tz`): what the database computes with
 * `(t at time zone user_tz)::date`, counted here in whole days.
 *
 * @module
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Days from local date `from` to local date `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return (dayNumber(to) - dayNumber(from));
}

/** `date` plus `days` days. */
export function addDays(date: string, days: number): string {
  return new Date((dayNumber(date) + days) * DAY_MS).toISOString().slice(0, 10);
}

/** @throws {RangeError} When `date` is not a valid `YYYY-MM-DD`. */
function dayNumber(date: string): number {
  const match = DATE.exec(date);
  if (!match) throw new RangeError(`expected a YYYY-MM-DD date, got ${JSON.stringify(date)}`);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  if (new Date(ms).getUTCDate() !== day) throw new RangeError(`no such date: ${date}`);
  return ms / DAY_MS;
}
