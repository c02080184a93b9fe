/**
 * Recording a completed session's reviews (spec 7): one rating per objective the session
 * covered, then each affected objective's FSRS state replayed from its whole review history and
 * stored. Replaying (rather than updating the stored state) makes a corrected completion
 * exact: the state is always what the history gives, whatever order it was written in.
 *
 * @module
 */
import { z } from "zod";
import { jsonb, type Tx } from "../db.ts";
import type { RatingName } from "../plan/types.ts";
import { type MemoryState, replay, type ReviewEvent } from "./fsrs.ts";
import { RATING_VALUE, ratingName } from "./rating.ts";

/** One objective a session covered, with the rating the completion gives it. */
export interface RatedObjective {
  key: string;
  objective: string;
  rating: RatingName;
  /** An item of the session's review block (not one of its objectives). */
  in_review: boolean;
}

export interface RecordReviewsInput {
  sessionId: string;
  userId: string;
  intentId: string;
  week: number;
  day: number;
  /** The session's learning day (completed sessions before it in programme order, plus one). */
  learningDay: number;
  items: readonly RatedObjective[];
  /**
   * The session's reviews as read earlier in the transaction (`priorReviews`): their keys'
   * history is read in the same round trip as the new reviews' writes. Reviews the delete finds
   * beyond them (a concurrent correction of the session committed in between) cost one more
   * read, so the memory is right either way.
   */
  prior: readonly StoredReview[];
}

/** A review of the session as stored: its objective's key and rating (1–4). */
export interface StoredReview {
  key: string;
  rating: number;
}

/** The session's reviews, read before recordReviews replaces them (its `prior`). */
export function priorReviews(tx: Tx, sessionId: string) {
  return tx<StoredReview[]>`
    select objective_key as key, rating from wisely.objective_reviews
    where session_id = ${sessionId}
  `.execute();
}

/** What `recordReviews` resolves to. */
export interface RecordedReviews {
  /** Whether the session's ratings changed. */
  changed: boolean;
  /**
   * The memory writes, sent and not yet answered: statements sent on the transaction after
   * them see them (a transaction's statements run in the order sent), so the caller can send
   * its next read at once, pipelined, and must await this before it commits.
   */
  stored: Promise<unknown>;
}

const HistoryRow = z.object({
  key: z.string(),
  rating: z.int().min(1).max(4),
  learning_day: z.int(),
  on: z.iso.date(),
  week: z.int(),
  day: z.int(),
  reviewed_at: z.date(),
});
const History = z.array(HistoryRow);

/**
 * Replaces the session's reviews with `items` and brings the memory of every objective it
 * touched (before or now) in line with its history: replayed and stored, or deleted when no
 * review of it is left. Each review is dated by the session's completion (its first one), so
 * the completion's upsert may be sent just before this, pipelined.
 */
export async function recordReviews(tx: Tx, input: RecordReviewsInput): Promise<RecordedReviews> {
  const { sessionId, intentId } = input;
  const rows = input.items.map((item) => ({
    key: item.key,
    rating: RATING_VALUE[item.rating],
    in_review: item.in_review,
  }));
  const expected = uniqueKeys(input.prior, rows);
  // Pipelined, and run in this order: the old reviews out, the new ones in, then the history
  // of every objective touched, which sees both.
  const [removed, , history] = await Promise.all([
    tx<StoredReview[]>`
      delete from wisely.objective_reviews where session_id = ${sessionId}
      returning objective_key as key, rating
    `.execute(),
    tx`
      insert into wisely.objective_reviews
        (session_id, objective_key, user_id, intent_id, week, day, learning_day, rating,
          in_review, reviewed_at)
      select ${sessionId}, x.key, ${input.userId}, ${intentId}, ${input.week}, ${input.day},
        ${input.learningDay}, x.rating, x.in_review,
        (select c.completed_at from wisely.completions c where c.session_id = ${sessionId})
      from jsonb_to_recordset(${jsonb(tx, rows)}) as x (key text, rating smallint,
        in_review boolean)
    `.execute(),
    expected.length > 0 ? readHistory(tx, intentId, expected) : [],
  ]);
  const keys = uniqueKeys(removed, rows);
  const unread = keys.filter((key) => !expected.includes(key));
  const all = unread.length > 0
    ? [...history, ...await readHistory(tx, intentId, unread)]
    : history;
  const stored = keys.length > 0 ? storeReplayed(tx, input, keys, all) : Promise.resolve();
  return { changed: !sameRatings(removed, rows), stored };
}

/** Each key once, in order: `a`'s, then `b`'s. */
function uniqueKeys(a: readonly { key: string }[], b: readonly { key: string }[]): string[] {
  return [...new Set([...a.map((r) => r.key), ...b.map((r) => r.key)])];
}

/** The review history of `keys` on the intent, as the transaction sees it when it runs. */
async function readHistory(tx: Tx, intentId: string, keys: string[]) {
  return History.parse(
    await tx`
      select r.objective_key as key, r.rating, r.learning_day, r.week, r.day, r.reviewed_at,
        ((r.reviewed_at at time zone i.user_tz)::date)::text as on
      from wisely.objective_reviews r
      join wisely.intents i on i.id = r.intent_id
      where r.intent_id = ${intentId} and r.objective_key = any(${keys})
    `.execute(),
  );
}

/**
 * Sends the memory replayed from `history` for `keys`: stored, or deleted when no review of it
 * is left. Resolves once both writes are answered; the caller sends its next statements
 * meanwhile.
 */
function storeReplayed(
  tx: Tx,
  input: RecordReviewsInput,
  keys: string[],
  history: z.infer<typeof History>,
): Promise<unknown> {
  const texts = new Map(input.items.map((item) => [item.key, item.objective]));
  const states = keys.flatMap((key) => {
    const reviews = history.filter((h) => h.key === key)
      .sort((a, b) => a.learning_day - b.learning_day || +a.reviewed_at - +b.reviewed_at);
    const events: ReviewEvent[] = reviews.map((h) => ({
      rating: ratingName(h.rating),
      on: h.on,
      learning_day: h.learning_day,
    }));
    const memory = replay(events);
    if (memory === null) return [];
    const first = reviews[0];
    const last = reviews[reviews.length - 1];
    return [memoryRow(key, texts.get(key) ?? key, first, last.reviewed_at, memory)];
  });
  const kept = states.map((s) => s.key);
  return Promise.all([
    tx`
      delete from wisely.objective_memory
      where intent_id = ${input.intentId} and objective_key = any(${keys})
        and not (objective_key = any(${kept}))
    `.execute(),
    tx`
      insert into wisely.objective_memory as m (intent_id, objective_key, user_id, objective,
        origin_week, origin_day, stability, difficulty, state, reps, lapses, scheduled_days,
        last_rating, last_learning_day, last_reviewed_at, updated_at)
      select ${input.intentId}, x.key, ${input.userId}, x.objective, x.week, x.day, x.stability,
        x.difficulty, x.state, x.reps, x.lapses, x.scheduled_days, x.last_rating,
        x.last_learning_day, x.last_reviewed_at, now()
      from jsonb_to_recordset(${jsonb(tx, states)}) as x (key text, objective text, week integer,
        day integer, stability double precision, difficulty double precision, state smallint,
        reps integer, lapses integer, scheduled_days integer, last_rating smallint,
        last_learning_day integer, last_reviewed_at timestamptz)
      on conflict (intent_id, objective_key) do update set
        origin_week = excluded.origin_week, origin_day = excluded.origin_day,
        stability = excluded.stability, difficulty = excluded.difficulty, state = excluded.state,
        reps = excluded.reps, lapses = excluded.lapses, scheduled_days = excluded.scheduled_days,
        last_rating = excluded.last_rating, last_learning_day = excluded.last_learning_day,
        last_reviewed_at = excluded.last_reviewed_at, updated_at = now()
    `.execute(),
  ]);
}

/** The stored row: FSRS state, first meeting (origin) and last review. */
function memoryRow(
  key: string,
  objective: string,
  first: { week: number; day: number },
  lastReviewedAt: Date,
  memory: MemoryState,
) {
  return {
    key,
    objective,
    week: first.week,
    day: first.day,
    stability: memory.stability,
    difficulty: memory.difficulty,
    state: memory.state,
    reps: memory.reps,
    lapses: memory.lapses,
    scheduled_days: memory.scheduled_days,
    last_rating: RATING_VALUE[memory.last_rating],
    last_learning_day: memory.last_learning_day,
    last_reviewed_at: lastReviewedAt.toISOString(),
  };
}

function sameRatings(a: { key: string; rating: number }[], b: { key: string; rating: number }[]) {
  if (a.length !== b.length) return false;
  const byKey = new Map(a.map((r) => [r.key, r.rating]));
  return b.every((r) => byKey.get(r.key) === r.rating);
}
