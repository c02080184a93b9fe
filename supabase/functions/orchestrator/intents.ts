/** The intent row, its API view (spec 5.3) and what the plan reads of it. */
import type { PlanIntent } from "../_shared/plan/types.ts";

export interface IntentRow {
  id: string;
  user_id: string;
  topic: string;
  depth: "surface" | "informed" | "deep" | "expert";
  end_goal: string;
  time_per_day_min: number;
  user_tz: string;
  plan_time: string;
  meta: Record<string, unknown>;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

/** What composing a plan reads of the intent. */
export function planIntent(row: IntentRow): PlanIntent {
  return {
    topic: row.topic,
    depth: row.depth,
    end_goal: row.end_goal,
    time_per_day_min: row.time_per_day_min,
  };
}

export function intentView(row: IntentRow) {
  return {
    intent_id: row.id,
    active: row.active,
    topic: row.topic,
    depth: row.depth,
    end_goal: row.end_goal,
    time_per_day_min: row.time_per_day_min,
    user_tz: row.user_tz,
    created_at: row.created_at,
    updated_at: row.updated_at,
    // The column is the source of truth; meta carries it as "HH:MM", as status shows it.
    meta: { ...row.meta, plan_time: row.plan_time.slice(0, 5) },
  };
}
