/**
 * Cache scopes (spec 6.1): what one agent answer covers, and the key it is cached under in
 * `wisely.agent_cache.scope_key`. An answer is only ever served for the days it covers.
 *
 * The registry's scope says what to ask for; the answer decides what it covers:
 * - `intent`: the answer covers every day of the intent (alex).
 * - `intent_week`: the agent is asked for a week pack (`accept: ["week_pack"]`, protocol.ts).
 *   A pack covers each day of its week, each day from its own entry; a single-day answer (an
 *   agent of the original protocol) covers that day only.
 * - `intent_week_day`: the agent is asked for one day; its answer covers that day.
 */

/** The values of `wisely.agents.scope`. */
export const AGENT_SCOPES = ["intent", "intent_week", "intent_week_day"] as const;
export type AgentScope = (typeof AGENT_SCOPES)[number];

/** What one stored answer covers: the intent, a week (a pack), or one day. */
export type Coverage = "intent" | "week" | "day";

/**
 * The cache key of a scope:
 * - `intent` → `intent:<id>`
 * - `intent_week` → `intent:<id>:w<week>` (where week packs live)
 * - `intent_week_day` → `intent:<id>:w<week>:d<day>` (single-day answers)
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

/** The key an answer covering `coverage` is stored under. */
export function coverageKey(
  coverage: Coverage,
  intentId: string,
  week: number,
  day: number,
): string {
  const scope = ({ intent: "intent", week: "intent_week", day: "intent_week_day" } as const)[
    coverage
  ];
  return scopeKey(scope, intentId, week, day);
}

/** Whether an agent of `scope` is asked for a week pack. */
export function asksForWeekPack(scope: AgentScope): boolean {
  return scope === "intent_week";
}

/**
 * What an answer of an agent of `scope` covers: a pack its week (only a week-scoped agent is
 * asked for one), any other answer the intent for an intent-scoped agent, else its day.
 */
export function answerCoverage(scope: AgentScope, isPack: boolean): Coverage {
  if (isPack && asksForWeekPack(scope)) return "week";
  return scope === "intent" ? "intent" : "day";
}

/** A cache key that may serve a day, and what the entry under it covers. */
export interface ServingKey {
  key: string;
  coverage: Coverage;
}

/**
 * The keys whose entries may serve (`week`, `day`) for an agent of `scope`: its intent entry;
 * or its week pack and its own day's single answer; or its own day's answer. Never another
 * day's single answer.
 */
export function servingKeys(
  scope: AgentScope,
  intentId: string,
  week: number,
  day: number,
): ServingKey[] {
  const at = (coverage: Coverage) => ({
    key: coverageKey(coverage, intentId, week, day),
    coverage,
  });
  switch (scope) {
    case "intent":
      return [at("intent")];
    case "intent_week":
      return [at("week"), at("day")];
    case "intent_week_day":
      return [at("day")];
  }
}

/** Every key any agent may be served from for (`week`, `day`): what a run loads. */
export function runScopeKeys(intentId: string, week: number, day: number): string[] {
  return AGENT_SCOPES.map((scope) => scopeKey(scope, intentId, week, day));
}
