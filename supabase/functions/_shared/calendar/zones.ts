/**
 * Which zone the feed writes its times in. timezones-ical-library holds a VTIMEZONE (current
 * rules, STANDARD and DAYLIGHT where the zone has DST) for every zone Postgres knows but
 * `Factory`; an alias gets its canonical zone's component (`CET` → `Europe/Brussels`), so the
 * events name that canonical TZID, the one the VTIMEZONE defines. A zone without a component,
 * one the runtime's Intl cannot convert (`posixrules`, which some Postgres builds list) and
 * UTC itself are written as UTC instants (`…Z`): still the right moments.
 */
import { tzlib_get_ical_block, tzlib_get_timezones } from "timezones-ical-library";

const ZONES_WITH_VTIMEZONE: ReadonlySet<string> = new Set(tzlib_get_timezones(false));

export interface Vtimezone {
  /** The TZID the component defines (the canonical zone of an alias). */
  tzid: string;
  /** The `BEGIN:VTIMEZONE … END:VTIMEZONE` text. */
  component: string;
}

/** The zone's VTIMEZONE; null when the library has none. */
export function vtimezone(zone: string): Vtimezone | null {
  // Checked first: the library logs an error for a zone it does not know.
  if (!ZONES_WITH_VTIMEZONE.has(zone)) return null;
  const block = tzlib_get_ical_block(zone, false);
  if (!Array.isArray(block) || !block[0] || !block[1]?.startsWith("TZID=")) return null;
  return { component: block[0], tzid: block[1].slice("TZID=".length) };
}

/** True when the runtime's Intl (hence TZDate) can convert times in `zone`. */
export function isIntlZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The zone the feed's events name (`TZID`), null for UTC instants; and `clock`, the zone
 * local times are converted in (the same zone, or UTC).
 */
export function feedZone(zone: string): { tzid: string | null; clock: string } {
  if (zone === "UTC" || !isIntlZone(zone)) return { tzid: null, clock: "UTC" };
  const found = vtimezone(zone);
  if (found === null || !isIntlZone(found.tzid)) return { tzid: null, clock: zone };
  return { tzid: found.tzid, clock: found.tzid };
}
