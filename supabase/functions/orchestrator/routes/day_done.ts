/**
 * `POST day.done` (spec 5.5, 7): record (or update) a session's completion. Another user's
 * session is invisible under RLS, so it is a 404 exactly like an unknown id.
 *
 * In the same transaction, the completion rates every objective the session's plan covered
 * (its new objectives and its review block: `memory/rating.ts`, or `objective_ratings`), the
 * FSRS memory of those objectives is replayed and stored (`memory/record.ts`), an unopened
 * pre-generated next-day plan whose inputs this changes is marked for composing again, and the
 * hint is worded from the next day's learner model (`plan/hint.ts`).
 */
import { z } from "zod";
import { commitBehind, type Tx } from "../../_shared/db.ts";
import { invalidRequest, sessionNotFound } from "../../_shared/errors.ts";
import { recordEvent } from "../../_shared/events.ts";
import type { Route } from "../../_shared/http/app.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import { loadLearner } from "../../_shared/memory/learner.ts";
import { ratingFor } from "../../_shared/memory/rating.ts";
import { priorReviews, type RatedObjective, recordReviews } from "../../_shared/memory/record.ts";
import { isLastDay, nextDay, nextDayHint } from "../../_shared/plan/hint.ts";
import { objectiveKey, objectiveText } from "../../_shared/plan/objectives.ts";
import type { PreviousCompletion } from "../../_shared/plan/types.ts";
import { DayDoneBody } from "../../_shared/schemas.ts";

interface CompletionRow {
  session_id: string;
  completion_time_min: number;
  confidence: number;
  notes: string | null;
  completed_at: Date;
  first: boolean;
}

interface SessionFacts {
  id: string;
  intent_id: string;
  week: number;
  day: number;
  total_minutes: number;
  plan: unknown;
  time_per_day_min: number;
  learning_day: number;
}

const Planned = z.object({ key: z.string().min(1), objective: z.string().min(1) });
/** What a stored plan says it covered: version 2 lists it; version 1 only has its sections. */
const PlanCoverage = z.union([
  z.object({ version: z.literal(2), objectives: z.array(Planned), reviews: z.array(Planned) }),
  z.object({
    sections: z.array(z.object({ kind: z.string(), items: z.array(z.string()) })),
  }),
]);

interface Covered {
  key: string;
  objective: string;
  in_review: boolean;
}

/** The objectives a stored plan covered, by memory key (its objectives, then its reviews). */
function coveredObjectives(plan: unknown): Covered[] {
  const parsed = PlanCoverage.safeParse(plan);
  if (!parsed.success) return [];
  const listed: Covered[] = "objectives" in parsed.data
    ? [
      ...parsed.data.objectives.map((o) => ({ ...o, in_review: false })),
      ...parsed.data.reviews.map((o) => ({ ...o, in_review: true })),
    ]
    : parsed.data.sections.filter((s) => s.kind === "focus").flatMap((s) =>
      s.items.map((item) => ({
        key: objectiveKey(item),
        objective: objectiveText(item),
        in_review: false,
      }))
    );
  const seen = new Set<string>();
  const covered: Covered[] = [];
  for (const o of listed) {
    if (o.key === "" || seen.has(o.key)) continue;
    seen.add(o.key);
    covered.push(o);
  }
  return covered;
}

/**
 * Each covered objective with its rating: the request's `objective_ratings` where given, the
 * mapping from confidence and time otherwise. A rating naming an objective the session did not
 * cover is a 400.
 */
function rateObjectives(
  body: DayDoneBody,
  covered: Covered[],
  completion: PreviousCompletion,
): RatedObjective[] {
  const given = new Map<string, DayDoneRating>();
  const unknown: { path: (string | number)[]; message: string }[] = [];
  (body.objective_ratings ?? []).forEach((r, index) => {
    // As listed in plan_md, where Markdown punctuation is backslash-escaped, or as plain text.
    const keys = [objectiveKey(r.objective), objectiveKey(r.objective.replace(/\\(.)/g, "$1"))];
    const key = keys.find((k) => covered.some((o) => o.key === k));
    if (key !== undefined) given.set(key, r.rating);
    else {
      unknown.push({
        path: ["objective_ratings", index, "objective"],
        message: "Not an objective of this session's plan.",
      });
    }
  });
  if (unknown.length > 0) {
    throw invalidRequest("objective_ratings names objectives this session did not cover.", unknown);
  }
  const fallback = ratingFor(completion);
  return covered.map((o) => ({ ...o, rating: given.get(o.key) ?? fallback }));
}
type DayDoneRating = NonNullable<DayDoneBody["objective_ratings"]>[number]["rating"];

/** The session, its completion and its reviews so far, in one round trip. */
function loadSession(tx: Tx, sessionId: string) {
  return Promise.all([
    tx<SessionFacts[]>`
      select s.id, s.intent_id, s.week, s.day, s.total_minutes, s.plan, i.time_per_day_min,
        (select count(*)::int + 1 from wisely.sessions b
          join wisely.completions c on c.session_id = b.id
          where b.intent_id = s.intent_id and (b.week, b.day) < (s.week, s.day)) as learning_day
      from wisely.sessions s join wisely.intents i on i.id = s.intent_id
      where s.id = ${sessionId}
    `,
    tx<{ confidence: number; completion_time_min: number }[]>`
      select confidence, completion_time_min from wisely.completions
      where session_id = ${sessionId}
    `,
    priorReviews(tx, sessionId),
  ]);
}

/**
 * The route's whole database step, in the caller's user transaction: find the session (RLS
 * hides other users'), upsert its completion, record its reviews, mark an unopened next-day
 * plan whose inputs changed, word the hint, and record the event on the first completion only;
 * the last writes go out with COMMIT (the transaction ends here). Exported for the benchmark's
 * baseline.
 */
export async function completeSession(tx: Tx, userId: string, body: DayDoneBody) {
  const [[session], [before], prior] = await loadSession(tx, body.session_id);
  if (!session) throw sessionNotFound();
  const facts: PreviousCompletion = {
    week: session.week,
    day: session.day,
    completion_time_min: body.completion_time_min,
    confidence: body.confidence,
    planned_minutes: session.total_minutes,
  };
  const rated = rateObjectives(body, coveredObjectives(session.plan), facts);

  // Sent together, in this order, one round trip: the completion (`xmax = 0` only for a
  // freshly inserted row: the first completion emits the event; the hint is set below, once
  // the memory it is worded from is up to date), then the reviews dated by it and the history
  // of the objectives they touch (memory/record.ts).
  const upserted = upsertCompletion(tx, userId, session.id, body);
  const recorded = recordReviews(tx, {
    sessionId: session.id,
    userId,
    intentId: session.intent_id,
    week: session.week,
    day: session.day,
    learningDay: session.learning_day,
    items: rated,
    prior,
  });
  const [[completion], reviews] = await Promise.all([upserted, recorded]);
  const changed = completion.first || reviews.changed ||
    before?.confidence !== body.confidence ||
    before?.completion_time_min !== body.completion_time_min;
  // The next day's learner model is read right behind the memory writes, which it sees.
  const [, hint] = await Promise.all([reviews.stored, nextHint(tx, session, facts)]);
  await finishCompletion(tx, session, { hint, changed, first: completion.first });
  return { completion, hint };
}

/**
 * The last writes, sent with COMMIT: the hint; a mark on the next day's unopened plan when its
 * inputs `changed`; the event on the `first` completion only.
 */
function finishCompletion(
  tx: Tx,
  session: SessionFacts,
  { hint, changed, first }: { hint: string; changed: boolean; first: boolean },
) {
  const next = nextDay(session.week, session.day);
  return commitBehind(
    tx,
    Promise.all([
      tx`update wisely.completions set next_day_hint = ${hint} where session_id = ${session.id}`
        .execute(),
      // A next-day plan made before this completion (or before its correction) and not seen yet
      // is composed again before the learner sees it (day.run, or day.tick's retry).
      changed && !isLastDay(session.week, session.day)
        ? tx`
        update wisely.sessions set inputs_changed_at = now()
        where intent_id = ${session.intent_id} and week = ${next.week} and day = ${next.day}
          and opened_at is null
      `.execute()
        : null,
      first
        ? recordEvent(tx, "day_completed", {
          session_id: session.id,
          intent_id: session.intent_id,
          week: session.week,
          day: session.day,
          next_week: next.week,
          next_day: next.day,
        })
        : null,
    ]),
  );
}

/** Inserts or corrects the session's completion; its hint is set once it is worded. */
function upsertCompletion(tx: Tx, userId: string, sessionId: string, body: DayDoneBody) {
  return tx<CompletionRow[]>`
    insert into wisely.completions
      (session_id, user_id, completion_time_min, confidence, notes, next_day_hint)
    values (${sessionId}, ${userId}, ${body.completion_time_min}, ${body.confidence},
      ${body.notes ?? null}, '')
    on conflict (session_id) do update set
      completion_time_min = excluded.completion_time_min,
      confidence = excluded.confidence,
      notes = excluded.notes,
      updated_at = now()
    returning session_id, completion_time_min, confidence, notes, completed_at,
      (xmax = 0) as first
  `.execute();
}

/** The hint, from the next day's learner model as that day's day.run will load it. */
async function nextHint(tx: Tx, session: SessionFacts, facts: PreviousCompletion) {
  if (isLastDay(session.week, session.day)) return nextDayHint(facts);
  const next = nextDay(session.week, session.day);
  const learner = await loadLearner(tx, session.intent_id, next.week, next.day);
  return nextDayHint(facts, { learner: learner.state, minutes: session.time_per_day_min });
}

export function dayDoneRoute(): Route {
  return {
    method: "POST",
    path: "day.done",
    auth: "user",
    async handle({ req, principal, db }) {
      const body = await readJson(req, DayDoneBody);
      const { completion, hint } = await db.transaction((tx) =>
        completeSession(tx, principal.userId, body)
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
