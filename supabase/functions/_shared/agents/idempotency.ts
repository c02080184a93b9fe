/**
 * `X-Idempotency-Key` for agent calls (spec 6.2): the same for every attempt of one logical call,
 * and for any later call asking exactly the same question of the same agent.
 */
import { canonicalJson } from "./canonical_json.ts";
import { sha256Hex } from "../hex.ts";
import type { AgentName, AgentRequest } from "./protocol.ts";

/** 64 hex digits: SHA-256 of the agent, its cache scope key and the canonical request body. */
export function agentIdempotencyKey(
  agent: AgentName,
  scopeKey: string,
  request: AgentRequest,
): string {
  return sha256Hex(canonicalJson({ v: 1, agent, scope_key: scopeKey, request }));
}
