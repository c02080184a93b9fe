/**
 * Validating agent payloads by agent name, with the agent's own type: `parseReply.clo(body)`
 * gives `CloData`. Everything an agent sends and everything read back from the cache passes
 * through here before it is used.
 */
import type { z } from "zod";
import {
  AGENT_DATA_SCHEMAS,
  type AgentDataMap,
  type AgentName,
  agentReplySchema,
} from "./protocol.ts";

export type Parsed<T> = { ok: true; data: T } | { ok: false; error: z.ZodError };

type ParserTable = { readonly [N in AgentName]: (value: unknown) => Parsed<AgentDataMap[N]> };

function fromResult<T>(result: z.ZodSafeParseResult<T>): Parsed<T> {
  return result.success ? { ok: true, data: result.data } : { ok: false, error: result.error };
}

function replyData<T>(result: z.ZodSafeParseResult<{ ok: true; data: T }>): Parsed<T> {
  return result.success ? { ok: true, data: result.data.data } : { ok: false, error: result.error };
}

/** Validates a reply body `{ok: true, data}` and gives its `data`. */
export const parseReply: ParserTable = {
  clo: (body) => replyData(agentReplySchema("clo").safeParse(body)),
  alex: (body) => replyData(agentReplySchema("alex").safeParse(body)),
  ta: (body) => replyData(agentReplySchema("ta").safeParse(body)),
  socratic: (body) => replyData(agentReplySchema("socratic").safeParse(body)),
};

/** Validates a bare `data` payload (a cached one). */
export const parseData: ParserTable = {
  clo: (payload) => fromResult(AGENT_DATA_SCHEMAS.clo.safeParse(payload)),
  alex: (payload) => fromResult(AGENT_DATA_SCHEMAS.alex.safeParse(payload)),
  ta: (payload) => fromResult(AGENT_DATA_SCHEMAS.ta.safeParse(payload)),
  socratic: (payload) => fromResult(AGENT_DATA_SCHEMAS.socratic.safeParse(payload)),
};
