/**
 * The limit the routes are measured against: the same SQL the route runs, through the same
 * postgres.js pool settings and the same `asUser` transaction wrapper, with no HTTP, no JWT
 * check, no JSON parsing or validation.
 *
 * The routes keep their statements inline in their handlers, so the statements are replicated
 * here; keep them in step with:
 * - `status`      → supabase/functions/orchestrator/routes/status.ts
 * - `day.done`    → supabase/functions/orchestrator/routes/day_done.ts
 * - `intent.sync` → supabase/functions/orchestrator/routes/intent_sync.ts (same-topic path:
 *                   a repeated sync of the active topic, the steady state)
 * The helpers the routes share (`asUser`, `jsonb`, `recordEvent`, `nextDayHint`, `planTimeOf`)
 * are imported, not copied, so a change to them changes the limit too.
 */
import { asUser, jsonb, type Sql, type UserClaims } from "../../supabase/functions/_shared/db.ts";
import { recordEvent } from "../../supabase/functions/_shared/events.ts";
import { nextDay, nextDayHint } from "../../supabase/functions/_shared/plan/hint.ts";
import { planTimeOf } from "../../supabase/functions/_shared/schemas.ts";

export async function statusSql(sql: Sql, claims: UserClaims): Promise<unknown> {
  return await asUser(sql, claims, async (tx) => {
    const [row] = await tx<{ status: unknown }[]>`select wisely.user_status() as status`;
    return row.status;
  });
}

export interface DayDoneInput {
  session_id: string;
  completion_time_min: number;
  confidence: number;
  notes?: string;
}

export async function dayDoneSql(
  sql: Sql,
  claims: UserClaims,
  body: DayDoneInput,
): Promise<unknown> {
  const userId = claims.sub;
  return await asUser(sql, claims, async (tx) => {
    const [session] = await tx<
      { id: string; intent_id: string; week: number; day: number; total_minutes: number }[]
    >`
      select id, intent_id, week, day, total_minutes from wisely.sessions
      where id = ${body.session_id}
    `;
    if (!session) throw new Error("session not found");
    const next = nextDay(session.week, session.day);
    const hint = nextDayHint({
      week: session.week,
      day: session.day,
      completion_time_min: body.completion_time_min,
      confidence: body.confidence,
      planned_minutes: session.total_minutes,
    });
    const [completion] = await tx<{ first: boolean }[]>`
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
    return completion;
  });
}

export interface IntentInput {
  topic: string;
  depth: string;
  end_goal: string;
  time_per_day_min: number;
  user_tz: string;
  meta: Record<string, unknown>;
}

/** The same-topic path of intent.sync (lock, look, update, event). */
export async function intentSyncSql(
  sql: Sql,
  claims: UserClaims,
  body: IntentInput,
): Promise<unknown> {
  const userId = claims.sub;
  const planTime = planTimeOf(body.meta);
  return await asUser(sql, claims, async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended(${"wisely.intent:" + userId}, 0))`;
    const [active] = await tx<{ id: string; same_topic: boolean }[]>`
      select id, lower(btrim(topic)) = lower(${body.topic}) as same_topic
      from wisely.intents where user_id = ${userId} and active
    `;
    if (!active?.same_topic) throw new Error("the bench expects the same-topic path");
    const [row] = await tx<{ id: string }[]>`
      update wisely.intents set
        topic = ${body.topic}, depth = ${body.depth}, end_goal = ${body.end_goal},
        time_per_day_min = ${body.time_per_day_min}, user_tz = ${body.user_tz},
        plan_time = ${planTime}::time, meta = ${jsonb(tx, body.meta)},
        updated_at = now()
      where id = ${active.id}
      returning *
    `;
    await recordEvent(tx, userId, "intent_synced", {
      intent_id: row.id,
      created: false,
      replaced_intent_id: null,
    });
    return row;
  });
}
