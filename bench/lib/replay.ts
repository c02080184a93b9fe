/**
 * The replay of learning days (spec 10, issue 9 item 7): `users` learners each sync an intent,
 * then day after day run the day, complete it and read their status. Between two learning days
 * the cache is aged 24 h (every `wisely.agent_cache` timestamp of the replay's users moved back,
 * as the superuser), so freshness windows expire as they would over real days and revalidation
 * (`If-None-Match` → 304) runs. Hit rate = Σ cache_hits / Σ (cache_hits + cache_misses) over
 * the day.run answers: what each answer covers (a week pack its week, an intent-wide answer
 * the intent) is what earns hits, not wider windows.
 */
import type postgres from "postgres";
import {
  type CallResult,
  dayDoneBody,
  INTENT_BODY,
  type OrchestratorClient,
  outcomeOf,
  weekDay,
} from "./client.ts";
import { mapConcurrent } from "./runner.ts";
import { LatencyRecorder } from "./stats.ts";
import { AGENTS, type BenchUser } from "./world.ts";

export interface ReplayOptions {
  api: OrchestratorClient;
  /** Superuser pool: ages the cache between days. */
  admin: postgres.Sql;
  users: readonly BenchUser[];
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
  /** Per agent: answers that were hits (cache, revalidated, stale) and all answers. */
  agentHits: Map<string, { hits: number; total: number }>;
  routes: Map<string, LatencyRecorder>;
  requests: number;
  errors: number;
  seconds: number;
}

const HIT_SOURCES = new Set(["cache", "revalidated", "stale"]);
const ROUTES = ["intent.sync", "day.run", "day.done", "status"] as const;

/** Runs the replay; learning day by learning day, all users, then the cache ages. */
export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const { api, users, concurrency } = options;
  const result: ReplayResult = {
    hits: 0,
    misses: 0,
    hitRate: NaN,
    byAgent: new Map(AGENTS.map((agent) => [agent, new Map()])),
    agentHits: new Map(AGENTS.map((agent) => [agent, { hits: 0, total: 0 }])),
    routes: new Map(ROUTES.map((route) => [route, new LatencyRecorder()])),
    requests: 0,
    errors: 0,
    seconds: 0,
  };
  const record = (route: (typeof ROUTES)[number], call: CallResult) => {
    const rec = result.routes.get(route)!;
    rec.count(outcomeOf(call));
    result.requests++;
    if (call.status >= 200 && call.status < 300) rec.add(call.ms);
    else result.errors++;
  };
  const started = performance.now();
  await mapConcurrent(users, concurrency, async (user) => {
    record("intent.sync", await api.call(user.token, "POST", "intent.sync", INTENT_BODY));
  });
  for (let n = 1; n <= options.days; n++) {
    if (n > 1) await ageCache(options.admin, users, options.ageHours ?? 24);
    await mapConcurrent(users, concurrency, async (user) => {
      const run = await api.call(user.token, "POST", "day.run", weekDay(n));
      record("day.run", run);
      if (run.status !== 201 && run.status !== 200) return;
      countSignals(result, run.body);
      record(
        "day.done",
        await api.call(user.token, "POST", "day.done", dayDoneBody(run.body.session_id, n)),
      );
      record("status", await api.call(user.token, "GET", "status"));
    });
    options.log?.(`replay: day ${n} of ${options.days} (${users.length} users)`);
  }
  result.seconds = (performance.now() - started) / 1000;
  result.hitRate = result.hits / (result.hits + result.misses);
  return result;
}

/** Moves every cache timestamp of `users` back by `hours`: a day passes for the cache. */
export async function ageCache(
  admin: postgres.Sql,
  users: readonly BenchUser[],
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
    const tally = result.agentHits.get(agent) ?? { hits: 0, total: 0 };
    tally.total++;
    if (HIT_SOURCES.has(source)) tally.hits++;
    result.agentHits.set(agent, tally);
  }
}

/** One line per agent: its hit rate and its answers by source. */
export function agentLines(result: ReplayResult): string[] {
  return [...result.byAgent].map(([agent, counts]) => {
    const tally = result.agentHits.get(agent) ?? { hits: 0, total: 0 };
    const rate = tally.total ? `${((100 * tally.hits) / tally.total).toFixed(1)} %` : "—";
    const sources = [...counts].sort(([a], [b]) => a.localeCompare(b))
      .map(([source, n]) => `${source} ${n}`).join(", ");
    return `${agent} ${rate} hits (${tally.hits}/${tally.total}: ${sources})`;
  });
}
