/**
 * `POST day.done` (spec 5.5): record (or update) a session's completion. Another user's session
 * is invisible under RLS, so it is a 404 exactly like an unknown id.
 */
import { asUser, type Sql, type Tx } from "../../_shared/db.ts";
import { sessionNotFound } from "../../_shared/errors.ts";
import { recordEvent } from "../../_shared/events.ts";
import type { Route } from "../../_shared/http/app.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import { nextDay, nextDayHint } from "../../_shared/plan/hint.ts";
import { DayDoneBody } from "../../_shared/schemas.ts";

interface CompletionRow {
  session_id: string;
  completion_time_min: number;
  confidence: number;
  notes: string | null;
  completed_at: Date;
  first: boolean;
}

/**
 * The route's whole database step, in the caller's user transaction: find the session (RLS
 * hides other users'), upsert its completion, and record the event on the first completion
 * only. Exported for the benchmark's baseline.
 */
export async function completeSession(tx: Tx, userId: string, body: DayDoneBody) {
  const [session] = await tx<
    { id: string; intent_id: string; week: number; day: number; total_minutes: number }[]
  >`
    select id, intent_id, week, day, total_minutes from wisely.sessions
    where id = ${body.session_id}
  `;
  if (!session) throw sessionNotFound();
  const next = nextDay(session.week, session.day);
  const hint = nextDayHint({
    week: session.week,
    day: session.day,
    completion_time_min: body.completion_time_min,
    confidence: body.confidence,
    planned_minutes: session.total_minutes,
  });
  // `xmax = 0` only for a freshly inserted row: the first completion emits the event.
  const [completion] = await tx<CompletionRow[]>`
    insert into wisely.completions
      (session_id, user_id, completion_time_min, confidence, notes, next_day_hint)
    values (${session.id}, ${userId}, ${body.completion_time_min}, ${body.confidence},
      ${body.notes ?? null}, ${hint})
    on conflict (session_id) do update set
      completion_time_min = excluded.completion_time_min,
      confidence = excluded.confidence,
      notes = excluded.notes,
      next_day_hint = excluded.next_day_hint,
      updated_at = now()
    returning session_id, completion_time_min, confidence, notes, completed_at,
      (xmax = 0) as first
  `;
  if (completion.first) {
    await recordEvent(tx, userId, "day_completed", {
      session_id: session.id,
      intent_id: session.intent_id,
      week: session.week,
      day: session.day,
      next_week: next.week,
      next_day: next.day,
    });
  }
  return { completion, hint };
}

export function dayDoneRoute(sql: Sql): Route {
  return {
    method: "POST",
    path: "day.done",
    auth: "user",
    async handle({ req, principal }) {
      const body = await readJson(req, DayDoneBody);
      const { completion, hint } = await asUser(
        sql,
        principal.claims,
        (tx) => completeSession(tx, principal.userId, body),
      );
      return json({
        ok: true,
        next_day_hint: hint,
        completion_summary: {
          session_id: completion.session_id,
          completion_time_min: completion.completion_time_min,
          confidence: completion.confidence,
          notes: completion.notes,
          completed_at: completion.completed_at,
        },
      });
    },
  };
}
