/**
 * Cache scopes (spec 6.1): how much of a run an agent's answer depends on, and the key the
 * answer is cached under in `wisely.agent_cache.scope_key`.
 */

/** The values of `wisely.agents.scope`. */
export const AGENT_SCOPES = ["intent", "intent_week", "intent_week_day"] as const;
export type AgentScope = (typeof AGENT_SCOPES)[number];

/**
 * The cache key of one agent answer:
 * - `intent` → `intent:<id>`
 * - `intent_week` → `intent:<id>:w<week>`
 * - `intent_week_day` → `intent:<id>:w<week>:d<day>`
 */
export function scopeKey(scope: AgentScope, intentId: string, week: number, day: number): string {
  switch (scope) {
    case "intent":
      return `intent:${intentId}`;
    case "intent_week":
      return `intent:${intentId}:w${week}`;
    case "intent_week_day":
      return `intent:${intentId}:w${week}:d${day}`;
  }
}
