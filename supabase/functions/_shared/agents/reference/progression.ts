/**
 * Curriculum progression of the reference agents (spec 6.4, 7): from the learner model the
 * orchestrator sends (`learner`, `memory/learner_model.ts`), how far into the curriculum this
 * week is and how it is pitched. A learner who keeps struggling is held on the phase they have
 * not secured (the stage stays, e.g. "Foundations" at difficulty `intro` in week 2), one who
 * secured last week advances.
 *
 * It reads mastery against the orchestrator's own threshold (`plan/adaptation.ts`), and it
 * never pitches a day for review or stretch: the day's adaptation is the orchestrator's, and a
 * week pack is made once for seven days, so nothing in it may depend on one day's decision.
 *
 * @module
 */
import { THRESHOLDS } from "../../plan/adaptation.ts";
import type { AgentRequest } from "../protocol.ts";

export interface CurriculumStage {
  /** The curriculum week this week teaches: the request's week less the weeks held. */
  position: number;
  /** The last week before this one was not secure, so its phase is taught again. */
  holding: boolean;
  /** `intro` on the first curriculum week (`core` for experts) and while holding. */
  difficulty: "intro" | "core";
}

/** How a day's content is pitched (structurally `content.ts`'s `DayPitch`). */
export interface LearnerPitch {
  /** Never `struggled` or `strong`: warm-ups and challenges are the orchestrator's call. */
  session: "none" | "steady";
  difficulty: CurriculumStage["difficulty"];
}

/**
 * The stage of `req.week` for the learner `req.learner` describes: each earlier week whose
 * mastery (share of its reviews rated Good or Easy) is below the hold threshold holds the
 * curriculum back by one week. Without a learner model the curriculum follows the calendar.
 */
export function curriculumStage(req: AgentRequest): CurriculumStage {
  const expert = req.intent.depth === "expert";
  const weeks = (req.learner?.weeks ?? []).filter((w) => w.week < req.week);
  const held = weeks.filter((w) => w.mastery < THRESHOLDS.holdMasteryBelow).length;
  const position = Math.max(1, req.week - held);
  const last = weeks.reduce<(typeof weeks)[number] | null>(
    (latest, w) => (latest === null || w.week > latest.week ? w : latest),
    null,
  );
  const holding = last !== null && last.mastery < THRESHOLDS.holdMasteryBelow;
  const difficulty = holding || (position === 1 && !expert) ? "intro" : "core";
  return { position, holding, difficulty };
}

/** The curriculum week whose phase `req.week` teaches. */
export function curriculumWeek(req: AgentRequest): number {
  return curriculumStage(req).position;
}

/**
 * The pitch of a day from the learner model, or null when the request has none (then the
 * agent falls back on its own reading of `history`, as for an orchestrator of the original
 * protocol). The same for every day of the week, so a pack is one consistent week.
 */
export function pitchFromLearner(req: AgentRequest, _day: number): LearnerPitch | null {
  if (req.learner === undefined) return null;
  const { difficulty } = curriculumStage(req);
  return { session: req.learner.recent_completions.length > 0 ? "steady" : "none", difficulty };
}

/**
 * The sentence clo's description ends with: where the learner stands in the curriculum this
 * week (never what today adapts to, which the orchestrator's plan states).
 */
export function stageSentence(req: AgentRequest, phaseName: string): string {
  const stage = curriculumStage(req);
  if (stage.holding) {
    const mastery = lastWeekMastery(req);
    return `The curriculum stays on ${phaseName} this week: ${mastery} of last week's ` +
      `reviews were secure, so the basics come first.`;
  }
  if (req.learner !== undefined && stage.position > 1 && req.learner.weeks.length > 0) {
    return `Last week is secure, so the curriculum moves on to ${phaseName}.`;
  }
  return `This week's stage: ${phaseName}.`;
}

function lastWeekMastery(req: AgentRequest): string {
  const weeks = (req.learner?.weeks ?? []).filter((w) => w.week < req.week);
  const last = weeks.sort((a, b) => b.week - a.week)[0];
  return last === undefined ? "few" : `${Math.round(last.mastery * 100)} %`;
}
