/**
 * What one agent is asked (spec 6.1): the run's request, shaped by the agent's registry scope,
 * and the scope key its call is known by.
 */
import { type AgentRequest, WEEK_PACK } from "./protocol.ts";
import type { AgentConfig } from "./registry.ts";
import { asksForWeekPack, scopeKey } from "./scope.ts";

/**
 * The key an agent's call for `request` is known by (its idempotency key's scope): the scope
 * the registry asks for. Where its answer is stored depends on the answer (`answerCoverage`).
 */
export function agentScopeKey(agent: Pick<AgentConfig, "scope">, request: AgentRequest): string {
  return scopeKey(agent.scope, request.intent.id, request.week, request.day);
}

/**
 * What `agent` is sent: the request, with `accept: ["week_pack"]` for a week-scoped agent and
 * without `accept` for any other.
 */
export function agentRequestFor(
  agent: Pick<AgentConfig, "scope">,
  request: AgentRequest,
): AgentRequest {
  const { accept: _ignored, ...rest } = request;
  return asksForWeekPack(agent.scope) ? { ...rest, accept: [WEEK_PACK] } : rest;
}
