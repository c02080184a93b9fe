/**
 * The replay of learning days (spec 10): `users` learners each sync an intent, then day after
 * day run the day, complete it and read their status (flow.ts). Between two learning days the
 * cache is aged 24 h (every `wisely.agent_cache` timestamp of the replay's users moved back, as
 * the superuser), so freshness windows expire as over real days and revalidation
 * (`If-None-Match` → 304) runs. Hit rate = Σ cache_hits / Σ (cache_hits + cache_misses) over
 * the day.run answers.
 */
import type postgres from "postgres";
import { emptyAcknowledged } from "../../test/support/integrity.ts";
import { isOk, type OrchestratorClient } from "../../test/support/orchestrator_client.ts";
import type { TestUser } from "../../test/support/users.ts";
import { routeRecorders, runLearner } from "./flow.ts";
import { mapConcurrent } from "./runner.ts";

export interface ReplayOptions {
  api: OrchestratorClient;
  /** Superuser pool: ages the cache between days. */
  admin: postgres.Sql;
  users: readonly TestUser[];
  /** Learning days per user (8 = week 2, day 1). */
  days: number;
  /** Users running their day at once. */
  concurrency: number;
  /** Hours the cache is aged between two learning days. @default 24 */
  ageHours?: number;
  /** Progress lines. @default none */
  log?: (line: string) => void;
}

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

const HIT_SOURCES = new Set(["cache", "revalidated", "stale"]);

/** Runs the replay: learning day by learning day, all users, then the cache ages. */
export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const result: ReplayResult = { hits: 0, misses: 0, hitRate: NaN, byAgent: new Map(), errors: 0 };
  const recorders = routeRecorders();
  for (let n = 1; n <= options.days; n++) {
    if (n > 1) await ageCache(options.admin, options.users, options.ageHours ?? 24);
    await mapConcurrent(options.users, options.concurrency, (user) =>
      runLearner({
        api: options.api,
        token: user.token,
        days: [n],
        syncIntent: n === 1,
        timeoutMs: 60_000,
        recorders,
        ack: emptyAcknowledged(),
        onCall: (route, call) =>
          route === "day.run" && isOk(call) && countSignals(result, call.body),
      }));
    options.log?.(`replay: day ${n} of ${options.days} (${options.users.length} users)`);
  }
  result.errors = [...recorders.values()].reduce((sum, r) => sum + r.errors(), 0);
  result.hitRate = result.hits / (result.hits + result.misses);
  return result;
}

/** Moves every cache timestamp of `users` back by `hours`: a day passes for the cache. */
export async function ageCache(
  admin: postgres.Sql,
  users: readonly TestUser[],
  hours: number,
): Promise<void> {
  const ids = users.map((user) => user.id);
  await admin`
    update wisely.agent_cache
    set fetched_at = fetched_at - make_interval(hours => ${hours}),
        validated_at = validated_at - make_interval(hours => ${hours})
    where user_id = any(${ids}::uuid[])
  `;
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
