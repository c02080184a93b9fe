/** Inputs and outputs of plan composition (spec 7). Pure data: no I/O anywhere in `plan/`. */
import type { AgentName, Depth } from "../agents/protocol.ts";
import type { Signals } from "../agents/signal.ts";

export interface PlanIntent {
  topic: string;
  depth: Depth;
  end_goal: string;
  time_per_day_min: number;
}

/** The completion of the session before this one, which the new plan adapts to. */
export interface PreviousCompletion {
  week: number;
  day: number;
  completion_time_min: number;
  confidence: number;
  /** The minutes that session's plan asked for. */
  planned_minutes: number;
}

export interface PlanInput {
  intent: PlanIntent;
  week: number;
  day: number;
  /** One signal per enabled agent; a missing or unavailable agent's section uses its fallback. */
  signals: Signals;
  previous: PreviousCompletion | null;
}

export type SectionKind = "review" | "focus" | "resources" | "practice" | "stretch" | "reflection";
export type Adaptation = "review" | "stretch" | "none";

export interface PlanSection {
  kind: SectionKind;
  title: string;
  minutes: number;
  items: string[];
  /** Which agent the content came from, or "fallback"/"planner" when none did. */
  source: AgentName | "fallback" | "planner";
}

export interface StructuredPlan {
  version: 1;
  week: number;
  day: number;
  total_minutes: number;
  title: string;
  description: string;
  difficulty: "intro" | "core" | "stretch";
  adaptation: Adaptation;
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
