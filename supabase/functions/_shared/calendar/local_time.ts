/**
 * The instant of a wall-clock time in a zone, with Postgres's rules for the two kinds of
 * times a DST change makes (PostgreSQL docs, B.1 "Handling of Invalid or Ambiguous
 * Timestamps"), so the feed says what status and day.tick compute with
 * `(date + plan_time) at time zone tz`:
 * - a time inside a spring-forward gap does not exist: it is read with the offset in force
 *   just before the change (02:30 on 2026-03-08 in New York is 07:30Z, 03:30 EDT);
 * - a time inside a fall-back overlap exists twice: it is read with the offset in force just
 *   after the change, the later instant (01:30 on 2026-11-01 in New York is 06:30Z, EST).
 * Offsets come from the runtime's tz data (Intl, through @date-fns/tz).
 */
import { TZDate } from "@date-fns/tz";
import type { LocalDate } from "./schedule.ts";

const DAY_MS = 86_400_000;

/** The zone's UTC offset at `ms`, in ms east of UTC. */
function offsetMs(zone: string, ms: number): number {
  return -new TZDate(ms, zone).getTimezoneOffset() * 60_000;
}

/** The instant of `time` (`HH:MM`) on `date` (`YYYY-MM-DD`) in `zone`, zone-aware. */
export function localInstant(date: LocalDate, time: string, zone: string): TZDate {
  const [year, month, day] = date.split("-").map(Number);
  const [hour, minute] = time.split(":").map(Number);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  // The offsets around the wall time: before and after any change near it.
  const before = offsetMs(zone, wall - DAY_MS);
  const after = offsetMs(zone, wall + DAY_MS);
  const valid = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((instant) => wall - offsetMs(zone, instant) === instant);
  // Two readings: the overlap, take the later. None: the gap, read with the earlier offset.
  const instant = valid.length > 0 ? Math.max(...valid) : wall - before;
  return new TZDate(instant, zone);
}
