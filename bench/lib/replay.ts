/**
 * The replay of learning days (spec 10): every learner runs learning day 1, then day 2, … (flow.ts)
 * and between two days the cache is aged 24 h (every `wisely.agent_cache` timestamp of the
 * replay's users moved back, as the superuser), so freshness windows expire as over real days and
 * revalidation (`If-None-Match` → 304) runs. Hit rate = Σ cache_hits / Σ (cache_hits +
 * cache_misses) over the day.run answers.
 */
import { DayRunAnswer, HIT_SOURCES } from "../../test/support/integrity.ts";
import { isOk } from "../../test/support/orchestrator_client.ts";
import type { ServedStack } from "../../test/support/served_stack.ts";
import type { TestUser } from "../../test/support/users.ts";
import { runFlow } from "./flow.ts";
import { countBy, fmtPct } from "./stats.ts";

type Tally = { hits: number; misses: number; errors: number; byAgent: Map<string, string[]> };

/** `days` learning days of `users`, `concurrency` at a time, the cache aged 24 h between days. */
export async function runReplay(
  served: Pick<ServedStack, "api" | "cluster">,
  users: readonly TestUser[],
  options: { days: number; concurrency: number; log: (line: string) => void },
) {
  const [ids, { concurrency }] = [users.map((user) => user.id), options];
  const tally: Tally = { hits: 0, misses: 0, errors: 0, byAgent: new Map() };
  for (let n = 1; n <= options.days; n++) {
    if (n > 1) {
      await served.cluster.admin`
        update wisely.agent_cache set fetched_at = fetched_at - interval '24 hours',
          validated_at = validated_at - interval '24 hours' where user_id = any(${ids}::uuid[])
      `;
    }
    // Day 1 is each learner's first: only then is the intent synced.
    const syncIntent = () => n === 1;
    const day = await runFlow(served.api, users, { days: [n], concurrency, syncIntent });
    tally.errors += day.errors;
    for (const { result } of day.runs) if (isOk(result)) count(tally, result.body);
    options.log(`replay: day ${n} of ${options.days} (${users.length} users)`);
  }
  return { ...tally, hitRate: tally.hits / (tally.hits + tally.misses) };
}

/** Adds a 2xx day.run answer's hits, misses and sources; one not of the contract is an error. */
function count(tally: Tally, body: unknown) {
  const parsed = DayRunAnswer.safeParse(body);
  if (!parsed.success) return tally.errors++;
  tally.hits += parsed.data.cache_hits;
  tally.misses += parsed.data.cache_misses;
  for (const [agent, quality] of Object.entries(parsed.data.signal_quality)) {
    if (!tally.byAgent.has(agent)) tally.byAgent.set(agent, []);
    tally.byAgent.get(agent)!.push(quality?.source ?? "?");
  }
}

/** One line per agent: its hit rate and its answers by source (`sources`: one per answer). */
export function agentLines(byAgent: Map<string, string[]>): string[] {
  return [...byAgent].map(([agent, sources]) => {
    const hits = sources.filter((s) => HIT_SOURCES.has(s)).length;
    const counts = [...countBy(sources)].sort(([a], [b]) => a.localeCompare(b));
    const text = `${hits}/${sources.length}: ${counts.map(([s, n]) => `${s} ${n}`).join(", ")}`;
    return `${agent} ${fmtPct(hits / sources.length)} hits (${text})`;
  });
}
