/**
 * `GET sessions?limit=&cursor=` (spec 5.7): the user's sessions newest first, with their
 * completion, by keyset pagination. The cursor is opaque to clients: the last row's creation
 * time (to the microsecond, so rows in one millisecond are not skipped) and id.
 * `Accept: text/csv` returns the same page as RFC 4180 CSV, the next cursor in `X-Next-Cursor`.
 *
 * Each session has its `state` (spec 12; migration 20260101001100): the stored one, except that a
 * planned or opened session whose local day (`planned_on`, the intent's user_tz) is before today
 * reads as skipped even if no day.tick has marked it yet.
 */
import { z } from "zod";
import { decodeCursor, encodeCursor } from "../../_shared/http/cursor.ts";
import type { Route } from "../../_shared/http/app.ts";
import { readQuery } from "../../_shared/http/body.ts";
import { toCsv } from "../../_shared/http/csv.ts";
import { json } from "../../_shared/http/respond.ts";

export const SessionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

const CURSOR_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;

/**
 * True when `text` is a UTC instant as the cursor writes it and a real one: a forged cursor
 * with month 13, February 30 or year 0 would otherwise reach Postgres, whose cast fails (a
 * 500). `Date.parse` is no help: it accepts February 30 and 24:00.
 */
export function isCursorTime(text: string): boolean {
  const match = CURSOR_TIME.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  if (year < 1) return false;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC, which maps years 0–99 to 19xx
  date.setUTCHours(hour, minute, second);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day && date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
}

const CursorSchema = z.strictObject({
  /** created_at as Postgres prints it in UTC with microseconds. */
  c: z.string().refine(isCursorTime),
  i: z.uuid(),
});

interface SessionListRow {
  id: string;
  intent_id: string;
  week: number;
  day: number;
  revision: number;
  plan_title: string | null;
  degraded_mode: boolean;
  total_minutes: number;
  created_at: Date;
  created_key: string;
  state: "planned" | "opened" | "completed" | "skipped";
  planned_on: string;
  completion_time_min: number | null;
  confidence: number | null;
  notes: string | null;
  completed_at: Date | null;
}

function view(row: SessionListRow) {
  return {
    session_id: row.id,
    intent_id: row.intent_id,
    week: row.week,
    day: row.day,
    revision: row.revision,
    plan_title: row.plan_title,
    degraded_mode: row.degraded_mode,
    total_minutes: row.total_minutes,
    created_at: row.created_at,
    state: row.state,
    planned_on: row.planned_on,
    completion: row.completed_at === null ? null : {
      completion_time_min: row.completion_time_min,
      confidence: row.confidence,
      notes: row.notes,
      completed_at: row.completed_at,
    },
  };
}

const CSV_COLUMNS: {
  name: string;
  value: (row: SessionListRow) => string | number | boolean | null;
  text?: boolean;
}[] = [
  { name: "session_id", value: (r) => r.id },
  { name: "intent_id", value: (r) => r.intent_id },
  { name: "week", value: (r) => r.week },
  { name: "day", value: (r) => r.day },
  { name: "revision", value: (r) => r.revision },
  { name: "plan_title", value: (r) => r.plan_title, text: true },
  { name: "degraded_mode", value: (r) => r.degraded_mode },
  { name: "total_minutes", value: (r) => r.total_minutes },
  { name: "created_at", value: (r) => r.created_at.toISOString() },
  { name: "completion_time_min", value: (r) => r.completion_time_min },
  { name: "confidence", value: (r) => r.confidence },
  { name: "notes", value: (r) => r.notes, text: true },
  { name: "completed_at", value: (r) => r.completed_at?.toISOString() ?? null },
  { name: "state", value: (r) => r.state },
  { name: "planned_on", value: (r) => r.planned_on },
];

export function sessionsRoute(): Route {
  return {
    method: "GET",
    path: "sessions",
    auth: "user",
    async handle({ req, url, principal, db }) {
      const query = readQuery(url, SessionsQuery);
      const after = query.cursor === undefined ? null : decodeCursor(query.cursor, CursorSchema);
      const rows = await db.transaction((tx) =>
        tx<SessionListRow[]>`
          select s.id, s.intent_id, s.week, s.day, s.revision,
            s.plan_summary ->> 'title' as plan_title, s.degraded_mode, s.total_minutes,
            s.created_at,
            to_char(s.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
              as created_key,
            c.completion_time_min, c.confidence, c.notes, c.completed_at,
            wisely.session_state(s.state, s.planned_on, (now() at time zone i.user_tz)::date)
              as state,
            to_char(s.planned_on, 'YYYY-MM-DD') as planned_on
          from wisely.sessions s
          join wisely.intents i on i.id = s.intent_id
          left join wisely.completions c on c.session_id = s.id
          where s.user_id = ${principal.userId}
            ${
          after === null
            ? tx``
            : tx`and (s.created_at, s.id) < (${after.c}::timestamptz, ${after.i}::uuid)`
        }
          order by s.created_at desc, s.id desc
          limit ${query.limit + 1}
        `
      );
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      const nextCursor = rows.length > query.limit && last
        ? encodeCursor({ c: last.created_key, i: last.id })
        : null;

      if ((req.headers.get("accept") ?? "").toLowerCase().includes("text/csv")) {
        const headers = new Headers({ "Content-Type": "text/csv; charset=utf-8; header=present" });
        if (nextCursor) headers.set("X-Next-Cursor", nextCursor);
        return new Response(toCsv(CSV_COLUMNS, page), { headers });
      }
      return json({ sessions: page.map(view), next_cursor: nextCursor });
    },
  };
}
