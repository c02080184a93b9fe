/** Inputs and outputs of plan composition (spec 7). Pure data: no I/O anywhere in `plan/`. */
import type { AgentName, Depth } from "../agents/protocol.ts";
import type { Signals } from "../agents/signal.ts";

export interface PlanIntent {
  topic: string;
  depth: Depth;
  end_goal: string;
  time_per_day_min: number;
}

/** A completed session, as the adaptation rule and the rating mapping read it. */
export interface PreviousCompletion {
  week: number;
  day: number;
  completion_time_min: number;
  confidence: number;
  /** The minutes that session's plan asked for. */
  planned_minutes: number;
}

/** FSRS ratings by name (1 Again, 2 Hard, 3 Good, 4 Easy). */
export type RatingName = "again" | "hard" | "good" | "easy";

/** An objective the learner met before, as a review block names it. */
export interface ReviewItem {
  /** The objective's memory key (`objectiveKey` of its text). */
  key: string;
  objective: string;
  /** Where the learner first met it. */
  week: number;
  day: number;
  /** Its rating at its last review. */
  last_rating: RatingName;
  /** Learning days past its interval (0 when due today, negative when not due yet). */
  overdue_days: number;
  /** FSRS probability of recall now, 0..1. */
  retrievability: number;
}

/**
 * What the orchestrator knows about the learner when it plans a day: the learner model of
 * spec 7, before the day's adaptation is decided from it.
 */
export interface LearnerState {
  /** The last completed session before this day (programme order), or null. */
  previous: PreviousCompletion | null;
  /** Objectives whose FSRS interval has passed, most faded first. */
  due: ReviewItem[];
  /**
   * The objectives `previous` covered (its Objectives, not its review block's items, which
   * come back by FSRS alone), with the ratings it gave them, weak ones first.
   */
  previous_objectives: ReviewItem[];
  /** Not yet due, most faded first: what a refresher after a gap falls back on. */
  fading: ReviewItem[];
  /** Share of recently reviewed objectives whose last rating was Good or Easy; null: none. */
  mastery: number | null;
  /** Calendar days (user_tz) since the learner last completed any session; null: never. */
  days_since_last_completion: number | null;
  /**
   * Sessions after the last completed one (programme order) whose planned local day passed
   * without a completion: state `skipped` (spec 12). @default 0
   */
  skipped_sessions?: number;
}

/** The day's one adaptation decision (spec 7). */
export type Adaptation = "review" | "steady" | "stretch";

/** Why the day's adaptation is what it is; hint and plan word it from this one value. */
export type DecisionReason =
  | { kind: "first_day" }
  | { kind: "gap"; missed_days: number; skipped_sessions?: number }
  | { kind: "weak_session"; previous: PreviousCompletion }
  | { kind: "strong_session"; previous: PreviousCompletion }
  | { kind: "low_mastery"; previous: PreviousCompletion; mastery: number }
  | { kind: "no_room"; previous: PreviousCompletion }
  | { kind: "steady_session"; previous: PreviousCompletion };

export interface DayDecision {
  adaptation: Adaptation;
  reason: DecisionReason;
}

export interface PlanInput {
  intent: PlanIntent;
  week: number;
  day: number;
  /** One signal per enabled agent; a missing or unavailable agent's section uses its fallback. */
  signals: Signals;
  /**
   * The completion the plan adapts to. Ignored when `learner` is given (its `previous` is used);
   * alone it stands for a learner with nothing due and no gap.
   */
  previous: PreviousCompletion | null;
  /** The learner model; default: built from `previous` alone. */
  learner?: LearnerState;
}

export type SectionKind = "review" | "focus" | "resources" | "practice" | "stretch" | "reflection";

export interface PlanSection {
  kind: SectionKind;
  title: string;
  minutes: number;
  items: string[];
  /** Which agent the content came from, or "fallback"/"planner" when none did. */
  source: AgentName | "fallback" | "planner";
}

/** An objective the plan schedules, by memory key: what day.done rates. */
export interface PlannedObjective {
  key: string;
  objective: string;
  /** Where the learner first met it (for a new objective: this day). */
  week: number;
  day: number;
}

export interface StructuredPlan {
  version: 2;
  week: number;
  day: number;
  total_minutes: number;
  title: string;
  description: string;
  difficulty: "intro" | "core" | "stretch";
  adaptation: Adaptation;
  /** Why: the decision's reason, as hint and plan text give it. */
  decision: DayDecision;
  /** True when the review block is a refresher after missed calendar days. */
  refresher: boolean;
  /** The day's new objectives the schedule covers. */
  objectives: PlannedObjective[];
  /** The earlier objectives the review block covers (empty without one). */
  reviews: PlannedObjective[];
  /** Enabled agents whose section came from a fallback template. */
  unavailable_agents: AgentName[];
  sections: PlanSection[];
}

export interface PlanSummary {
  title: string;
  description: string;
  steps: string[];
}

export interface ComposedPlan {
  plan_md: string;
  summary: PlanSummary;
  plan: StructuredPlan;
}
