/**
 * What the agent client hands to the planner for one agent: the data (or none) and how it was
 * obtained. The degraded outcome is part of the type: `data` is null exactly when
 * `available` is false.
 */
import type { AgentDataMap, AgentName } from "./protocol.ts";

/**
 * Where a signal came from:
 * - `cache`: fresh cached payload, no call made (hit)
 * - `revalidated`: agent answered 304 to If-None-Match (hit, freshness renewed)
 * - `network`: agent answered 200 with a new payload (miss)
 * - `stale`: the call failed; a cached payload within the stale window was served (hit)
 * - `fallback`: the call failed and nothing usable was cached (miss, degraded)
 */
export type SignalSource = "cache" | "revalidated" | "network" | "stale" | "fallback";

interface SignalBase<N extends AgentName> {
  agent: N;
  latency_ms: number;
  /** HTTP attempts made (0 when served from cache without a call). */
  attempts: number;
  /** Last HTTP status seen, if any. */
  status: number | null;
  /** Machine-readable reason of a failed call (e.g. `timeout`, `http_503`, `invalid_payload`). */
  error_code: string | null;
}

export interface AvailableSignal<N extends AgentName> extends SignalBase<N> {
  source: "cache" | "revalidated" | "network" | "stale";
  available: true;
  /** False only for `stale`. */
  fresh: boolean;
  data: AgentDataMap[N];
}

export interface UnavailableSignal<N extends AgentName> extends SignalBase<N> {
  source: "fallback";
  available: false;
  fresh: false;
  data: null;
}

export type AgentSignal<N extends AgentName = AgentName> =
  | AvailableSignal<N>
  | UnavailableSignal<N>;

/** One signal per enabled agent. A disabled agent is absent. */
export type Signals = { [N in AgentName]?: AgentSignal<N> };

/** True when the signal was answered from the cache (fresh, revalidated or stale). */
export function isCacheHit(signal: AgentSignal): boolean {
  return signal.source === "cache" || signal.source === "revalidated" ||
    signal.source === "stale";
}
