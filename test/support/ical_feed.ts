/**
 * Reading a calendar feed as a calendar app would: ical.js (independent of the generator the
 * feed is made with) with the feed's own VTIMEZONEs only, and zone offsets from Intl to check
 * them against.
 */
import ICAL from "ical.js";

export interface FeedEvent {
  uid: string;
  summary: string;
  /** The local start as ical.js prints it, `YYYY-MM-DDTHH:MM:SS`. */
  local: string;
  tzid: string | null;
  /** The start's UTC offset per the feed's VTIMEZONE, seconds east. */
  offsetS: number;
  startUtc: Date;
  durationS: number;
}

/** The feed's events, TZIDs resolved from its own VTIMEZONEs. */
export function parseFeed(text: string): FeedEvent[] {
  const calendar = new ICAL.Component(ICAL.parse(text));
  const zones = calendar.getAllSubcomponents("vtimezone");
  for (const zone of zones) ICAL.TimezoneService.register(zone);
  try {
    return calendar.getAllSubcomponents("vevent").map((component) => {
      const event = new ICAL.Event(component);
      return {
        uid: event.uid,
        summary: event.summary,
        local: event.startDate.toString(),
        tzid: event.startDate.zone?.tzid ?? null,
        offsetS: event.startDate.utcOffset(),
        startUtc: event.startDate.toJSDate(),
        durationS: event.duration.toSeconds(),
      };
    });
  } finally {
    for (const zone of zones) {
      ICAL.TimezoneService.remove(String(zone.getFirstPropertyValue("tzid")));
    }
  }
}

/** The zone's UTC offset at `at`, in seconds east, from Intl (independent of the feed). */
export function intlOffsetS(zone: string, at: Date): number {
  const name = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
    .formatToParts(at).find((p) => p.type === "timeZoneName")?.value ?? "";
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!match) return 0;
  return (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 3600 + Number(match[3]) * 60);
}

/** Today's date in `zone`, `YYYY-MM-DD`. */
export function todayIn(zone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(new Date());
}

/** `date` (`YYYY-MM-DD`) plus `days` calendar days. */
export function addDaysTo(date: string, days: number): string {
  const at = new Date(`${date}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return at.toISOString().slice(0, 10);
}
