/** The session row and the day.run response built from it (spec 5.4). */
import type { PlanSummary, StructuredPlan } from "../_shared/plan/types.ts";

export interface SignalQualityEntry {
  available: boolean;
  fresh: boolean;
  source?: string;
  latency_ms?: number;
  attempts?: number;
}

export interface SessionRow {
  id: string;
  user_id: string;
  intent_id: string;
  week: number;
  day: number;
  revision: number;
  plan_md: string;
  plan_summary: PlanSummary;
  plan: StructuredPlan;
  total_minutes: number;
  degraded_mode: boolean;
  cache_hits: number;
  cache_misses: number;
  signal_quality: Record<string, SignalQualityEntry>;
  created_at: Date;
  updated_at: Date;
  /** Spec 12, as stored (readers derive `skipped` once planned_on has passed: routes/sessions.ts). */
  state: "planned" | "opened" | "completed" | "skipped";
}

export function sessionView(row: SessionRow) {
  return {
    session_id: row.id,
    plan_md: row.plan_md,
    plan_json_summary: row.plan_summary,
    degraded_mode: row.degraded_mode,
    cache_hits: row.cache_hits,
    cache_misses: row.cache_misses,
    signal_quality: row.signal_quality,
    week: row.week,
    day: row.day,
    revision: row.revision,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export type SessionView = ReturnType<typeof sessionView>;
