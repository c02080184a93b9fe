/**
 * The shape of a day before any agent content is placed in it: the day's decision, which
 * blocks it has, and which earlier objectives its review block covers. `composePlan` lays the
 * content into this outline and the hint of `day.done` words it, so what the hint says the next
 * plan does is what the plan does, by construction. It depends on the learner model and the
 * minutes only, never on what the agents answered.
 *
 * @module
 */
import { decideDay, missedDays, THRESHOLDS } from "./adaptation.ts";
import type { Adaptation, DayDecision, LearnerState, ReviewItem, SectionKind } from "./types.ts";

/** Minutes one review item is given (recall from memory, then check). */
export const REVIEW_ITEM_MINUTES = 3;
/** Most blocks a day has, whatever its length. */
export const MAX_BLOCKS = 6;

/**
 * Which blocks a day keeps when its minutes do not fit every candidate, by adaptation: a review
 * day opens with the review and keeps new material; a stretch day keeps the stretch before the
 * practice it goes beyond; spaced reviews come right after the day's core on the others.
 * Resources come last: they need reading time.
 */
export const BLOCK_PRIORITY: Readonly<Record<Adaptation, readonly SectionKind[]>> = {
  review: ["review", "focus", "practice", "reflection", "resources"],
  steady: ["focus", "practice", "review", "reflection", "resources"],
  stretch: ["focus", "stretch", "review", "practice", "reflection", "resources"],
};

/** The order blocks are scheduled in. */
export const SCHEDULE_ORDER: readonly SectionKind[] = [
  "review",
  "focus",
  "resources",
  "practice",
  "stretch",
  "reflection",
];

/** Share of the day (percent) the review block may take, by adaptation. */
const REVIEW_SHARE: Readonly<Record<Adaptation, number>> = { review: 40, steady: 20, stretch: 20 };
/** Review items at most, whatever the minutes. */
const REVIEW_ITEMS_MAX = 6;
/** Earlier objectives a refresher falls back on when nothing is due. */
const REFRESHER_FADING_MAX = 3;

export interface DayOutline {
  decision: DayDecision;
  /** The review block is a refresher after missed calendar days. */
  refresher: boolean;
  /** Kept blocks in schedule order. */
  kinds: SectionKind[];
  /** The review block's minutes (0 without one). */
  review_minutes: number;
  /** The earlier objectives the review block covers; empty for a generic review. */
  reviews: ReviewItem[];
  /** Due objectives the day had no room for: still due tomorrow. */
  deferred_reviews: number;
  /**
   * The last session's objectives rated Again or Hard that are not due yet (FSRS spaces even a
   * lapse by a day or more): named so the learner knows when they come back.
   */
  weak_later: ReviewItem[];
}

/** Blocks a day of `minutes` can hold: at least one, each at least the minimum block. */
export function maxBlocks(minutes: number): number {
  return Math.max(1, Math.min(MAX_BLOCKS, Math.floor(minutes / THRESHOLDS.minBlockMinutes)));
}

/**
 * The outline of a day of `minutes` for `learner`. `hasResources` says whether there is any
 * resource to schedule (only the resources block depends on it, and it is always kept last).
 */
export function outlineDay(
  learner: LearnerState,
  minutes: number,
  hasResources = true,
): DayOutline {
  const decision = decideDay(learner, minutes);
  const { adaptation } = decision;
  const refresher = missedDays(learner) > 0;
  const pool = reviewPool(learner, decision, refresher);
  const wanted = (kind: SectionKind): boolean => {
    if (kind === "review") return pool.length > 0 || adaptation === "review";
    if (kind === "stretch") return adaptation === "stretch";
    if (kind === "resources") return hasResources;
    return true;
  };
  const candidates = BLOCK_PRIORITY[adaptation].filter(wanted);
  const keptSet = new Set(candidates.slice(0, maxBlocks(minutes)));
  const kinds = SCHEDULE_ORDER.filter((kind) => keptSet.has(kind));

  let reviews: ReviewItem[] = [];
  let reviewMinutes = 0;
  if (keptSet.has("review")) {
    // The other blocks keep their minimum; the review takes its share, at least one item.
    const room = minutes - THRESHOLDS.minBlockMinutes * (kinds.length - 1);
    const share = Math.floor((minutes * REVIEW_SHARE[adaptation]) / 100);
    const fit = Math.floor(
      Math.min(room, Math.max(share, REVIEW_ITEM_MINUTES)) /
        REVIEW_ITEM_MINUTES,
    );
    reviews = pool.slice(0, Math.max(1, Math.min(REVIEW_ITEMS_MAX, fit)));
    const wantedMinutes = Math.max(reviews.length, 1) * REVIEW_ITEM_MINUTES;
    // Alone, the review is the whole day.
    reviewMinutes = kinds.length === 1
      ? minutes
      : Math.min(room, Math.max(THRESHOLDS.minBlockMinutes, wantedMinutes));
  }
  const scheduled = new Set(reviews.map((r) => r.key));
  const deferred = learner.due.filter((item) => !scheduled.has(item.key)).length;
  const weakLater = learner.previous_objectives.filter((o) =>
    (o.last_rating === "again" || o.last_rating === "hard") && !scheduled.has(o.key) &&
    o.overdue_days < 0
  );
  return {
    decision,
    refresher,
    kinds,
    review_minutes: reviewMinutes,
    reviews,
    deferred_reviews: deferred,
    weak_later: weakLater,
  };
}

/**
 * What a review block would cover, most urgent first, without duplicates:
 * - after a weak session: its objectives rated Again or Hard, then what is due, then the rest
 *   of its objectives;
 * - after missed days (a refresher): what is due, then the most faded of the rest, then the
 *   last session's objectives;
 * - otherwise: what is due.
 */
function reviewPool(
  learner: LearnerState,
  decision: DayDecision,
  refresher: boolean,
): ReviewItem[] {
  const weak = learner.previous_objectives.filter((o) =>
    o.last_rating === "again" || o.last_rating === "hard"
  );
  let ordered: ReviewItem[];
  if (refresher) {
    ordered = [
      ...learner.due,
      ...learner.fading.slice(0, REFRESHER_FADING_MAX),
      ...learner.previous_objectives,
    ];
  } else if (decision.reason.kind === "weak_session") {
    ordered = [...weak, ...learner.due, ...learner.previous_objectives];
  } else {
    ordered = [...learner.due];
  }
  const seen = new Set<string>();
  const pool: ReviewItem[] = [];
  for (const item of ordered) {
    if (seen.has(item.key)) continue;
    seen.add(item.key);
    pool.push(item);
  }
  return pool;
}
