/**
 * Cache decisions (spec 6.3), as pure functions: how usable a cached agent answer is, and the
 * writes the caller persists to `wisely.agent_cache` after a fan-out. No I/O here.
 */
import type { AgentDataMap, AgentName } from "./protocol.ts";

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
 * - `store`: a 200 answer: upsert payload and ETag, `fetched_at = validated_at = now()`.
 * - `revalidate`: a 304 answer: keep the payload, set `validated_at = now()` (and the ETag).
 */
export type CacheWrite =
  | {
    kind: "store";
    agent: AgentName;
    scopeKey: string;
    etag: string | null;
    /** The agent's `data`, already validated against its schema. */
    payload: AgentDataMap[AgentName];
  }
  | { kind: "revalidate"; agent: AgentName; scopeKey: string; etag: string | null };
