/**
 * Answers served only for the days they cover (spec 6.1, 6.2; issue 9 item 1), over real HTTP
 * against the served stack (gateway, orchestrator, the four reference agents) on each backend.
 *
 * A learner runs days 1–7 of week 1 and day 1 of week 2. clo and ta answer week packs; socratic
 * is switched to the original protocol (the reference agent's `single_day` fault: it answers
 * the requested day alone although asked for a pack), so the mix is exercised. The agents' own
 * call counters (`GET …/agent-<name>/_faults`) say who was asked when.
 */
import assert from "node:assert/strict";
import { AGENT_NAMES, type AgentName } from "../../supabase/functions/_shared/agents/protocol.ts";
import { allAgentCalls, clearFaults, setFaults, setSetting } from "../support/faults.ts";
import { startTestStack, testBackends, type TestStack } from "../support/stack.ts";

const INTENT = {
  topic: "Distributed systems",
  depth: "informed",
  end_goal: "Design a fault-tolerant service",
  time_per_day_min: 45,
  user_tz: "UTC",
};

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

interface PackEntry {
  day: number;
  title: string;
  objectives: string[];
}

async function post(stack: TestStack, token: string, route: string, body: unknown) {
  const response = await fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json: Json = await response.json();
  return { status: response.status, body: json };
}

/** The user's cache keys per agent, sorted. */
async function cacheKeys(stack: TestStack, userId: string): Promise<Record<string, string[]>> {
  const rows = await stack.sql<{ agent: string; scope_key: string }[]>`
    select agent, scope_key from wisely.agent_cache where user_id = ${userId}
    order by agent, scope_key
  `;
  const keys: Record<string, string[]> = {};
  for (const row of rows) (keys[row.agent] ??= []).push(row.scope_key);
  return keys;
}

/** The plan's objectives as stored (the focus section's items). */
async function planObjectives(stack: TestStack, sessionId: string): Promise<string[]> {
  const [row] = await stack.sql<{ plan: Json }[]>`
    select plan from wisely.sessions where id = ${sessionId}
  `;
  const sections: { items?: string[]; source?: string; kind?: string }[] = row.plan.sections;
  return sections.flatMap((section) => section.items ?? []);
}

function sources(body: Json): Record<AgentName, string> {
  return Object.fromEntries(
    AGENT_NAMES.map((name) => [name, body.signal_quality?.[name]?.source]),
  ) as Record<AgentName, string>;
}

for (const backend of testBackends()) {
  Deno.test(`[${backend}] week packs: each day its own entry; original protocol per day`, async (t) => {
    const stack = await startTestStack(backend, { agentFaults: true });
    try {
      await setSetting(stack, "rate.day_run", { burst: 1000, refill_per_s: 100 });
      const userId = await stack.createUser();
      const token = await stack.userToken(userId);
      const intent = await post(stack, token, "intent.sync", INTENT);
      assert.equal(intent.status, 201, JSON.stringify(intent.body));
      const intentId: string = intent.body.intent_id;
      await clearFaults(stack);
      await setFaults(stack, "socratic", [{ fault: { single_day: true }, count: "always" }]);

      const plans: Json[] = [];
      await t.step("days 1–7 of week 1: clo asked once, socratic every day", async () => {
        for (let day = 1; day <= 7; day++) {
          const run = await post(stack, token, "day.run", { week: 1, day });
          assert.equal(run.status, 201, JSON.stringify(run.body));
          assert.equal(run.body.degraded_mode, false);
          plans.push(run.body);
          const calls = await allAgentCalls(stack);
          assert.deepEqual(calls, { clo: 1, alex: 1, ta: 1, socratic: day }, `after day ${day}`);
          const seen = sources(run.body);
          if (day === 1) {
            assert.deepEqual(seen, {
              clo: "network",
              alex: "network",
              ta: "network",
              socratic: "network",
            });
          } else {
            assert.deepEqual(seen, {
              clo: "cache",
              alex: "cache",
              ta: "cache",
              socratic: "network",
            }, `day ${day}`);
            assert.deepEqual([run.body.cache_hits, run.body.cache_misses], [3, 1]);
          }
          const done = await post(stack, token, "day.done", {
            session_id: run.body.session_id,
            completion_time_min: 40,
            confidence: 7,
          });
          assert.equal(done.status, 200, JSON.stringify(done.body));
        }
      });

      await t.step(
        "the cache holds one pack per week agent, one row per day for socratic",
        async () => {
          const week = `intent:${intentId}:w1`;
          assert.deepEqual(await cacheKeys(stack, userId), {
            alex: [`intent:${intentId}`],
            clo: [week],
            socratic: [1, 2, 3, 4, 5, 6, 7].map((day) => `${week}:d${day}`),
            ta: [week],
          });
        },
      );

      await t.step("each day's plan shows that day's own focus from the pack", async () => {
        const [row] = await stack.sql<{ payload: { days: PackEntry[] } }[]>`
          select payload from wisely.agent_cache
          where user_id = ${userId} and agent = 'clo' and scope_key = ${`intent:${intentId}:w1`}
        `;
        const days = row.payload.days;
        assert.deepEqual(days.map((entry) => entry.day).sort(), [1, 2, 3, 4, 5, 6, 7]);
        for (const [index, plan] of plans.entries()) {
          const day = index + 1;
          const entry = days.find((candidate) => candidate.day === day)!;
          assert.equal(plan.plan_json_summary.title, entry.title, `day ${day}`);
          assert.match(plan.plan_md, new RegExp(`^# Daily Learning Plan — Week 1, Day ${day}\\n`));
          assert.ok(plan.plan_md.includes(`## Today's Focus: ${entry.title}`), `day ${day}`);
          const objectives = await planObjectives(stack, plan.session_id);
          assert.ok(objectives.includes(entry.objectives[0]), `day ${day}'s own objectives`);
        }
        assert.equal(new Set(plans.map((plan) => plan.plan_json_summary.title)).size, 7);
        // The bug of issue 9: day 2 carried day 1's focus.
        assert.match(plans[0].plan_json_summary.title, /orientation and key terms/);
        assert.match(plans[1].plan_json_summary.title, /how it works/);
        assert.ok(!plans[1].plan_md.includes("orientation and key terms"));
        assert.match(plans[1].plan_json_summary.description, /Week 1, day 2 of your informed path/);
      });

      await t.step("week 2 asks the pack agents again", async () => {
        const run = await post(stack, token, "day.run", { week: 2, day: 1 });
        assert.equal(run.status, 201, JSON.stringify(run.body));
        const seen = sources(run.body);
        assert.equal(seen.clo, "network");
        assert.equal(seen.ta, "network");
        assert.equal(seen.socratic, "network");
        assert.equal(seen.alex, "cache", "alex's answer covers the intent");
        assert.deepEqual(await allAgentCalls(stack), { clo: 2, alex: 1, ta: 2, socratic: 8 });
        assert.notEqual(run.body.plan_json_summary.title, plans[0].plan_json_summary.title);
        const keys = await cacheKeys(stack, userId);
        assert.deepEqual(keys.clo, [`intent:${intentId}:w1`, `intent:${intentId}:w2`]);
      });
    } finally {
      await stack.stop();
    }
  });
}
