/** `GET metrics`: service role only, JSON and Prometheus text, numbers that match the call log. */
import assert from "node:assert/strict";
import { MetricsResponse } from "../../supabase/functions/_shared/responses.ts";
import { startTestStack, testBackends } from "../support/stack.ts";

const INTENT = {
  topic: "Compilers",
  depth: "deep",
  end_goal: "Write a small compiler",
  time_per_day_min: 40,
};

for (const backend of testBackends()) {
  Deno.test(`[${backend}] metrics reflect the agent call log`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      const user = await stack.createUser();
      const userToken = await stack.userToken(user);
      const serviceToken = await stack.serviceToken();
      const call = (route: string, token: string, init: RequestInit = {}) =>
        fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, ...init.headers },
        });
      const post = async (route: string, body: unknown) => {
        const response = await call(route, userToken, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        assert.ok(response.ok, `${route}: ${response.status}`);
        return await response.json();
      };
      await post("intent.sync", INTENT);
      await post("day.run", { week: 1, day: 1 }); // 4 fetched
      // Day 2: all four hits, from day 1's week packs (clo, ta, socratic) and alex's intent answer.
      await post("day.run", { week: 1, day: 2 });

      await t.step("JSON: per agent calls, outcomes, latency and hit ratio", async () => {
        const response = await call("metrics", serviceToken);
        assert.equal(response.status, 200);
        const body = await response.json();
        MetricsResponse.parse(body);
        assert.equal(body.window_s, 3600);
        assert.deepEqual(body.agents[0].isolate, {
          breaker: "closed",
          in_flight: 0,
          retry_budget: 10,
        });
        const byAgent = Object.fromEntries(
          body.agents.map((a: { agent: string }) => [a.agent, a]),
        );
        assert.deepEqual(Object.keys(byAgent).sort(), ["alex", "clo", "socratic", "ta"]);
        assert.equal(byAgent.clo.calls, 2);
        assert.deepEqual(byAgent.clo.outcomes, {
          hit: 1,
          revalidated: 0,
          fetched: 1,
          stale: 0,
          unavailable: 0,
        });
        assert.equal(byAgent.clo.cache_hit_ratio, 0.5);
        assert.equal(byAgent.clo.attempts, 1);
        assert.equal(typeof byAgent.clo.latency_ms.p50, "number");
        assert.equal(byAgent.ta.outcomes.fetched, 1);
        assert.equal(byAgent.ta.outcomes.hit, 1);
        assert.equal(byAgent.ta.cache_hit_ratio, 0.5);
      });

      await t.step("Prometheus text format", async () => {
        const response = await call("metrics?window=600", serviceToken, {
          headers: { accept: "text/plain" },
        });
        assert.equal(response.status, 200);
        assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
        const text = await response.text();
        assert.match(text, /^# HELP wisely_agent_calls /m);
        assert.match(text, /^# TYPE wisely_agent_calls gauge$/m);
        assert.match(text, /^wisely_agent_calls\{agent="clo",outcome="hit"\} 1$/m);
        assert.match(text, /^wisely_agent_cache_hit_ratio\{agent="alex"\} 0\.5$/m);
        for (const line of text.trim().split("\n")) {
          assert.match(line, /^(# (HELP|TYPE) .+|[a-z_]+\{[^}]*\} (-?[0-9.]+|NaN))$/, line);
        }
      });

      await t.step("users are 403, anon 401, a bad window 400", async () => {
        const asUser = await call("metrics", userToken);
        assert.equal(asUser.status, 403);
        assert.equal((await asUser.json()).code, "FORBIDDEN");
        const asAnon = await call("metrics", await stack.anonToken());
        assert.equal(asAnon.status, 401);
        await asAnon.body?.cancel();
        const badWindow = await call("metrics?window=5", serviceToken);
        assert.equal(badWindow.status, 400);
        assert.equal((await badWindow.json()).code, "INVALID_REQUEST");
      });
    } finally {
      await stack.stop();
    }
  });
}
