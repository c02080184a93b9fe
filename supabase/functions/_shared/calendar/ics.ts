/**
 * The calendar feed as RFC 5545 text (ical-generator), from plain data: pure, so the same
 * input always gives the same bytes (the ETag is their hash).
 *
 * Times are wall-clock times in the learner's zone (`DTSTART;TZID=<zone>:…`) with the zone's
 * VTIMEZONE (zones.ts), so calendar apps place every session at `plan_time` local on both
 * sides of a DST change. The instant of a local time follows Postgres's rules for DST gaps and
 * overlaps (local_time.ts), as status and day.tick compute it.
 *
 * UIDs are stable per (intent, week, day): when a day moves (a missed day pushes the rest
 * back) calendar apps move the event instead of adding a second one.
 */
import { TZDate } from "@date-fns/tz";
import ical from "ical-generator";
import { localInstant } from "./local_time.ts";
import type { ScheduledDay } from "./schedule.ts";
import { feedZone, vtimezone } from "./zones.ts";

export interface FeedIntent {
  id: string;
  topic: string;
  timePerDayMin: number;
  /** IANA zone (`intents.user_tz`). */
  timeZone: string;
  /** `HH:MM`, local in `timeZone`. */
  planTime: string;
}

export interface FeedInput {
  /** The active intent; null gives a valid calendar with no events. */
  intent: FeedIntent | null;
  days: ScheduledDay[];
  /**
   * DTSTAMP of every event: when the feed's data last changed (RFC 5545 3.8.7.2, for a
   * calendar without METHOD), so the bytes, and the ETag, stay the same until it does.
   */
  stamp: Date;
  /** Refresh interval calendar apps are asked to keep. @default 3600 s */
  refreshS?: number;
}

/** The domain part of every UID. */
export const UID_DOMAIN = "calendar.wisely";

/** The stable UID of an intent's (week, day). */
export function eventUid(intentId: string, week: number, day: number): string {
  return `${intentId}-w${week}-d${day}@${UID_DOMAIN}`;
}

/**
 * A TEXT value on one line, escaped (RFC 5545 3.3.11): ical-generator escapes SUMMARY and
 * DESCRIPTION itself but writes the calendar's NAME as given, and the name holds the topic.
 */
export function oneLineText(text: string): string {
  // Control characters (line breaks above all) would end the line and start a property.
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]+/g, " ").replace(/[\\;,]/g, (c) => `\\${c}`);
}

/** What the event is called: the day's stored title, else the topic and the day. */
export function eventSummary(intent: FeedIntent, day: ScheduledDay): string {
  return day.title ?? `Wisely: ${intent.topic} — week ${day.week} day ${day.day}`;
}

/** The whole feed. */
export function calendarFeed(input: FeedInput): string {
  const { intent } = input;
  const calendar = ical({
    prodId: { company: "Wisely", product: "Orchestrator", language: "EN" },
    name: intent ? oneLineText(`Wisely: ${intent.topic}`) : "Wisely",
    // Only the generator: a calendar-wide zone would make ical-generator write DTSTAMP as a
    // local time without `Z`, which RFC 5545 forbids. Each event names its zone instead.
    timezone: { name: null, generator: (zone: string) => vtimezone(zone)?.component ?? null },
    ttl: input.refreshS ?? 3600,
  });
  if (intent === null) return calendar.toString();
  // ical-generator writes UTC as `…Z` itself, from plain instants (zones.ts).
  const { tzid, clock } = feedZone(intent.timeZone);
  for (const day of input.days) {
    const start = localInstant(day.date, intent.planTime, clock);
    const end = new TZDate(start.getTime() + intent.timePerDayMin * 60_000, clock);
    calendar.createEvent({
      id: eventUid(intent.id, day.week, day.day),
      start: tzid ? start : new Date(start.getTime()),
      end: tzid ? end : new Date(end.getTime()),
      timezone: tzid,
      stamp: input.stamp,
      summary: eventSummary(intent, day),
      description: `Week ${day.week}, day ${day.day} of ${intent.topic}: ` +
        `${intent.timePerDayMin} minutes.`,
    });
  }
  return calendar.toString();
}
