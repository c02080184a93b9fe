/**
 * The replay of learning days (spec 10): every learner runs learning day 1, then day 2, … (flow.ts)
 * and between two days the cache is aged 24 h (every `wisely.agent_cache` timestamp of the
 * replay's users moved back, as the superuser), so freshness windows expire as over real days and
 * revalidation (`If-None-Match` → 304) runs. Hit rate = Σ cache_hits / Σ (cache_hits +
 * cache_misses) over the day.run answers.
 */
import type postgres from "postgres";
import { isOk, type OrchestratorClient } from "../../test/support/orchestrator_client.ts";
import type { TestUser } from "../../test/support/users.ts";
import { flowErrors, runFlow } from "./flow.ts";

/** The signal sources that count as a cache hit. */
export const HIT_SOURCES = new Set(["cache", "revalidated", "stale"]);

export interface ReplayResult {
  hits: number;
  misses: number;
  /** hits / (hits + misses); NaN when nothing ran. */
  hitRate: number;
  /** Per agent: answers by signal source (cache, revalidated, stale, network, fallback). */
  byAgent: Map<string, Map<string, number>>;
  /** Non-2xx answers on any route. */
  errors: number;
}

/** `days` learning days of `users`, `concurrency` at a time, the cache aged 24 h between days. */
export async function runReplay(
  api: OrchestratorClient,
  admin: postgres.Sql,
  users: readonly TestUser[],
  options: { days: number; concurrency: number; log: (line: string) => void },
): Promise<ReplayResult> {
  const result: ReplayResult = { hits: 0, misses: 0, hitRate: NaN, byAgent: new Map(), errors: 0 };
  const ids = users.map((user) => user.id);
  for (let n = 1; n <= options.days; n++) {
    if (n > 1) {
      await admin`
        update wisely.agent_cache
        set fetched_at = fetched_at - interval '24 hours',
            validated_at = validated_at - interval '24 hours'
        where user_id = any(${ids}::uuid[])
      `;
    }
    const { concurrency } = options;
    const day = await runFlow(api, users, { days: [n], concurrency, syncIntent: () => n === 1 });
    for (const { result: answer } of day.runs) if (isOk(answer)) countSignals(result, answer.body);
    result.errors += flowErrors(day);
    options.log(`replay: day ${n} of ${options.days} (${users.length} users)`);
  }
  result.hitRate = result.hits / (result.hits + result.misses);
  return result;
}

// deno-lint-ignore no-explicit-any
function countSignals(result: ReplayResult, body: any): void {
  result.hits += Number(body.cache_hits ?? 0);
  result.misses += Number(body.cache_misses ?? 0);
  for (const [agent, quality] of Object.entries(body.signal_quality ?? {})) {
    const source = String((quality as { source?: unknown }).source ?? "?");
    const counts = result.byAgent.get(agent) ?? new Map<string, number>();
    counts.set(source, (counts.get(source) ?? 0) + 1);
    result.byAgent.set(agent, counts);
  }
}

/** One line per agent: its hit rate and its answers by source. */
export function agentLines(result: ReplayResult): string[] {
  return [...result.byAgent].map(([agent, counts]) => {
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const hits = [...counts].filter(([s]) => HIT_SOURCES.has(s)).reduce((a, [, n]) => a + n, 0);
    const sources = [...counts].sort(([a], [b]) => a.localeCompare(b))
      .map(([source, n]) => `${source} ${n}`).join(", ");
    return `${agent} ${(100 * hits / total).toFixed(1)} % hits (${hits}/${total}: ${sources})`;
  });
}
