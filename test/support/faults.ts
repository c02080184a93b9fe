/**
 * Fault injection from end-to-end tests: drive each reference agent's scripted fault plan over
 * HTTP (`PUT|DELETE|GET /functions/v1/agent-<name>/_faults`, service role; the stack must be
 * started with `agentFaults: true`) and tune the orchestrator through `wisely.settings`, which
 * it reads at the start of every run, so a change applies to the next `day.run`.
 */
import { AGENT_NAMES, type AgentName } from "../../supabase/functions/_shared/agents/protocol.ts";
import type {
  FaultPlanState,
  FaultStepInput,
} from "../../supabase/functions/_shared/agents/reference/fault_plan.ts";
import type { TestStack } from "./stack.ts";

export type { FaultPlanState, FaultStepInput };

/** What the helpers need of a stack. */
export type FaultStack = Pick<TestStack, "functionsUrl" | "serviceToken" | "sql">;

async function control(
  stack: FaultStack,
  agent: AgentName,
  method: "GET" | "PUT" | "DELETE",
  body?: unknown,
): Promise<FaultPlanState> {
  const response = await fetch(`${stack.functionsUrl}/agent-${agent}/_faults`, {
    method,
    headers: {
      Authorization: `Bearer ${await stack.serviceToken()}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(
      `${method} agent-${agent}/_faults answered ${response.status}: ${text}` +
        (response.status === 404 ? " (was the stack started with agentFaults: true?)" : ""),
    );
  }
  return JSON.parse(text) as FaultPlanState;
}

/**
 * Replaces `agent`'s fault plan with `steps` (e.g. `[{fault: {status: 500}, count: 2}]`) and
 * resets its call counter. Returns the new state.
 */
export function setFaults(
  stack: FaultStack,
  agent: AgentName,
  steps: FaultStepInput[],
): Promise<FaultPlanState> {
  return control(stack, agent, "PUT", { steps });
}

/** Gives every agent (default: all four) the same fault plan `steps`. */
export async function setAllFaults(
  stack: FaultStack,
  steps: FaultStepInput[],
  agents: readonly AgentName[] = AGENT_NAMES,
): Promise<void> {
  await Promise.all(agents.map((agent) => setFaults(stack, agent, steps)));
}

/** Empties the fault plans of `agents` (default: all four) and resets their call counters. */
export async function clearFaults(
  stack: FaultStack,
  agents: readonly AgentName[] = AGENT_NAMES,
): Promise<void> {
  await Promise.all(agents.map((agent) => control(stack, agent, "DELETE")));
}

/** `agent`'s remaining steps and the protocol calls it received since its last reset. */
export function faultState(stack: FaultStack, agent: AgentName): Promise<FaultPlanState> {
  return control(stack, agent, "GET");
}

/** Protocol calls (HTTP attempts, faulted or not) `agent` received since its last reset. */
export async function agentCalls(stack: FaultStack, agent: AgentName): Promise<number> {
  return (await faultState(stack, agent)).calls;
}

/** `agentCalls` for every agent. */
export async function allAgentCalls(stack: FaultStack): Promise<Record<AgentName, number>> {
  const counts = await Promise.all(AGENT_NAMES.map((agent) => agentCalls(stack, agent)));
  return Object.fromEntries(AGENT_NAMES.map((agent, i) => [agent, counts[i]])) as Record<
    AgentName,
    number
  >;
}

/**
 * Upserts one `wisely.settings` row (e.g. `setSetting(stack, "run.deadline_ms", 3000)`); the
 * next run reads it. A value the orchestrator does not accept is silently replaced by its
 * built-in default there, so pass what `parseSettings` validates.
 */
export async function setSetting(
  stack: Pick<FaultStack, "sql">,
  key: string,
  value: unknown,
): Promise<void> {
  await stack.sql`
    insert into wisely.settings (key, value, description)
    values (${key}, ${stack.sql.json(value as never)}, 'set by a test')
    on conflict (key) do update set value = excluded.value, updated_at = now()
  `;
}

/** `setSetting` for each entry. */
export async function setSettings(
  stack: Pick<FaultStack, "sql">,
  settings: Record<string, unknown>,
): Promise<void> {
  for (const [key, value] of Object.entries(settings)) await setSetting(stack, key, value);
}

/**
 * Lifts the per-user token buckets (spec 9): a benchmark or drill drives one user far harder
 * than a person can. Every `rate.*` bucket becomes one nobody empties.
 */
export async function relaxRateLimits(stack: Pick<FaultStack, "sql">): Promise<void> {
  const { sql } = stack;
  const value = { burst: 1_000_000, refill_per_s: 1_000_000 };
  await setSettings(stack, { "rate.day_run": value, "rate.default": value });
  await sql`
    update wisely.settings set value = ${sql.json(value)}, updated_at = now()
    where key like 'rate.%' and jsonb_typeof(value) = 'object' and value ? 'burst'
  `;
}
