/**
 * `GET metrics` (service role, spec 5.7): per agent over a window, calls by outcome, p50/p95
 * latency of calls that reached the agent, and the cache hit ratio, from `wisely.agent_calls`.
 * `Accept: text/plain` gives the Prometheus text exposition format.
 */
import { z } from "zod";
import type { CallOutcome } from "../../_shared/agents/client.ts";
import type { AgentPolicies } from "../../_shared/agents/policies.ts";
import { AgentNameSchema } from "../../_shared/agents/protocol.ts";
import { asService, type Sql } from "../../_shared/db.ts";
import type { Route } from "../../_shared/http/app.ts";
import { readQuery } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import { AgentMetricsSchema, CALL_OUTCOMES } from "../../_shared/responses.ts";

const MetricsQuery = z.strictObject({
  /** Seconds to look back. Default one hour, at most a week. */
  window: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(3600),
});

/** A row of the query below: a count column per outcome, named as the outcome. */
interface AgentMetricsRow extends Record<CallOutcome, number> {
  agent: string;
  enabled: boolean;
  calls: number;
  attempts: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

/** One agent's line of the answer (its fields are documented on the schema). */
export type AgentMetrics = z.infer<typeof AgentMetricsSchema>;

function toMetrics(row: AgentMetricsRow, policies?: AgentPolicies): AgentMetrics {
  const hits = row.hit + row.revalidated + row.stale;
  const round = (value: number | null) => value === null ? null : Math.round(Number(value));
  return {
    agent: row.agent,
    enabled: row.enabled,
    calls: row.calls,
    outcomes: {
      hit: row.hit,
      revalidated: row.revalidated,
      fetched: row.fetched,
      stale: row.stale,
      unavailable: row.unavailable,
    },
    attempts: row.attempts,
    latency_ms: { p50: round(row.p50_ms), p95: round(row.p95_ms) },
    cache_hit_ratio: row.calls === 0 ? null : Math.round((hits / row.calls) * 1000) / 1000,
    isolate: isolateState(row.agent, policies),
  };
}

function isolateState(agent: string, policies?: AgentPolicies): AgentMetrics["isolate"] {
  const name = AgentNameSchema.safeParse(agent);
  if (!policies || !name.success) return null;
  const state = policies.snapshot()[name.data];
  return {
    breaker: state.breaker,
    in_flight: state.inFlight,
    retry_budget: Math.round(state.budgetTokens * 100) / 100,
  };
}

/** Prometheus text format 0.0.4. Label values are agent names (`^[a-z][a-z0-9_-]*$`). */
export function toPrometheus(agents: AgentMetrics[], windowS: number): string {
  const lines: string[] = [];
  const family = (name: string, help: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
  };
  family("wisely_agent_calls", `Agent calls in the last ${windowS} s, by outcome.`);
  for (const a of agents) {
    for (const outcome of CALL_OUTCOMES) {
      lines.push(
        `wisely_agent_calls{agent="${a.agent}",outcome="${outcome}"} ${a.outcomes[outcome]}`,
      );
    }
  }
  family("wisely_agent_attempts", `HTTP attempts to agents in the last ${windowS} s.`);
  for (const a of agents) lines.push(`wisely_agent_attempts{agent="${a.agent}"} ${a.attempts}`);
  family("wisely_agent_latency_ms", "Latency of agent calls that reached the agent.");
  for (const a of agents) {
    for (const [quantile, value] of [["0.5", a.latency_ms.p50], ["0.95", a.latency_ms.p95]]) {
      lines.push(
        `wisely_agent_latency_ms{agent="${a.agent}",quantile="${quantile}"} ${value ?? "NaN"}`,
      );
    }
  }
  family("wisely_agent_cache_hit_ratio", "Share of agent calls answered from the cache.");
  for (const a of agents) {
    lines.push(`wisely_agent_cache_hit_ratio{agent="${a.agent}"} ${a.cache_hit_ratio ?? "NaN"}`);
  }
  family("wisely_agent_breaker_open", "1 when this isolate's circuit breaker skips the agent.");
  for (const a of agents) {
    if (a.isolate) {
      lines.push(
        `wisely_agent_breaker_open{agent="${a.agent}"} ${a.isolate.breaker === "open" ? 1 : 0}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

export function metricsRoute(sql: Sql, policies?: AgentPolicies): Route {
  return {
    method: "GET",
    path: "metrics",
    auth: "service",
    async handle({ req, url }) {
      const { window } = readQuery(url, MetricsQuery);
      const rows = await asService(sql, (tx) =>
        tx<AgentMetricsRow[]>`
          select a.name as agent, a.enabled,
            count(c.agent)::int as calls,
            count(c.agent) filter (where c.outcome = 'hit')::int as hit,
            count(c.agent) filter (where c.outcome = 'revalidated')::int as revalidated,
            count(c.agent) filter (where c.outcome = 'fetched')::int as fetched,
            count(c.agent) filter (where c.outcome = 'stale')::int as stale,
            count(c.agent) filter (where c.outcome = 'unavailable')::int as unavailable,
            coalesce(sum(c.attempts), 0)::int as attempts,
            percentile_cont(0.5) within group (order by c.latency_ms)
              filter (where c.attempts > 0) as p50_ms,
            percentile_cont(0.95) within group (order by c.latency_ms)
              filter (where c.attempts > 0) as p95_ms
          from wisely.agents a
          left join wisely.agent_calls c
            on c.agent = a.name and c.created_at >= now() - make_interval(secs => ${window})
          group by a.name, a.enabled, a.sort_order
          order by a.sort_order, a.name
        `);
      const agents = rows.map((row) => toMetrics(row, policies));
      if ((req.headers.get("accept") ?? "").includes("text/plain")) {
        return new Response(toPrometheus(agents, window), {
          headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      }
      return json({ window_s: window, generated_at: new Date().toISOString(), agents });
    },
  };
}
