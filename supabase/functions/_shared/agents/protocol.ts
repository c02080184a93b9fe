/**
 * The agent protocol (spec 6.2): what the orchestrator sends to an agent and what each agent
 * answers. Shared by the agent client and the reference agents so both sides validate against
 * the same schemas.
 */
import { z } from "zod";

export const AGENT_NAMES = ["clo", "alex", "ta", "socratic"] as const;
export type AgentName = (typeof AGENT_NAMES)[number];
export const AgentNameSchema = z.enum(AGENT_NAMES);

export const DEPTHS = ["surface", "informed", "deep", "expert"] as const;
export type Depth = (typeof DEPTHS)[number];

export const AgentRequestSchema = z.object({
  user_id: z.uuid(),
  intent: z.object({
    id: z.uuid(),
    topic: z.string().min(1).max(200),
    depth: z.enum(DEPTHS),
    end_goal: z.string().min(1).max(500),
    time_per_day_min: z.int().min(5).max(480),
    user_tz: z.string().min(1).max(64),
  }),
  week: z.int().min(1).max(520),
  day: z.int().min(1).max(7),
  research: z.boolean(),
  history: z.object({
    completed_sessions: z.int().min(0),
    last_confidence: z.int().min(1).max(10).nullable(),
    last_completion_time_min: z.int().min(0).max(1440).nullable(),
    last_hint: z.string().max(1000).nullable(),
  }),
});
export type AgentRequest = z.infer<typeof AgentRequestSchema>;

const minutes = z.int().min(1).max(480);

export const CloDataSchema = z.object({
  title: z.string().min(1).max(200),
  description: z.string().min(1).max(2000),
  objectives: z.array(z.string().min(1).max(500)).min(1).max(8),
  difficulty: z.enum(["intro", "core", "stretch"]),
});
export type CloData = z.infer<typeof CloDataSchema>;

export const RESOURCE_KINDS = ["article", "video", "paper", "docs", "course", "repo"] as const;
export const AlexDataSchema = z.object({
  resources: z.array(z.object({
    title: z.string().min(1).max(300),
    url: z.url({ protocol: /^https?$/ }).max(2000),
    kind: z.enum(RESOURCE_KINDS),
    minutes,
  })).max(10),
});
export type AlexData = z.infer<typeof AlexDataSchema>;

export const TaDataSchema = z.object({
  exercises: z.array(z.object({
    title: z.string().min(1).max(300),
    instructions: z.string().min(1).max(4000),
    minutes,
  })).min(1).max(6),
});
export type TaData = z.infer<typeof TaDataSchema>;

export const SocraticDataSchema = z.object({
  questions: z.array(z.string().min(1).max(1000)).min(1).max(6),
});
export type SocraticData = z.infer<typeof SocraticDataSchema>;

/** Each agent's `data` schema, by name. */
export const AGENT_DATA_SCHEMAS = {
  clo: CloDataSchema,
  alex: AlexDataSchema,
  ta: TaDataSchema,
  socratic: SocraticDataSchema,
} as const;

export interface AgentDataMap {
  clo: CloData;
  alex: AlexData;
  ta: TaData;
  socratic: SocraticData;
}

/** A successful agent reply body: `{ok: true, data}`. */
export function agentReplySchema<N extends AgentName>(name: N) {
  return z.object({ ok: z.literal(true), data: AGENT_DATA_SCHEMAS[name] });
}

/** An agent's error body: `{ok: false, error, code}`. */
export const AgentErrorBodySchema = z.object({
  ok: z.literal(false),
  error: z.string(),
  code: z.string(),
});
