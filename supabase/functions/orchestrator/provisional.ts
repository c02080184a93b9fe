/**
 * The answer of a day.run that reaches its own deadline while another request still runs the
 * same day (single flight, `run_day.ts`): spec 6.3's "the user always gets a plan within the
 * deadline", without a second run and without a competing session.
 *
 * The plan is composed from what the cache holds right now, by the same rules as a run whose
 * agents all failed at once: a fresh entry is served (`cache`), one within the stale window is
 * served stale, an agent with nothing usable gets its fallback section and makes the plan
 * `degraded_mode`. No agent is called (the deadline is spent) and nothing is stored: the
 * running request stores the day's one session, which a later day.run returns (200).
 * The HTTP answer is 202 with `provisional: true`, `session_id: null` and `Retry-After`: the
 * seconds until the other run's claim expires, by when its session exists or the day is free.
 */
import type { CacheEntry } from "../_shared/agents/cache.ts";
import { fanOut } from "../_shared/agents/client.ts";
import type { AgentName, AgentRequest } from "../_shared/agents/protocol.ts";
import type { AgentConfig } from "../_shared/agents/registry.ts";
import { type AgentSignal, isCacheHit } from "../_shared/agents/signal.ts";
import { composePlan } from "../_shared/plan/compose.ts";
import type { LearnerState, PreviousCompletion } from "../_shared/plan/types.ts";
import type { Settings } from "../_shared/settings.ts";
import { type IntentRow, planIntent } from "./intents.ts";
import { signalQuality } from "./signal_quality.ts";

/** What the waiting request loaded with its (refused) claim. */
export interface WaitingRun {
  intent: IntentRow;
  agents: AgentConfig[];
  settings: Settings;
  cache: Map<AgentName, CacheEntry>;
  /** The request its agents would have got; only its scope (intent, week, day) is used. */
  request: AgentRequest;
  previous: PreviousCompletion | null;
  /** The learner model the run would have planned with. */
  learner?: LearnerState;
}

export interface ProvisionalInput {
  waiting: WaitingRun;
  /** When the other run's claim expires. */
  claimExpiresAt: Date;
  /** A W3C trace id (the request's). */
  traceId: string;
  /** Called once per agent (SSE progress), as a run's agents settle. */
  onAgentSettled?: (signal: AgentSignal) => void;
  /** Epoch milliseconds. Default `Date.now()`. */
  now?: number;
}

/** The 202 body of day.run (responses.ts `DayRunProvisionalResponse`). */
export interface ProvisionalPlan {
  session_id: null;
  provisional: true;
  retry_after_s: number;
  plan_md: string;
  plan_json_summary: { title: string; description: string; steps: string[] };
  degraded_mode: boolean;
  cache_hits: number;
  cache_misses: number;
  signal_quality: ReturnType<typeof signalQuality>;
  week: number;
  day: number;
}

export interface ProvisionalRun {
  provisional: ProvisionalPlan;
}

/** Whole seconds until `expiresAt`, at least 1: the answer's `Retry-After`. */
export function retryAfterSeconds(expiresAt: Date, now = Date.now()): number {
  return Math.max(1, Math.ceil((expiresAt.getTime() - now) / 1000));
}

const NOTE = "\n\n> **Provisional plan.** A run of this day was still in progress when this " +
  "answer was due; this plan is made from what was already cached. Ask for the day again " +
  "shortly to get the stored plan.\n";

export async function composeProvisional(input: ProvisionalInput): Promise<ProvisionalRun> {
  const { waiting } = input;
  const { request, intent } = waiting;
  // An aborted run calls no agent: each one settles from the cache, stale, or as a fallback.
  const fan = await fanOut({
    request,
    agents: waiting.agents.filter((agent) => agent.enabled),
    cache: waiting.cache,
    forceRefresh: false,
    deadlineMs: 0,
    staleFactor: waiting.settings.staleFactor,
    serviceKey: null,
    traceId: input.traceId,
    signal: AbortSignal.abort(),
    onSettle: input.onAgentSettled,
  });
  const composed = composePlan({
    intent: planIntent(intent),
    week: request.week,
    day: request.day,
    signals: fan.signals,
    previous: waiting.previous,
    learner: waiting.learner,
  });
  const settled = Object.values(fan.signals).filter((s) => s !== undefined);
  const cacheHits = settled.filter(isCacheHit).length;
  return {
    provisional: {
      session_id: null,
      provisional: true,
      retry_after_s: retryAfterSeconds(input.claimExpiresAt, input.now),
      plan_md: composed.plan_md + NOTE,
      plan_json_summary: composed.summary,
      degraded_mode: settled.some((signal) => !signal.available),
      cache_hits: cacheHits,
      cache_misses: settled.length - cacheHits,
      signal_quality: signalQuality(fan.signals),
      week: request.week,
      day: request.day,
    },
  };
}
