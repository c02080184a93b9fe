/**
 * Response schemas of the orchestrator's routes (spec 5.3–5.7). They are the source of the
 * OpenAPI document and the contract the end-to-end tests check real responses against.
 */
import { z } from "zod";
import type { BreakerState } from "./agents/breaker.ts";
import type { CallOutcome } from "./agents/client.ts";
import { AGENT_NAMES, DEPTHS } from "./agents/protocol.ts";
import type { SignalSource } from "./agents/signal.ts";
import { DaySchema, WeekSchema } from "./day_range.ts";
import { ERROR_CODES } from "./errors.ts";

const timestamp = z.iso.datetime().describe("ISO 8601 in UTC");
const localDate = z.iso.date().describe("A local date (YYYY-MM-DD) in the intent's user_tz");
/** Spec 12: a session's state; `skipped` once its local day passed without a completion. */
const sessionState = z.enum(["planned", "opened", "completed", "skipped"]);
const agentName = z.enum(AGENT_NAMES);

/**
 * Compiles only when `Missing` is never: each list below names every member of the type it
 * mirrors (`satisfies` keeps it to members), so neither can drift from the other.
 */
type Complete<Missing extends never> = Missing;

/** Where an agent's signal came from (agents/signal.ts), as responses and SSE events report it. */
export const SIGNAL_SOURCES = [
  "cache",
  "revalidated",
  "network",
  "stale",
  "fallback",
] as const satisfies readonly SignalSource[];
type _SignalSourcesComplete = Complete<Exclude<SignalSource, (typeof SIGNAL_SOURCES)[number]>>;

export const ErrorResponse = z.strictObject({
  error: z.string().describe("A sentence for humans."),
  code: z.enum(ERROR_CODES),
  details: z.array(z.object({
    path: z.array(z.union([z.string(), z.number()])),
    message: z.string(),
  })).optional(),
});

/** An intent as intent.sync answers it and status shows the active one. */
const intentFields = {
  topic: z.string(),
  depth: z.enum(DEPTHS),
  end_goal: z.string(),
  time_per_day_min: z.int(),
  user_tz: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
  meta: z.record(z.string(), z.json()),
};

export const IntentResponse = z.object({
  intent_id: z.uuid(),
  active: z.boolean(),
  ...intentFields,
});

const SignalQuality = z.object({
  available: z.boolean(),
  fresh: z.boolean(),
  source: z.enum(SIGNAL_SOURCES).optional(),
  latency_ms: z.int().min(0).optional(),
  attempts: z.int().min(0).optional(),
});

export const DayRunResponse = z.object({
  session_id: z.uuid(),
  plan_md: z.string(),
  plan_json_summary: z.object({
    title: z.string(),
    description: z.string(),
    steps: z.array(z.string()),
  }),
  degraded_mode: z.boolean(),
  cache_hits: z.int().min(0),
  cache_misses: z.int().min(0),
  signal_quality: z.partialRecord(agentName, SignalQuality),
  week: WeekSchema,
  day: DaySchema,
  revision: z.int().min(1),
  created_at: timestamp,
  updated_at: timestamp,
});

/**
 * day.run's 202: another request was still running this day when this one's deadline came, so
 * the plan is composed from the cache and not stored (orchestrator/provisional.ts).
 */
export const DayRunProvisionalResponse = z.object({
  session_id: z.null(),
  provisional: z.literal(true),
  retry_after_s: z.int().min(1).describe("When to ask again for the stored plan (Retry-After)."),
  plan_md: z.string(),
  plan_json_summary: DayRunResponse.shape.plan_json_summary,
  degraded_mode: z.boolean(),
  cache_hits: z.int().min(0),
  cache_misses: z.int().min(0),
  signal_quality: DayRunResponse.shape.signal_quality,
  week: DayRunResponse.shape.week,
  day: DayRunResponse.shape.day,
});

const Completion = z.object({
  completion_time_min: z.int(),
  confidence: z.int(),
  notes: z.string().nullable(),
  completed_at: timestamp,
});

export const DayDoneResponse = z.object({
  ok: z.literal(true),
  next_day_hint: z.string(),
  completion_summary: Completion.extend({ session_id: z.uuid() }),
});

export const StatusResponse = z.object({
  user_id: z.uuid(),
  active_intent: z.object({
    id: z.uuid(),
    ...intentFields,
    state: z.enum(["active", "paused"]),
    paused_until: localDate.nullable().describe("The last paused day; null when not paused."),
  }).nullable(),
  latest_session: z.object({
    id: z.uuid(),
    week: z.int(),
    day: z.int(),
    revision: z.int(),
    topic: z.string(),
    plan_title: z.string().nullable(),
    degraded_mode: z.boolean(),
    created_at: timestamp,
    state: sessionState,
    completion: Completion.nullable(),
  }).nullable(),
  signal_freshness: z.partialRecord(
    agentName,
    z.object({ available: z.boolean(), fresh: z.boolean(), last_updated: timestamp.nullable() }),
  ),
  next_scheduled_run: z.object({
    week: z.int(),
    day: z.int(),
    estimated_time: timestamp,
    timezone: z.string(),
  }).nullable(),
  learning_stats: z.object({
    total_sessions: z.int().min(0),
    completed_sessions: z.int().min(0),
    total_time_min: z.int().min(0),
    average_confidence: z.number().nullable(),
    current_streak_days: z.int().min(0),
  }),
});

export const SessionsResponse = z.object({
  sessions: z.array(z.object({
    session_id: z.uuid(),
    intent_id: z.uuid(),
    week: z.int(),
    day: z.int(),
    revision: z.int(),
    plan_title: z.string().nullable(),
    degraded_mode: z.boolean(),
    total_minutes: z.int(),
    created_at: timestamp,
    state: sessionState,
    planned_on: localDate.describe("The local day the session was planned for."),
    completion: Completion.nullable(),
  })),
  next_cursor: z.string().nullable(),
});

/** `intent.pause`, `intent.resume` and `intent.cancel` (spec 12). */
export const IntentControlResponse = z.object({
  intent_id: z.uuid(),
  state: z.enum(["active", "paused", "cancelled"]),
  paused_until: localDate.nullable().describe("The last paused day; null when not paused."),
  cancelled_at: timestamp.nullable(),
  changed: z.boolean().describe("False when the call found the intent already so."),
});

export const HealthResponse = z.object({
  ok: z.boolean(),
  db: z.enum(["up", "down"]),
});

export const DayTickResponse = z.object({
  due: z.int().min(0),
  generated: z.int().min(0),
  retried: z.int().min(0),
  failed: z.int().min(0),
  pending: z.int().min(0).describe("Runs still going (202: they finish after the answer)."),
  deferred: z.int().min(0).describe("Runs left for the next tick (time budget spent)."),
  runs: z.array(z.object({
    user_id: z.uuid(),
    week: z.int(),
    day: z.int(),
    kind: z.enum(["next", "retry"]),
    session_id: z.uuid().nullable(),
    degraded_mode: z.boolean().nullable(),
    ok: z.boolean(),
  })),
});

/** What became of an agent call (`wisely.agent_calls.outcome`), in `metrics`' order. */
export const CALL_OUTCOMES = [
  "hit",
  "revalidated",
  "fetched",
  "stale",
  "unavailable",
] as const satisfies readonly CallOutcome[];
type _CallOutcomesComplete = Complete<Exclude<CallOutcome, (typeof CALL_OUTCOMES)[number]>>;

/** A circuit breaker's states (agents/breaker.ts). */
const BREAKER_STATES = ["closed", "open", "half-open"] as const satisfies readonly BreakerState[];
type _BreakerStatesComplete = Complete<Exclude<BreakerState, (typeof BREAKER_STATES)[number]>>;

/** One agent's line of `metrics` (orchestrator/routes/metrics.ts builds it). */
export const AgentMetricsSchema = z.object({
  agent: z.string(),
  enabled: z.boolean(),
  calls: z.int().min(0),
  outcomes: z.record(z.enum(CALL_OUTCOMES), z.int().min(0)),
  /** HTTP attempts, retries included. */
  attempts: z.int().min(0),
  latency_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
  /** Calls answered from the cache (fresh, revalidated or stale) over all calls; null if none. */
  cache_hit_ratio: z.number().min(0).max(1).nullable(),
  /** This isolate's resilience state for the agent (each isolate keeps its own). */
  isolate: z.object({
    breaker: z.enum(BREAKER_STATES),
    in_flight: z.int().min(0),
    retry_budget: z.number().min(0),
  }).nullable(),
});

export const MetricsResponse = z.object({
  window_s: z.int(),
  generated_at: timestamp,
  agents: z.array(AgentMetricsSchema),
});
