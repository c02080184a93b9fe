/**
 * The learner model the orchestrator sends to agents (spec 6.2, 7): the request field
 * `learner`. Agents may use it to hold or advance their curriculum; the day's review and
 * stretch stay the orchestrator's (its `adaptation`, decided by `plan/adaptation.ts`).
 *
 * @module
 */
import { z } from "zod";
import { DaySchema, WeekSchema } from "../day_range.ts";

export const LearnerModelSchema = z.object({
  /** Today's one adaptation decision, and the kind of reason it was taken for. */
  adaptation: z.enum(["review", "steady", "stretch"]),
  reason: z.enum([
    "first_day",
    "gap",
    "weak_session",
    "strong_session",
    "low_mastery",
    "no_room",
    "steady_session",
  ]),
  /** Completed sessions before this day, newest first (at most 7). */
  recent_completions: z.array(z.object({
    week: WeekSchema,
    day: DaySchema,
    confidence: z.int().min(1).max(10),
    completion_time_min: z.int().min(0).max(1440),
    planned_minutes: z.int().min(5).max(480),
    /** The learner's local date (user_tz) of the completion. */
    completed_on: z.iso.date(),
  })).max(7),
  /** Earlier objectives due for review today (FSRS), most faded first (at most 20). */
  due_reviews: z.array(z.object({
    objective: z.string().min(1).max(500),
    /** Where the learner first met it. */
    week: WeekSchema,
    day: DaySchema,
    /** Learning days past its interval (>= 0). */
    overdue_days: z.int().min(0),
  })).max(20),
  /** Share (0..1) of the objectives reviewed in the last 7 learning days rated Good or Easy. */
  mastery: z.number().min(0).max(1).nullable(),
  /** Per programme week, newest first (at most 52): the share of its reviews rated Good/Easy. */
  weeks: z.array(z.object({
    week: WeekSchema,
    mastery: z.number().min(0).max(1),
    reviews: z.int().min(1),
  })).max(52),
  /** Calendar days (user_tz) since the last completion; null before the first. */
  days_since_last_completion: z.int().min(0).nullable(),
  /** This day's count of learning days (completed sessions before it, plus one). */
  learning_day: z.int().min(1),
});
export type LearnerModel = z.infer<typeof LearnerModelSchema>;
