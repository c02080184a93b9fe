/**
 * From a completion to an FSRS rating (spec 7): the documented mapping day.done applies to each
 * objective of the session (its new objectives and the ones its review block covered), unless
 * the request rates an objective itself (`objective_ratings`).
 *
 * | rating | when (first match, thresholds of `plan/adaptation.ts`)                     |
 * | ------ | ------------------------------------------------------------------------- |
 * | Again  | confidence <= 3, or less than 30 % of the planned minutes spent            |
 * | Hard   | confidence <= 5, or less than 70 % of the planned minutes spent            |
 * | Easy   | confidence >= 8 and at least 90 % of the planned minutes spent             |
 * | Good   | otherwise (confidence 6–7 with the time spent, or 8+ with 70–89 %)         |
 *
 * So a weak day (the adaptation's `review`) is always Hard or Again, a strong day (`stretch`)
 * always Easy, and FSRS spaces what the learner reported secure further apart.
 *
 * @module
 */
import { assessCompletion } from "../plan/adaptation.ts";
import type { PreviousCompletion, RatingName } from "../plan/types.ts";

export const RATING_NAMES = ["again", "hard", "good", "easy"] as const satisfies RatingName[];

/** FSRS's numbers for the ratings (ts-fsrs `Rating`). */
export const RATING_VALUE: Readonly<Record<RatingName, 1 | 2 | 3 | 4>> = {
  again: 1,
  hard: 2,
  good: 3,
  easy: 4,
};

/** The rating name of an FSRS number 1..4. */
export function ratingName(value: number): RatingName {
  const name = RATING_NAMES[value - 1];
  if (name === undefined) throw new RangeError(`an FSRS rating is 1..4, got ${value}`);
  return name;
}

/** The rating a completion gives the objectives it covered (table above). */
export function ratingFor(completion: PreviousCompletion): RatingName {
  const a = assessCompletion(completion);
  if (a.failed || a.barely_started) return "again";
  if (a.low_confidence || a.short_session) return "hard";
  if (a.high_confidence && a.time_well_spent) return "easy";
  return "good";
}

/** Good and Easy count as secure for mastery. */
export function isSecure(rating: RatingName): boolean {
  return rating === "good" || rating === "easy";
}
