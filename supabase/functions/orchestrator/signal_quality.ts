/** `signal_quality` of a day.run answer (spec 5.4): per agent, how its signal was obtained. */
import type { Signals } from "../_shared/agents/signal.ts";
import type { SignalQualityEntry } from "./sessions.ts";

export function signalQuality(signals: Signals): Record<string, SignalQualityEntry> {
  const quality: Record<string, SignalQualityEntry> = {};
  for (const signal of Object.values(signals)) {
    if (!signal) continue;
    quality[signal.agent] = {
      available: signal.available,
      fresh: signal.fresh,
      source: signal.source,
      latency_ms: Math.round(signal.latency_ms),
      attempts: signal.attempts,
    };
  }
  return quality;
}
