/**
 * Validating agent payloads by agent name, with the agent's own type: `parseReply.clo(body)`
 * gives `CloData`. Everything an agent sends and everything read back from the cache passes
 * through here before it is used. Week packs (protocol.ts) have their own parsers, and
 * `parseAnswer` reads a reply that may be either.
 */
import type { z } from "zod";
import {
  AGENT_DATA_SCHEMAS,
  AGENT_PACK_SCHEMAS,
  type AgentDataMap,
  type AgentName,
  agentPackReplySchema,
  agentReplySchema,
  type WeekPack,
} from "./protocol.ts";

export type Parsed<T> = { ok: true; data: T } | { ok: false; error: z.ZodError };

type ParserTable = { readonly [N in AgentName]: (value: unknown) => Parsed<AgentDataMap[N]> };
type PackParserTable = { readonly [N in AgentName]: (value: unknown) => Parsed<WeekPack<N>> };

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

/** Validates a week-pack reply body `{ok: true, data: {days}}` and gives its `data`. */
export const parsePackReply: PackParserTable = {
  clo: (body) => replyData(agentPackReplySchema("clo").safeParse(body)),
  alex: (body) => replyData(agentPackReplySchema("alex").safeParse(body)),
  ta: (body) => replyData(agentPackReplySchema("ta").safeParse(body)),
  socratic: (body) => replyData(agentPackReplySchema("socratic").safeParse(body)),
};

/** Validates a bare week pack `{days}` (a cached one). */
export const parsePackData: PackParserTable = {
  clo: (payload) => fromResult(AGENT_PACK_SCHEMAS.clo.safeParse(payload)),
  alex: (payload) => fromResult(AGENT_PACK_SCHEMAS.alex.safeParse(payload)),
  ta: (payload) => fromResult(AGENT_PACK_SCHEMAS.ta.safeParse(payload)),
  socratic: (payload) => fromResult(AGENT_PACK_SCHEMAS.socratic.safeParse(payload)),
};

/** A validated answer: one day's (or the intent's) payload, or a week pack. */
export type Answer<N extends AgentName> =
  | { kind: "single"; data: AgentDataMap[N] }
  | { kind: "pack"; pack: WeekPack<N> };

/** True when a reply body's `data` has a `days` member: it claims to be a week pack. */
function claimsPack(body: unknown): boolean {
  if (typeof body !== "object" || body === null || !("data" in body)) return false;
  const { data } = body;
  return typeof data === "object" && data !== null && "days" in data;
}

/**
 * Validates a reply that may be a week pack (when `acceptsPack`) or a single payload. A body
 * claiming to be a pack must be a valid one (all seven days, each once, each valid): it is
 * never read as something else.
 */
export function parseAnswer<N extends AgentName>(
  name: N,
  body: unknown,
  acceptsPack: boolean,
): Parsed<Answer<N>> {
  if (acceptsPack && claimsPack(body)) {
    const pack = parsePackReply[name](body);
    return pack.ok ? { ok: true, data: { kind: "pack", pack: pack.data } } : pack;
  }
  const single = parseReply[name](body);
  return single.ok ? { ok: true, data: { kind: "single", data: single.data } } : single;
}

/**
 * `day`'s payload in `answer`: a pack's own entry for that day (without its `day` member), a
 * single answer as it is. Null when a pack has no valid entry for the day.
 */
export function answerForDay<N extends AgentName>(
  name: N,
  answer: Answer<N>,
  day: number,
): AgentDataMap[N] | null {
  if (answer.kind === "single") return answer.data;
  const entry = answer.pack.days.find((candidate) => candidate.day === day);
  if (!entry) return null;
  // Re-validating strips `day` and gives the agent's own payload type.
  const parsed = parseData[name](entry);
  return parsed.ok ? parsed.data : null;
}
