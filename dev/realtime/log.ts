/**
 * Log entries of the local Realtime, named with Realtime's error codes
 * (`MalformedWebSocketMessage`, `Unauthorized`, `UnableToBroadcastChanges`, …). `info` is what
 * a client did wrong (Realtime logs those at info level or only with `log_level=info`);
 * `error` is the server's own trouble (the database, delivery).
 */

export interface RealtimeLogEntry {
  level: "info" | "error";
  code: string;
  message: string;
  /** The channel name, when the entry is about one. */
  topic?: string;
}

export type RealtimeLog = (entry: RealtimeLogEntry) => void;

/** The default: errors only, one JSON line on stderr, as the stack's other services log. */
export const defaultRealtimeLog: RealtimeLog = (entry) => {
  if (entry.level !== "error") return;
  const { level, ...rest } = entry;
  console.error(JSON.stringify({
    level,
    timestamp: new Date().toISOString(),
    service: "realtime",
    ...rest,
  }));
};

/** Describes a caught error without its stack. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
