/**
 * The agent protocol (spec 6.2): what the orchestrator sends to an agent and what each agent
 * answers. Shared by the agent client and the reference agents so both sides validate against
 * the same schemas.
 *
 * Week packs (spec 6.1, 6.2). A request to a week-scoped agent (registry scope `intent_week`)
 * carries `accept: ["week_pack"]`: the agent may answer the whole week at once,
 * `{ok: true, data: {days: [{day: 1, ...that day's payload}, …, {day: 7, …}]}}`, all seven days
 * exactly once, each a valid payload of that agent. The orchestrator caches a pack under
 * intent + week and serves each day from its own entry. An agent written to the original
 * protocol ignores `accept` and answers the requested day alone, `{ok: true, data: <payload>}`;
 * that answer is cached for that day only. `accept` is a list so further answer shapes can be
 * offered later; an agent ignores values it does not know. A request without `accept` (every
 * request to an agent of another scope) wants a single-day (or intent-wide) answer.
 */
import { z } from "zod";
import { DaySchema, WeekSchema } from "../day_range.ts";
import { LearnerModelSchema } from "../memory/learner_model.ts";
import { DAYS_PER_WEEK } from "../plan/days.ts";

export const AGENT_NAMES = ["clo", "alex", "ta", "socratic"] as const;
export type AgentName = (typeof AGENT_NAMES)[number];
export const AgentNameSchema = z.enum(AGENT_NAMES);

export const DEPTHS = ["surface", "informed", "deep", "expert"] as const;
export type Depth = (typeof DEPTHS)[number];

/** Answer shapes beyond a single day that a request may accept (its `accept` field). */
export const WEEK_PACK = "week_pack";
/** The days of a week pack: the whole week. */
export const PACK_DAYS = DAYS_PER_WEEK;

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
  week: WeekSchema,
  day: DaySchema,
  research: z.boolean(),
  history: z.object({
    completed_sessions: z.int().min(0),
    last_confidence: z.int().min(1).max(10).nullable(),
    last_completion_time_min: z.int().min(0).max(1440).nullable(),
    last_hint: z.string().max(1000).nullable(),
  }),
  /**
   * The answer shapes the orchestrator accepts besides a single day: `["week_pack"]` for a
   * week-scoped agent, absent otherwise. Unknown values are allowed (and ignored by agents).
   */
  accept: z.array(z.string().min(1).max(64)).max(8).optional(),
  /**
   * The learner model (spec 6.2, 7; `memory/learner_model.ts`): recent completions, due
   * reviews, mastery, days since the last completion and today's adaptation decision. Absent
   * from an orchestrator of the original protocol.
   */
  learner: LearnerModelSchema.optional(),
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

const replySchemaOf = <T extends z.ZodType>(data: T) => z.object({ ok: z.literal(true), data });

/**
 * Each agent's successful reply body `{ok: true, data}`, built once: a zod object schema
 * compiles its parser on first use, so one made per call costs that every time.
 */
const AGENT_REPLY_SCHEMAS = {
  clo: replySchemaOf(AGENT_DATA_SCHEMAS.clo),
  alex: replySchemaOf(AGENT_DATA_SCHEMAS.alex),
  ta: replySchemaOf(AGENT_DATA_SCHEMAS.ta),
  socratic: replySchemaOf(AGENT_DATA_SCHEMAS.socratic),
} as const;

/** A successful agent reply body: `{ok: true, data}`. */
export function agentReplySchema<N extends AgentName>(name: N): (typeof AGENT_REPLY_SCHEMAS)[N] {
  return AGENT_REPLY_SCHEMAS[name];
}

/** Whether `request` says it accepts a week pack. */
export function acceptsWeekPack(request: Pick<AgentRequest, "accept">): boolean {
  return request.accept?.includes(WEEK_PACK) ?? false;
}

/** One day of a week pack: the day number and that day's payload. */
export type PackDay<N extends AgentName> = AgentDataMap[N] & { day: number };
/** A week pack's `data`: every day of the week, each once. */
export interface WeekPack<N extends AgentName> {
  days: PackDay<N>[];
}

const packDay = { day: DaySchema };

function packSchemaOf<T extends z.ZodType<{ day: number }>>(entry: T) {
  return z.object({
    days: z.array(entry).length(PACK_DAYS)
      .refine((days) => new Set(days.map((one) => one.day)).size === PACK_DAYS, {
        message: `a week pack holds each day 1..${PACK_DAYS} exactly once`,
      }),
  });
}

/** Each agent's week-pack `data` schema, by name. */
export const AGENT_PACK_SCHEMAS = {
  clo: packSchemaOf(CloDataSchema.extend(packDay)),
  alex: packSchemaOf(AlexDataSchema.extend(packDay)),
  ta: packSchemaOf(TaDataSchema.extend(packDay)),
  socratic: packSchemaOf(SocraticDataSchema.extend(packDay)),
} as const;

/** Each agent's week-pack reply body, built once (as AGENT_REPLY_SCHEMAS). */
const AGENT_PACK_REPLY_SCHEMAS = {
  clo: replySchemaOf(AGENT_PACK_SCHEMAS.clo),
  alex: replySchemaOf(AGENT_PACK_SCHEMAS.alex),
  ta: replySchemaOf(AGENT_PACK_SCHEMAS.ta),
  socratic: replySchemaOf(AGENT_PACK_SCHEMAS.socratic),
} as const;

/** A week-pack reply body: `{ok: true, data: {days: [...]}}`. */
export function agentPackReplySchema<N extends AgentName>(
  name: N,
): (typeof AGENT_PACK_REPLY_SCHEMAS)[N] {
  return AGENT_PACK_REPLY_SCHEMAS[name];
}
