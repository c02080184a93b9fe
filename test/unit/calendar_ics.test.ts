/**
 * The calendar feed's text (_shared/calendar/ics.ts), read back by an independent parser
 * (ical.js, Mozilla's): local times across DST changes, the VTIMEZONE, durations, titles,
 * stable UIDs. Dates are fixed inputs: nothing here depends on the real date.
 */
import assert from "node:assert/strict";
import ICAL from "ical.js";
import { calendarFeed, type FeedIntent } from "../../supabase/functions/_shared/calendar/ics.ts";
import { feedZone, vtimezone } from "../../supabase/functions/_shared/calendar/zones.ts";
import { localInstant } from "../../supabase/functions/_shared/calendar/local_time.ts";
import {
  addDays,
  type ScheduledDay,
  upcomingDays,
} from "../../supabase/functions/_shared/calendar/schedule.ts";

const INTENT: FeedIntent = {
  id: "6f1c2b9e-4f57-4c1a-9a43-7d2f0e4b8c11",
  topic: "Rust ownership",
  timePerDayMin: 45,
  timeZone: "Europe/Berlin",
  planTime: "07:30",
};
const STAMP = new Date("2026-03-20T10:00:00Z");

interface ParsedEvent {
  uid: string;
  summary: string;
  /** Local wall time as ical.js reads it, `YYYY-MM-DDTHH:MM:SS`. */
  local: string;
  zone: string;
  /** Seconds east of UTC at the start. */
  offsetS: number;
  startUtc: Date;
  durationS: number;
}

/** Parses `text` with ical.js, resolving TZIDs with the feed's own VTIMEZONEs only. */
function parse(text: string) {
  const calendar = new ICAL.Component(ICAL.parse(text));
  const zones = calendar.getAllSubcomponents("vtimezone");
  for (const zone of zones) ICAL.TimezoneService.register(zone);
  try {
    const events: ParsedEvent[] = calendar.getAllSubcomponents("vevent").map((component) => {
      const event = new ICAL.Event(component);
      const start = event.startDate;
      return {
        uid: event.uid,
        summary: event.summary,
        local: start.toString(),
        zone: start.zone?.tzid ?? "",
        offsetS: start.utcOffset(),
        startUtc: start.toJSDate(),
        durationS: event.duration.toSeconds(),
      };
    });
    return { calendar, zones, events };
  } finally {
    for (const zone of zones) {
      ICAL.TimezoneService.remove(String(zone.getFirstPropertyValue("tzid")));
    }
  }
}

/** The zone's UTC offset at `at` in seconds, from Intl (not from the feed). */
function intlOffsetS(zone: string, at: Date): number {
  const name = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
    .formatToParts(at).find((p) => p.type === "timeZoneName")?.value ?? "";
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!match) return 0; // "GMT": UTC itself
  return (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 3600 + Number(match[3]) * 60);
}

function feed(intent: FeedIntent, days: ScheduledDay[]) {
  return calendarFeed({ intent, days, stamp: STAMP });
}

Deno.test("Berlin across the last Sunday of March: 07:30 local every day, +01:00 then +02:00", () => {
  const days = upcomingDays({
    today: "2026-03-22",
    latest: { week: 1, day: 3, localDate: "2026-03-22", title: "Ownership and moves" },
  });
  const { zones, events } = parse(feed(INTENT, days));
  assert.equal(events.length, 14);

  assert.equal(zones.length, 1);
  assert.equal(zones[0].getFirstPropertyValue("tzid"), "Europe/Berlin");
  assert.equal(zones[0].getAllSubcomponents("standard").length, 1);
  assert.equal(zones[0].getAllSubcomponents("daylight").length, 1);

  events.forEach((event, i) => {
    const date = addDays("2026-03-22", i);
    assert.equal(event.local, `${date}T07:30:00`, event.uid);
    assert.equal(event.zone, "Europe/Berlin");
    // 2026-03-29 is the change: 02:00 CET → 03:00 CEST.
    assert.equal(event.offsetS, date < "2026-03-29" ? 3600 : 7200, date);
    assert.equal(event.offsetS, intlOffsetS("Europe/Berlin", event.startUtc), date);
    assert.equal(event.durationS, 45 * 60);
  });
  assert.equal(events[6].startUtc.toISOString(), "2026-03-28T06:30:00.000Z");
  assert.equal(events[7].startUtc.toISOString(), "2026-03-29T05:30:00.000Z");

  assert.equal(events[0].summary, "Ownership and moves");
  assert.equal(events[1].summary, "Wisely: Rust ownership — week 1 day 4");
  assert.equal(events[13].summary, "Wisely: Rust ownership — week 3 day 2");
});

Deno.test("New York in November: the UTC offset goes from -04:00 to -05:00, local time stays", () => {
  const intent = { ...INTENT, timeZone: "America/New_York", planTime: "18:05", timePerDayMin: 15 };
  const { events } = parse(feed(intent, upcomingDays({ today: "2026-10-25", latest: null })));
  assert.equal(events.length, 14);
  for (const event of events) {
    assert.match(event.local, /T18:05:00$/);
    assert.equal(event.offsetS, event.local < "2026-11-01T18" ? -4 * 3600 : -5 * 3600);
    assert.equal(event.offsetS, intlOffsetS("America/New_York", event.startUtc));
    assert.equal(event.durationS, 15 * 60);
  }
});

Deno.test("a plan_time in the spring-forward gap moves forward by the gap, as Postgres reads it", () => {
  // 02:30 on 2026-03-08 does not exist in New York: Postgres reads it with the offset before
  // the change (07:30Z = 03:30 EDT), and so does the feed.
  assert.equal(
    new Date(localInstant("2026-03-08", "02:30", "America/New_York").getTime()).toISOString(),
    "2026-03-08T07:30:00.000Z",
  );
  // The fall-back overlap: the later (standard-time) instant, as Postgres.
  assert.equal(
    new Date(localInstant("2026-11-01", "01:30", "America/New_York").getTime()).toISOString(),
    "2026-11-01T06:30:00.000Z",
  );
  const intent = { ...INTENT, timeZone: "America/New_York", planTime: "02:30" };
  const days = upcomingDays({ today: "2026-03-07", latest: null, count: 3 });
  const { events } = parse(feed(intent, days));
  assert.deepEqual(events.map((e) => e.local), [
    "2026-03-07T02:30:00",
    "2026-03-08T03:30:00",
    "2026-03-09T02:30:00",
  ]);
  assert.equal(events[1].startUtc.toISOString(), "2026-03-08T07:30:00.000Z");
});

Deno.test("UIDs: one per (intent, week, day), the same when the day moves to another date", () => {
  const monday = upcomingDays({ today: "2026-03-23", latest: null });
  const tuesday = upcomingDays({ today: "2026-03-24", latest: null });
  const a = parse(feed(INTENT, monday)).events;
  const b = parse(feed(INTENT, tuesday)).events;
  assert.equal(new Set(a.map((e) => e.uid)).size, 14);
  assert.equal(a[0].uid, b[0].uid, "week 1 day 1 moved a day, same UID");
  assert.notEqual(a[0].local, b[0].local);
  const other = parse(feed({ ...INTENT, id: crypto.randomUUID() }, monday)).events;
  assert.ok(other.every((e) => !a.some((x) => x.uid === e.uid)), "another intent, other UIDs");
});

Deno.test("pure: the same input gives the same bytes; DTSTAMP is the input's, in UTC", () => {
  const days = upcomingDays({ today: "2026-03-22", latest: null });
  const text = feed(INTENT, days);
  assert.equal(feed(INTENT, days), text);
  const { calendar } = parse(text);
  for (const event of calendar.getAllSubcomponents("vevent")) {
    const stamp = event.getFirstProperty("dtstamp");
    assert.equal(stamp?.toICALString(), "DTSTAMP:20260320T100000Z");
  }
  assert.match(text, /^BEGIN:VCALENDAR\r\nVERSION:2\.0\r\n/);
  assert.ok(text.split("\r\n").every((line) => new TextEncoder().encode(line).length <= 75));
});

Deno.test("learner text is escaped, not able to add properties", () => {
  const topic = "C; really\nBEGIN:VEVENT, \\ hard";
  const days = upcomingDays({
    today: "2026-03-22",
    latest: { week: 1, day: 1, localDate: "2026-03-22", title: "Pointers;\r\nSUMMARY:x" },
  });
  const { calendar, events } = parse(feed({ ...INTENT, topic }, days));
  assert.equal(events.length, 14);
  // NAME (RFC 7986) is TEXT, escaped on one line; ical.js hands it back as written.
  assert.equal(
    calendar.getFirstPropertyValue("name"),
    "Wisely: C\\; really BEGIN:VEVENT\\, \\\\ hard",
  );
  assert.equal(events[0].summary, "Pointers;\nSUMMARY:x");
  assert.equal(events[1].summary, `Wisely: ${topic} — week 1 day 2`);
});

Deno.test("no intent: a valid calendar with no events", () => {
  const text = calendarFeed({ intent: null, days: [], stamp: STAMP });
  const { calendar, events } = parse(text);
  assert.equal(calendar.name, "vcalendar");
  assert.equal(calendar.getFirstPropertyValue("version"), "2.0");
  assert.equal(events.length, 0);
});

Deno.test("UTC and a zone without a VTIMEZONE are written as UTC instants", () => {
  for (const timeZone of ["UTC", "Factory"]) {
    const text = feed({ ...INTENT, timeZone }, upcomingDays({ today: "2026-03-22", latest: null }));
    assert.doesNotMatch(text, /TZID|BEGIN:VTIMEZONE/, timeZone);
    const { events } = parse(text);
    assert.equal(events[0].startUtc.toISOString(), "2026-03-22T07:30:00.000Z", timeZone);
  }
  assert.equal(vtimezone("Factory"), null);
  assert.equal(vtimezone("No/Such_Zone"), null);
  assert.match(vtimezone("Asia/Kolkata")?.component ?? "", /TZOFFSETTO:\+0530/);
  assert.deepEqual(feedZone("posixrules"), { tzid: null, clock: "UTC" }, "unknown to Intl");
});

Deno.test("an alias names the canonical zone its VTIMEZONE defines", () => {
  const zone = vtimezone("US/Eastern");
  assert.equal(zone?.tzid, "America/New_York");
  assert.match(zone?.component ?? "", /^BEGIN:VTIMEZONE\r\nTZID:America\/New_York\r\n/);
  const text = feed(
    { ...INTENT, timeZone: "US/Eastern" },
    upcomingDays({ today: "2026-03-22", latest: null }),
  );
  assert.doesNotMatch(text, /TZID=US\/Eastern/);
  const { zones, events } = parse(text);
  assert.deepEqual(zones.map((z) => z.getFirstPropertyValue("tzid")), ["America/New_York"]);
  assert.equal(events[0].local, "2026-03-22T07:30:00");
  assert.equal(events[0].offsetS, -4 * 3600);
});
