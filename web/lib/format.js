// @ts-check
/** Numbers, durations and instants as the learner reads them (their locale, their zone). */

/** `45 min`, `1 h 05 min`. */
export function minutes(/** @type {number} */ total) {
  if (total < 60) return `${total} min`;
  const h = Math.floor(total / 60);
  const m = total % 60;
  return m === 0 ? `${h} h` : `${h} h ${String(m).padStart(2, "0")} min`;
}

/** `1 day`, `3 days`. */
export function days(/** @type {number} */ count) {
  return count === 1 ? "day" : "days";
}

/**
 * An instant as a weekday, date and time in `timeZone`, with the zone's short name:
 * `Tue, 2 Dec, 07:00 CET`.
 * @param {string} iso
 * @param {string} [timeZone] default: the browser's
 */
export function dateTime(iso, timeZone) {
  return new Intl.DateTimeFormat(undefined, {
    timeZone,
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  }).format(new Date(iso));
}

/** A time of day in the browser's zone: `14:03:07`. */
export function clock(/** @type {string} */ iso) {
  return new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(new Date(iso));
}

/** A date in the browser's zone: `2 Dec 2026`. */
export function date(/** @type {string} */ iso) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }).format(
    new Date(iso),
  );
}

/** `Week 1 · Day 2`. */
export function weekDay(/** @type {number} */ week, /** @type {number} */ day) {
  return `Week ${week} · Day ${day}`;
}
