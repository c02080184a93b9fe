/**
 * Cache decisions (spec 6.3), as pure functions: which cached answer may serve a day (spec 6.1:
 * only one that covers it), how usable it is, and the writes the caller persists to
 * `wisely.agent_cache` after a fan-out. No I/O here.
 */
import { z } from "zod";
import { type Answer, answerForDay, parseData, parsePackData } from "./payload.ts";
import type { AgentDataMap, AgentName, WeekPack } from "./protocol.ts";
import type { AgentConfig } from "./registry.ts";
import { type Coverage, servingKeys } from "./scope.ts";

/** One `wisely.agent_cache` row. */
export interface CacheEntry {
  agent: AgentName;
  scopeKey: string;
  etag: string | null;
  /** The cached `data`; validated against the agent's schema before it is served. */
  payload: unknown;
  fetchedAt: Date;
  /** When the payload was last confirmed current (stored or revalidated by a 304). */
  validatedAt: Date;
}

/**
 * - `fresh`: within the freshness window and no forced refresh: serve it without a call.
 * - `stale-usable`: call the agent, but serve this entry (stale) if the call fails. With
 *   `forceRefresh`, an entry still within its freshness window is reported here too.
 * - `expired`: older than the stale window: call the agent; its ETag may still revalidate it,
 *   but it is not served when the call fails.
 * - `none`: no entry.
 */
export type CacheClass = "fresh" | "stale-usable" | "expired" | "none";

export interface ClassifyOptions {
  /** Current time, epoch milliseconds. */
  now: number;
  /** The agent's freshness window, seconds. */
  freshnessS: number;
  /** The stale window is `staleFactor × freshnessS` (spec: 7; values below 1 count as 1). */
  staleFactor: number;
  /** True for `force_refresh`: nothing is fresh enough to skip the call. */
  forceRefresh: boolean;
}

/** Classifies an entry by the age of its last validation. A future `validatedAt` counts as age 0. */
export function classify(
  entry: CacheEntry | null | undefined,
  options: ClassifyOptions,
): CacheClass {
  if (!entry) return "none";
  const ageMs = Math.max(0, options.now - entry.validatedAt.getTime());
  const freshMs = options.freshnessS * 1000;
  if (ageMs < freshMs && !options.forceRefresh) return "fresh";
  if (ageMs < freshMs * Math.max(1, options.staleFactor)) return "stale-usable";
  return "expired";
}

/** Whether a failed call may fall back to an entry of this class. */
export function servesOnFailure(cacheClass: CacheClass): boolean {
  return cacheClass === "fresh" || cacheClass === "stale-usable";
}

/**
 * What to persist after a fan-out:
 * - `store`: a 200 answer: upsert payload and ETag, `fetched_at = validated_at = now()`, under
 *   the key of what the answer covers (a pack: intent + week; a single day: that day).
 * - `revalidate`: a 304 answer: keep the payload, set `validated_at = now()` (and the ETag) of
 *   the entry that was revalidated (for a pack: the one row every day of its week is served
 *   from, so all seven days are renewed at once).
 */
export type CacheWrite =
  | {
    kind: "store";
    agent: AgentName;
    scopeKey: string;
    etag: string | null;
    /** The agent's `data` (a single payload or a week pack), validated against its schema. */
    payload: AgentDataMap[AgentName] | WeekPack<AgentName>;
  }
  | { kind: "revalidate"; agent: AgentName; scopeKey: string; etag: string | null };

/** Where a run is: the intent, week and day whose cached answers may serve it. */
export interface RunPosition {
  intentId: string;
  week: number;
  day: number;
}

/** A cached answer that covers the run's day, validated, with that day's payload. */
export interface UsableEntry<N extends AgentName> {
  entry: CacheEntry;
  coverage: Coverage;
  /** The whole stored answer (what a 304 renews). */
  answer: Answer<N>;
  /** The run's day's payload: a pack's own entry for the day, else the answer itself. */
  data: AgentDataMap[N];
}

/**
 * `entry` validated for the run's day, or null when it is another agent's, under a key that
 * does not cover the day (another day's single answer, another week, another intent), or
 * fails its schema (a week key holds a pack; every other key a single payload).
 */
export function usableEntry<N extends AgentName>(
  name: N,
  agent: Pick<AgentConfig, "scope">,
  entry: CacheEntry | null | undefined,
  at: RunPosition,
): UsableEntry<N> | null {
  if (!entry || entry.agent !== name) return null;
  const serving = servingKeys(agent.scope, at.intentId, at.week, at.day)
    .find((candidate) => candidate.key === entry.scopeKey);
  if (!serving) return null;
  let answer: Answer<N>;
  if (serving.coverage === "week") {
    const pack = parsePackData[name](entry.payload);
    if (!pack.ok) return null;
    answer = { kind: "pack", pack: pack.data };
  } else {
    const single = parseData[name](entry.payload);
    if (!single.ok) return null;
    answer = { kind: "single", data: single.data };
  }
  const data = answerForDay(name, answer, at.day);
  return data === null ? null : { entry, coverage: serving.coverage, answer, data };
}

/** A `wisely.agent_cache` row as the database returns it. */
export interface CacheRow {
  agent: string;
  scope_key: string;
  etag: string | null;
  payload: unknown;
  fetched_at: Date;
  validated_at: Date;
}

const CacheRowsJson = z.array(z.object({
  agent: z.string(),
  scope_key: z.string(),
  etag: z.string().nullable(),
  payload: z.unknown(),
  // jsonb holds timestamps as ISO text.
  fetched_at: z.coerce.date(),
  validated_at: z.coerce.date(),
}));

/** Cache rows as one jsonb array (as `wisely.claim_day` reads them). */
export function cacheRowsFromJson(rows: unknown): CacheRow[] {
  return CacheRowsJson.parse(rows);
}

/**
 * The entry each agent's run is served from: among the rows that cover the run's day and
 * validate (a week pack, or that day's own single answer, or the intent's answer), the one
 * validated last (a pack on a tie). Rows for other days, weeks or agents are never picked.
 */
export function pickCacheEntries(
  agents: readonly AgentConfig[],
  rows: readonly CacheRow[],
  at: RunPosition,
): Map<AgentName, CacheEntry> {
  const picked = new Map<AgentName, CacheEntry>();
  for (const agent of agents) {
    let best: CacheEntry | null = null;
    for (const key of servingKeys(agent.scope, at.intentId, at.week, at.day)) {
      const row = rows.find((r) => r.agent === agent.name && r.scope_key === key.key);
      if (!row) continue;
      const entry: CacheEntry = {
        agent: agent.name,
        scopeKey: row.scope_key,
        etag: row.etag,
        payload: row.payload,
        fetchedAt: row.fetched_at,
        validatedAt: row.validated_at,
      };
      if (!usableEntry(agent.name, agent, entry, at)) continue;
      if (!best || entry.validatedAt.getTime() > best.validatedAt.getTime()) best = entry;
    }
    if (best) picked.set(agent.name, best);
  }
  return picked;
}
