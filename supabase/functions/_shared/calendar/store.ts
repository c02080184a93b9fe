/**
 * The calendar link in the database (migration 20260101001200): saving and revoking the
 * learner's link as the learner (RLS), and reading a feed by its key's hash through
 * `wisely.calendar_feed`, the only way the unauthenticated feed route reaches any data.
 */
import { z } from "zod";
import { asService, type Sql, type Tx } from "../db.ts";
import type { LatestSession } from "./schedule.ts";
import type { FeedIntent } from "./ics.ts";

/** Postgres prints timestamptz in jsonb as `2026-03-01T07:30:00.123456+00:00`. */
const Timestamp = z.string().transform((text, ctx) => {
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) {
    ctx.addIssue({ code: "custom", message: "not a timestamp" });
    return z.NEVER;
  }
  return at;
});
const LocalDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

/** What `wisely.calendar_feed` returns for a known key. */
const FeedRow = z.object({
  intent: z.object({
    id: z.uuid(),
    topic: z.string(),
    time_per_day_min: z.number().int(),
    user_tz: z.string(),
    plan_time: z.string().regex(/^\d{2}:\d{2}$/),
    updated_at: Timestamp,
    paused_until: LocalDate.nullable(),
  }).nullable(),
  latest: z.object({
    week: z.number().int(),
    day: z.number().int(),
    local_date: LocalDate,
    title: z.string().nullable(),
    updated_at: Timestamp,
  }).nullable(),
  today: LocalDate.nullable(),
});

export interface FeedData {
  intent: FeedIntent | null;
  latest: LatestSession | null;
  /** Today in the intent's zone; null without an intent. */
  today: string | null;
  /** The last day of the pause covering today (inclusive); null when not paused. */
  pausedUntil: string | null;
  /** When what the feed shows last changed (the intent's or latest session's update). */
  changedAt: Date | null;
}

/** The feed of the link whose key hashes to `hash`; null when there is no such link. */
export async function readFeed(sql: Sql, hash: Uint8Array): Promise<FeedData | null> {
  const [row] = await asService(
    sql,
    (tx) => tx<{ feed: unknown }[]>`select wisely.calendar_feed(${hash}) as feed`,
  );
  if (row.feed === null) return null;
  // Our own function's output; a mismatch is a bug (500), not the client's fault.
  const feed = FeedRow.parse(row.feed);
  const { intent, latest } = feed;
  const changed = [intent?.updated_at, latest?.updated_at].filter((d) => d !== undefined);
  return {
    intent: intent && {
      id: intent.id,
      topic: intent.topic,
      timePerDayMin: intent.time_per_day_min,
      timeZone: intent.user_tz,
      planTime: intent.plan_time,
    },
    latest: latest &&
      { week: latest.week, day: latest.day, localDate: latest.local_date, title: latest.title },
    today: feed.today,
    pausedUntil: intent?.paused_until ?? null,
    changedAt: changed.length === 0 ? null : new Date(Math.max(...changed.map(Number))),
  };
}

/** Saves `hash` as the user's one link, replacing any earlier one (whose URL then fails). */
export async function saveLink(tx: Tx, userId: string, hash: Uint8Array): Promise<void> {
  await tx`
    insert into wisely.calendar_links (user_id, key_hash)
    values (${userId}, ${hash})
    on conflict (user_id) do update set key_hash = excluded.key_hash, created_at = now()
  `;
}

/** Removes the user's link; true when there was one. */
export async function revokeLink(tx: Tx, userId: string): Promise<boolean> {
  const rows = await tx`delete from wisely.calendar_links where user_id = ${userId} returning 1`;
  return rows.length > 0;
}
