/**
 * The middle of a day run (spec 5.4): the agents are asked (spec 6.2) with no database
 * connection held, within the agents' share of the deadline, and the plan is composed from
 * their signals (spec 7).
 */
import { fanOut, type FanOutResult } from "../../_shared/agents/client.ts";
import type { AgentPolicies } from "../../_shared/agents/policies.ts";
import type { AgentRequest } from "../../_shared/agents/protocol.ts";
import type { AgentSignal } from "../../_shared/agents/signal.ts";
import type { Config } from "../../_shared/config.ts";
import type { Sql } from "../../_shared/db.ts";
import { learnerModel, type LoadedLearner } from "../../_shared/memory/learner.ts";
import { decideDay } from "../../_shared/plan/adaptation.ts";
import { composePlan } from "../../_shared/plan/compose.ts";
import type { ComposedPlan, PreviousCompletion } from "../../_shared/plan/types.ts";
import type { DayRunBody } from "../../_shared/schemas.ts";
import { recentTransactionMs } from "../../_shared/transaction_latency.ts";
import { type IntentRow, planIntent } from "../intents.ts";
import type { ClaimedRun, DayRef, History } from "./claim.ts";
import { fanOutDeadlineMs, runDeadlineMs } from "./deadline.ts";

export interface FanOutDeps {
  sql: Sql;
  config: Config;
  /** The HTTP client for agent calls. Default: global fetch. */
  fetch?: typeof fetch;
  /** Retries, breakers, bulkheads and retry budgets (per isolate). Default: one attempt per call. */
  policies?: AgentPolicies;
}

export interface FanOutDay extends DayRef {
  traceId: string;
  /** Called as each agent settles (SSE progress). */
  onAgentSettled?: (signal: AgentSignal) => void;
  /** Cancels the agent calls (not the write of what they returned). */
  signal?: AbortSignal;
}

export interface FannedOut {
  fan: FanOutResult;
  composed: ComposedPlan;
}

/** Calls the agents of the claimed day, then composes its plan from what they answered. */
export async function fanOutAndCompose(
  deps: FanOutDeps,
  day: FanOutDay,
  claimed: ClaimedRun,
  timing: { receivedAt: number; loadMs: number },
): Promise<FannedOut> {
  const { userId, body } = day;
  const { intent, history, settings, learner } = claimed;
  const fan = await fanOut({
    request: agentRequest(userId, intent, body, history, learner),
    agents: claimed.agents.filter((agent) => agent.enabled),
    cache: claimed.cache,
    forceRefresh: body.force_refresh,
    deadlineMs: fanOutDeadlineMs(
      runDeadlineMs(body, settings),
      performance.now() - timing.receivedAt,
      Math.max(timing.loadMs, recentTransactionMs(deps.sql)),
    ),
    attemptTimeoutMs: settings.attemptTimeoutMs,
    staleFactor: settings.staleFactor,
    serviceKey: deps.config.edgeServiceKey,
    traceId: day.traceId,
    fetch: deps.fetch,
    signal: day.signal,
    onSettle: day.onAgentSettled,
    policyFor: deps.policies?.forRun(settings),
  });
  const composed = composePlan({
    intent: planIntent(intent),
    week: body.week,
    day: body.day,
    signals: fan.signals,
    previous: previousCompletion(history),
    learner: learner.state,
  });
  return { fan, composed };
}

export function previousCompletion(history: History): PreviousCompletion | null {
  if (
    history.last_week === null || history.last_day === null ||
    history.last_confidence === null || history.last_completion_time_min === null ||
    history.last_planned_minutes === null
  ) return null;
  return {
    week: history.last_week,
    day: history.last_day,
    confidence: history.last_confidence,
    completion_time_min: history.last_completion_time_min,
    planned_minutes: history.last_planned_minutes,
  };
}

/** What the agents are asked (spec 6.2), with the learner model and today's decision. */
export function agentRequest(
  userId: string,
  intent: IntentRow,
  body: DayRunBody,
  history: History,
  learner: LoadedLearner,
): AgentRequest {
  return {
    user_id: userId,
    intent: {
      id: intent.id,
      topic: intent.topic,
      depth: intent.depth,
      end_goal: intent.end_goal,
      time_per_day_min: intent.time_per_day_min,
      user_tz: intent.user_tz,
    },
    week: body.week,
    day: body.day,
    research: body.research,
    history: {
      completed_sessions: history.completed_sessions,
      last_confidence: history.last_confidence,
      last_completion_time_min: history.last_completion_time_min,
      last_hint: history.last_hint,
    },
    learner: learnerModel(learner, decideDay(learner.state, intent.time_per_day_min)),
  };
}
