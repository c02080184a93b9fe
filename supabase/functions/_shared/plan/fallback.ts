/**
 * Fallback templates: what a section says when its agent is unavailable or not enabled
 * (spec 6.3 degraded mode). Generic but still useful, derived only from the intent and the day,
 * and always valid against the agent's own protocol schema, so the planner handles agent and
 * template content the same way. Templates never invent URLs.
 *
 * @module
 */
import type {
  AgentDataMap,
  AgentName,
  AlexData,
  CloData,
  Depth,
  SocraticData,
  TaData,
} from "../agents/protocol.ts";
import type { PlanIntent } from "./types.ts";
import { oneLine } from "./text.ts";

/** What a template is derived from. */
export interface FallbackContext {
  intent: PlanIntent;
  week: number;
  day: number;
}

/** Per-depth wording, so a template for an expert does not read like one for a beginner. */
const DEPTH_OBJECTIVE: Record<Depth, (topic: string) => string> = {
  surface: (t) => `Name and explain three core ideas of ${t} in plain words`,
  informed: (t) => `Explain the key ideas of ${t} covered so far in your own words`,
  deep: (t) => `Explain how the main mechanisms of ${t} fit together, and why`,
  expert: (t) => `Critically compare two approaches in ${t} and argue their trade-offs`,
};

/** Curriculum-lead template: a review-and-practice day aimed at the learner's goal. */
export function cloFallback({ intent, week, day }: FallbackContext): CloData {
  const topic = clip(intent.topic, 150);
  const goal = clip(intent.end_goal, 400);
  return {
    title: `${topic}: Week ${week}, Day ${day} review and practice`,
    description: `A self-guided ${intent.depth} session on ${topic}: consolidate what you have ` +
      `covered so far and take one concrete step towards your goal (${goal}).`,
    objectives: [
      DEPTH_OBJECTIVE[intent.depth](topic),
      `Apply one idea to a small concrete example that moves you towards: ${goal}`,
      `Write down one open question about ${topic} to explore next`,
    ],
    difficulty: "core",
  };
}

/**
 * Researcher template: no resources, because a template cannot know real URLs. The planner
 * shows {@linkcode selfResearchHint} in their place.
 */
export function alexFallback(_context: FallbackContext): AlexData {
  return { resources: [] };
}

/** The pointer shown instead of a resource list when there are no resources. */
export function selfResearchHint(intent: PlanIntent): string {
  return `No curated resources today: use your own notes and the official documentation ` +
    `for ${clip(intent.topic, 150)}.`;
}

/**
 * Teaching-assistant template: one self-directed exercise. Its minutes are the default
 * practice share (30 % of the day) so the template does not skew the time budget.
 */
export function taFallback({ intent }: FallbackContext): TaData {
  const topic = clip(intent.topic, 150);
  return {
    exercises: [{
      title: `Self-directed practice: ${topic}`,
      instructions: `Pick today's first objective and build or solve one small example on ` +
        `your own, without copying a worked solution. Aim it at your goal ` +
        `(${clip(intent.end_goal, 400)}). Then write three lines: what worked, where you got ` +
        `stuck, and what you would try next.`,
      minutes: Math.min(480, Math.max(1, Math.round(intent.time_per_day_min * 0.3))),
    }],
  };
}

/** Socratic-tutor template: three reflection questions that fit any topic. */
export function socraticFallback({ intent }: FallbackContext): SocraticData {
  const topic = clip(intent.topic, 150);
  return {
    questions: [
      `What is the most important idea about ${topic} you worked with today, and why does it ` +
      `matter?`,
      `Where did you get stuck, and what would you try differently next time?`,
      `How does today's work move you closer to your goal, and what is the next step?`,
    ],
  };
}

const FALLBACKS: { [N in AgentName]: (context: FallbackContext) => AgentDataMap[N] } = {
  clo: cloFallback,
  alex: alexFallback,
  ta: taFallback,
  socratic: socraticFallback,
};

/** The template for `agent`. */
export function fallbackFor<N extends AgentName>(
  agent: N,
  context: FallbackContext,
): AgentDataMap[N] {
  return FALLBACKS[agent](context);
}

/** Templates stay within the protocol's length limits whatever the intent holds. */
const clip = oneLine;
