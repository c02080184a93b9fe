/**
 * The learner model of one day (spec 7), read from the database in one call: the
 * completions before the day, the FSRS memory of the objectives met so far, mastery, and the
 * learner's calendar (`user_tz`), all from `wisely.learner_model`. day.run reads it through
 * `wisely.claim_day` (for the day it plans) and day.done through `loadLearner` (for the next
 * day, to word the hint); both parse it with `learnerFromModel`, so both see the same model.
 *
 * @module
 */
import { z } from "zod";
import type { Tx } from "../db.ts";
import { THRESHOLDS } from "../plan/adaptation.ts";
import type { DayDecision, LearnerState, PreviousCompletion, ReviewItem } from "../plan/types.ts";
import {
  isDue,
  type LearningMoment,
  type MemoryState,
  overdueDays,
  retrievability,
} from "./fsrs.ts";
import type { LearnerModel } from "./learner_model.ts";
import { ratingName } from "./rating.ts";

/** Memory rows read per day, most faded first: every due objective is among them. */
const MEMORY_ROWS = 60;
/** Not-yet-due objectives kept for a refresher. */
const FADING_MAX = 5;
/** Due reviews sent to agents. */
const DUE_SENT_MAX = 20;

const date = z.iso.date();
const MemoryRow = z.object({
  key: z.string(),
  objective: z.string(),
  week: z.int(),
  day: z.int(),
  stability: z.number(),
  difficulty: z.number(),
  state: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
  reps: z.int(),
  lapses: z.int(),
  scheduled_days: z.int(),
  last_rating: z.int().min(1).max(4),
  last_learning_day: z.int(),
  last_on: date,
});
type MemoryRow = z.infer<typeof MemoryRow>;
const Loaded = z.object({
  today: date,
  learning_day: z.int().min(1),
  days_since: z.int().nullable(),
  /** Sessions after the last completion, before the day, whose local day passed (skipped). */
  skipped: z.int().min(0).optional(),
  mastery: z.number().nullable(),
  recent: z.array(z.object({
    week: z.int(),
    day: z.int(),
    confidence: z.int(),
    completion_time_min: z.int(),
    planned_minutes: z.int(),
    completed_on: date,
  })),
  memory: z.array(MemoryRow),
  previous: z.array(MemoryRow.extend({ rating: z.int().min(1).max(4) })),
  weeks: z.array(z.object({ week: z.int(), secure: z.int(), reviews: z.int() })),
});
type Loaded = z.infer<typeof Loaded>;

/** What `loadLearner` returns. */
export interface LoadedLearner {
  state: LearnerState;
  /** Where the learner stands for the day: its local date and learning-day count. */
  at: LearningMoment;
  recent: Loaded["recent"];
  weeks: { week: number; mastery: number; reviews: number }[];
}

/**
 * The learner model for (`week`, `day`) of `intentId`, as of the database's `now()` in the
 * intent's zone: one call of `wisely.learner_model` (migration 20260101001500, where the SQL
 * lives: a PL/pgSQL function keeps its plan, a statement sent as text is planned on every call).
 * Runs as the user (RLS): another user's intent reads as a new learner. The statement is handed
 * to the connection when this is called (`execute`), so it is pipelined in call order, also
 * ahead of a COMMIT sent right after (db.ts commitBehind).
 */
export async function loadLearner(
  tx: Tx,
  intentId: string,
  week: number,
  day: number,
): Promise<LoadedLearner> {
  const [row] = await tx<{ model: unknown }[]>`
    select wisely.learner_model(${intentId}, ${week}, ${day},
      ${LEARNER_MODEL_LIMITS.masteryWindowDays}, ${LEARNER_MODEL_LIMITS.memoryRows}) as model
  `.execute();
  return learnerFromModel(row?.model);
}

/**
 * The limits the code passes to `wisely.learner_model` (and `wisely.claim_day`, which calls it),
 * so that their values stay defined here.
 */
export const LEARNER_MODEL_LIMITS = {
  masteryWindowDays: THRESHOLDS.masteryWindowDays,
  memoryRows: MEMORY_ROWS,
} as const;

/** The learner of what `wisely.learner_model` returned: validated; null is a new learner. */
export function learnerFromModel(model: unknown): LoadedLearner {
  if (model === null || model === undefined) return emptyLearner();
  return fromLoaded(Loaded.parse(model));
}

/** A learner with nothing recorded (no intent visible). */
function emptyLearner(): LoadedLearner {
  const today = new Date().toISOString().slice(0, 10);
  return {
    state: {
      previous: null,
      due: [],
      previous_objectives: [],
      fading: [],
      mastery: null,
      days_since_last_completion: null,
    },
    at: { on: today, learning_day: 1 },
    recent: [],
    weeks: [],
  };
}

/** The learner state built from what the statement returned. Pure; exported for tests. */
export function fromLoaded(loaded: Loaded): LoadedLearner {
  const at: LearningMoment = { on: loaded.today, learning_day: loaded.learning_day };
  const items = loaded.memory.map((row) => ({ row, item: reviewItem(row, at) }));
  const byFade = (a: ReviewItem, b: ReviewItem) =>
    a.retrievability - b.retrievability || a.week - b.week || a.day - b.day ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const due = items.filter(({ row }) => isDue(memoryOf(row), at)).map(({ item }) => item)
    .sort(byFade);
  const dueKeys = new Set(due.map((d) => d.key));
  const fading = items.map(({ item }) => item).filter((item) => !dueKeys.has(item.key))
    .sort(byFade).slice(0, FADING_MAX);
  const previousObjectives = loaded.previous.map((row) => ({
    ...reviewItem(row, at),
    last_rating: ratingName(row.rating),
  }));
  const last = loaded.recent[0];
  const previous: PreviousCompletion | null = last === undefined ? null : {
    week: last.week,
    day: last.day,
    confidence: last.confidence,
    completion_time_min: last.completion_time_min,
    planned_minutes: last.planned_minutes,
  };
  return {
    state: {
      previous,
      due,
      previous_objectives: previousObjectives,
      fading,
      mastery: loaded.mastery,
      days_since_last_completion: loaded.days_since === null
        ? null
        : Math.max(0, loaded.days_since),
      skipped_sessions: loaded.skipped ?? 0,
    },
    at,
    recent: loaded.recent,
    weeks: loaded.weeks.filter((w) => w.reviews > 0).map((w) => ({
      week: w.week,
      mastery: w.secure / w.reviews,
      reviews: w.reviews,
    })),
  };
}

/** The learner model sent to agents (protocol field `learner`). */
export function learnerModel(loaded: LoadedLearner, decision: DayDecision): LearnerModel {
  return {
    adaptation: decision.adaptation,
    reason: decision.reason.kind,
    recent_completions: loaded.recent.slice(0, 7),
    due_reviews: loaded.state.due.slice(0, DUE_SENT_MAX).map((d) => ({
      objective: d.objective,
      week: d.week,
      day: d.day,
      overdue_days: Math.max(0, d.overdue_days),
    })),
    mastery: loaded.state.mastery,
    weeks: loaded.weeks.slice(0, 52),
    days_since_last_completion: loaded.state.days_since_last_completion,
    learning_day: loaded.at.learning_day,
  };
}

function memoryOf(row: MemoryRow): MemoryState {
  return {
    stability: row.stability,
    difficulty: row.difficulty,
    state: row.state,
    reps: row.reps,
    lapses: row.lapses,
    scheduled_days: row.scheduled_days,
    last_rating: ratingName(row.last_rating),
    last_on: row.last_on,
    last_learning_day: row.last_learning_day,
  };
}

function reviewItem(row: MemoryRow, at: LearningMoment): ReviewItem {
  const memory = memoryOf(row);
  return {
    key: row.key,
    objective: row.objective,
    week: row.week,
    day: row.day,
    last_rating: memory.last_rating,
    overdue_days: overdueDays(memory, at),
    retrievability: retrievability(memory, at),
  };
}
