/**
 * The hint `day.done` returns (spec 5.5, 7): which day comes next, what its plan does and why.
 * It is worded from the next day's outline (`outlineDay`, the decision and the review items),
 * the same outline `composePlan` lays that day's plan into, so the hint can never promise
 * something the next plan does not do.
 *
 * @module
 */
import { stateFromPrevious } from "./adaptation.ts";
import { dayLabel, isLastDay, nextDay } from "./days.ts";
import { outlineDay } from "./outline.ts";
import type { LearnerState, PreviousCompletion } from "./types.ts";
import { whatPhrase, whySentence } from "./wording.ts";

export { adaptationFor, assessCompletion } from "./adaptation.ts";
export { dayLabel, type DayRef, DAYS_PER_WEEK, isLastDay, MAX_WEEK, nextDay } from "./days.ts";

/** What the next day's plan will be made from. */
export interface NextDayInputs {
  /** The learner model as the next day's day.run sees it (this completion included). */
  learner: LearnerState;
  /** The next day's minutes (the intent's `time_per_day_min`). */
  minutes: number;
}

/**
 * The `next_day_hint` of `day.done`: deterministic from the learner model, names the next day,
 * what its plan does (review, steady or stretch; the reviews it opens with) and why (the
 * confidence and time spent against the planned minutes, a missed day, mastery).
 *
 * Without `next`, the next day is planned for a learner known by this completion alone, for
 * the same minutes.
 *
 * @example
 * ```ts
 * nextDayHint({ week: 1, day: 3, completion_time_min: 60, confidence: 7, planned_minutes: 60 });
 * // "Week 1, Day 3: 7/10 after 60 of 60 planned minutes. Week 1, Day 4 keeps a steady pace."
 * ```
 */
export function nextDayHint(completion: PreviousCompletion, next?: NextDayInputs): string {
  const learner = next?.learner ?? stateFromPrevious(completion);
  const minutes = next?.minutes ?? completion.planned_minutes;
  const outline = outlineDay(learner, minutes);
  const { week, day } = completion;
  const following = nextDay(week, day);
  const subject = isLastDay(week, day)
    ? `${dayLabel(week, day)} was the last day of the programme. If you run it again, it`
    : dayLabel(following.week, following.day);
  return `${whySentence(outline.decision.reason, minutes)} ${subject} ${whatPhrase(outline)}.`;
}
