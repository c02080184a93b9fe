/**
 * The one set of thresholds (spec 7) and the day's one adaptation decision taken from them.
 *
 * Everything that judges a completion reads {@linkcode THRESHOLDS} through this module: the
 * decision (`decideDay`), which `composePlan`, the hint of `day.done` and the learner model sent
 * to agents all use; the FSRS rating mapping (`memory/rating.ts`); and the reference agents'
 * curriculum progression (`agents/reference/progression.ts`). Nothing else compares a
 * confidence or a share of minutes, so no two parts can disagree on what a weak day is.
 *
 * @module
 */
import type { DayDecision, LearnerState, PreviousCompletion } from "./types.ts";

export const THRESHOLDS = {
  /** Confidence at or below this is low: the next day reviews (FSRS Hard at best). */
  lowConfidenceMax: 5,
  /** Confidence at or below this means the day's objectives did not stick (FSRS Again). */
  failedConfidenceMax: 3,
  /** Confidence at or above this is high (with the time well spent: FSRS Easy, a stretch). */
  highConfidenceMin: 8,
  /** Time spent below this share of the planned minutes (percent) is a short session. */
  shortSessionBelowPct: 70,
  /** Below this share (percent) the session barely started: FSRS Again. */
  barelyStartedBelowPct: 30,
  /** Time spent at or above this share (percent) is well spent; over-running counts. */
  wellSpentFromPct: 90,
  /**
   * Mastery (share of recently reviewed objectives rated Good or Easy) below this holds the
   * curriculum and rules out a stretch.
   */
  holdMasteryBelow: 0.5,
  /** The learning days mastery looks back over. */
  masteryWindowDays: 7,
  /** Calendar days since the last completion from which a plan opens with a refresher. */
  gapFromDays: 2,
  /** The shortest block a plan schedules: shorter is too short to do. */
  minBlockMinutes: 5,
} as const;

/**
 * The facts about a completion everything else is built from. Integer comparisons
 * (`time * 100 < planned * 70`) keep the thresholds exact at their boundaries.
 */
export interface CompletionAssessment {
  /** Confidence <= 5. */
  low_confidence: boolean;
  /** Time spent < 70 % of the planned minutes. */
  short_session: boolean;
  /** Confidence >= 8. */
  high_confidence: boolean;
  /** Time spent >= 90 % of the planned minutes. */
  time_well_spent: boolean;
  /** Confidence <= 3. */
  failed: boolean;
  /** Time spent < 30 % of the planned minutes. */
  barely_started: boolean;
}

/** Classifies a completion against {@linkcode THRESHOLDS}. */
export function assessCompletion(c: PreviousCompletion): CompletionAssessment {
  const spent = c.completion_time_min * 100;
  const t = THRESHOLDS;
  return {
    low_confidence: c.confidence <= t.lowConfidenceMax,
    short_session: spent < c.planned_minutes * t.shortSessionBelowPct,
    high_confidence: c.confidence >= t.highConfidenceMin,
    time_well_spent: spent >= c.planned_minutes * t.wellSpentFromPct,
    failed: c.confidence <= t.failedConfidenceMax,
    barely_started: spent < c.planned_minutes * t.barelyStartedBelowPct,
  };
}

/** Weak: low confidence or a short session. Strong: high confidence and time well spent. */
export function isWeak(c: PreviousCompletion): boolean {
  const a = assessCompletion(c);
  return a.low_confidence || a.short_session;
}

export function isStrong(c: PreviousCompletion): boolean {
  const a = assessCompletion(c);
  return a.high_confidence && a.time_well_spent;
}

/** Calendar days missed before this day (0 when the learner came back within a day). */
export function missedDays(state: Pick<LearnerState, "days_since_last_completion">): number {
  const since = state.days_since_last_completion;
  return since !== null && since >= THRESHOLDS.gapFromDays ? since - 1 : 0;
}

/**
 * The day's adaptation, in this order:
 *
 * 1. no completion yet → `steady` (`first_day`);
 * 2. at least one calendar day missed since the last completion → `review`: the plan opens
 *    with a refresher (`gap`, with the count of skipped sessions when there are any);
 * 3. the last completion weak (confidence <= 5 or < 70 % of its minutes) → `review`;
 * 4. the last completion strong (confidence >= 8 and >= 90 % of its minutes) → `stretch`,
 *    unless mastery is below 0.5 → `steady` (`low_mastery`): one good day after weak ones
 *    does not make a stretch; or unless the day has no room for a second block (under 10
 *    minutes) → `steady` (`no_room`);
 * 5. otherwise `steady`.
 *
 * Due reviews do not change the adaptation: they always open the plan when they fit its
 * minutes (spaced review is every day's), and the adaptation says what the rest of it does.
 */
export function decideDay(state: LearnerState, minutes: number): DayDecision {
  const { previous, mastery } = state;
  if (previous === null) return { adaptation: "steady", reason: { kind: "first_day" } };
  const missed = missedDays(state);
  if (missed > 0) {
    // The skipped sessions (spec 12 states) only sharpen the explanation of the gap.
    const skipped = state.skipped_sessions ?? 0;
    return {
      adaptation: "review",
      reason: {
        kind: "gap",
        missed_days: missed,
        ...(skipped > 0 ? { skipped_sessions: skipped } : {}),
      },
    };
  }
  if (isWeak(previous)) {
    return { adaptation: "review", reason: { kind: "weak_session", previous } };
  }
  if (isStrong(previous)) {
    if (mastery !== null && mastery < THRESHOLDS.holdMasteryBelow) {
      return { adaptation: "steady", reason: { kind: "low_mastery", previous, mastery } };
    }
    if (minutes < 2 * THRESHOLDS.minBlockMinutes) {
      return { adaptation: "steady", reason: { kind: "no_room", previous } };
    }
    return { adaptation: "stretch", reason: { kind: "strong_session", previous } };
  }
  return { adaptation: "steady", reason: { kind: "steady_session", previous } };
}

/** The learner model of a learner known only by their last completion. */
export function stateFromPrevious(previous: PreviousCompletion | null): LearnerState {
  return {
    previous,
    due: [],
    previous_objectives: [],
    fading: [],
    mastery: null,
    days_since_last_completion: previous === null ? null : 1,
  };
}

/**
 * The adaptation after `previous` for a learner with nothing due and no gap, on a day of
 * `minutes` (@default the previous plan's minutes, or 60 without one).
 */
export function adaptationFor(
  previous: PreviousCompletion | null,
  minutes = previous?.planned_minutes ?? 60,
) {
  return decideDay(stateFromPrevious(previous), minutes).adaptation;
}
