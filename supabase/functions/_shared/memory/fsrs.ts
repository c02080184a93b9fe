/**
 * FSRS memory states of objectives (spec 7), with `ts-fsrs`.
 *
 * Time is counted in learning days, not clock time: an objective's elapsed days are the
 * calendar days in the learner's zone since its last review, but never fewer than the learning
 * days (completed sessions) in between, so a learner who works through several days in one
 * sitting still gets spacing. ts-fsrs only sees a virtual timeline built from that count (the
 * last review at a fixed epoch, "now" whole days later), so the scheduler is deterministic:
 * fuzz is off, short-term learning steps are off (a planner schedules days, not minutes), and no
 * wall clock or random number is read. The same review history always gives the same state.
 *
 * Note: ts-fsrs 5 adds a few deprecated helper methods to `Date.prototype` when loaded.
 *
 * @module
 */
import { type Card, createEmptyCard, fsrs, type Grade } from "ts-fsrs";
import type { RatingName } from "../plan/types.ts";
import { daysBetween } from "./calendar.ts";
import { RATING_VALUE } from "./rating.ts";

const DAY_MS = 86_400_000;
/** The virtual timeline's origin: every card's last review is here. */
const EPOCH_MS = Date.UTC(2000, 0, 1);

/** Default parameters (FSRS-6 weights, 90 % retention) without fuzz or short-term steps. */
const scheduler = fsrs({ enable_fuzz: false, enable_short_term: false, maximum_interval: 36500 });

/** Where the learner stands: a local date in their zone and their count of learning days. */
export interface LearningMoment {
  /** `YYYY-MM-DD` in the learner's zone. */
  on: string;
  /** Completed sessions so far (for a plan: the ones before it, plus one). */
  learning_day: number;
}

/** One review of an objective: the rating a completed session gave it, and when. */
export interface ReviewEvent extends LearningMoment {
  rating: RatingName;
}

/** An objective's FSRS card after its last review, as `wisely.objective_memory` stores it. */
export interface MemoryState {
  stability: number;
  difficulty: number;
  /** ts-fsrs `State`: 0 New, 1 Learning, 2 Review, 3 Relearning. */
  state: 0 | 1 | 2 | 3;
  reps: number;
  lapses: number;
  /** The interval FSRS chose at the last review, in days. */
  scheduled_days: number;
  last_rating: RatingName;
  /** The last review's moment. */
  last_on: string;
  last_learning_day: number;
}

/** Days since the last review: calendar days, never fewer than learning days (both >= 0). */
export function elapsedDays(memory: MemoryState, at: LearningMoment): number {
  return Math.max(
    0,
    daysBetween(memory.last_on, at.on),
    at.learning_day - memory.last_learning_day,
  );
}

/** Due once its interval has passed (at least one day: nothing is due the day it was met). */
export function isDue(memory: MemoryState, at: LearningMoment): boolean {
  return elapsedDays(memory, at) >= Math.max(1, memory.scheduled_days);
}

/** Days past the interval at `at` (negative: not due yet). */
export function overdueDays(memory: MemoryState, at: LearningMoment): number {
  return elapsedDays(memory, at) - Math.max(1, memory.scheduled_days);
}

/** FSRS probability of recalling it at `at`, 0..1. */
export function retrievability(memory: MemoryState, at: LearningMoment): number {
  const now = new Date(EPOCH_MS + elapsedDays(memory, at) * DAY_MS);
  return scheduler.get_retrievability(cardOf(memory), now, false);
}

/** The state after one more review; `memory` null: the first time the learner meets it. */
export function review(memory: MemoryState | null, event: ReviewEvent): MemoryState {
  const card = memory === null ? createEmptyCard(new Date(EPOCH_MS)) : cardOf(memory);
  const elapsed = memory === null ? 0 : elapsedDays(memory, event);
  const grade = RATING_VALUE[event.rating] as Grade;
  const { card: next } = scheduler.next(card, new Date(EPOCH_MS + elapsed * DAY_MS), grade);
  return {
    stability: next.stability,
    difficulty: next.difficulty,
    state: stateOf(next.state),
    reps: next.reps,
    lapses: next.lapses,
    scheduled_days: next.scheduled_days,
    last_rating: event.rating,
    last_on: event.on,
    last_learning_day: event.learning_day,
  };
}

/**
 * The state a review history leads to, or null for none. Reviews are applied in learning-day
 * order, then date, then the order given, so the result depends on the history alone.
 */
export function replay(events: readonly ReviewEvent[]): MemoryState | null {
  const ordered = events
    .map((event, index) => ({ event, index }))
    .sort((a, b) =>
      a.event.learning_day - b.event.learning_day ||
      (a.event.on < b.event.on ? -1 : a.event.on > b.event.on ? 1 : 0) ||
      a.index - b.index
    );
  let memory: MemoryState | null = null;
  for (const { event } of ordered) memory = review(memory, event);
  return memory;
}

function cardOf(memory: MemoryState): Card {
  return {
    due: new Date(EPOCH_MS + memory.scheduled_days * DAY_MS),
    stability: memory.stability,
    difficulty: memory.difficulty,
    elapsed_days: 0,
    scheduled_days: memory.scheduled_days,
    learning_steps: 0,
    reps: memory.reps,
    lapses: memory.lapses,
    state: memory.state,
    last_review: new Date(EPOCH_MS),
  };
}

function stateOf(value: number): MemoryState["state"] {
  if (value === 0 || value === 1 || value === 2 || value === 3) return value;
  throw new RangeError(`unknown FSRS state ${value}`);
}
