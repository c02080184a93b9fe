/**
 * Structured logs: one JSON object per line. Fields are ids, counts and flags only; never text
 * a user wrote (topics, goals, notes), so logs can be shipped anywhere.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The fields a request log line may carry (spec 9). */
export interface LogFields {
  route?: string;
  user_id?: string | null;
  execution_time_ms?: number;
  status?: number;
  cache_hits?: number;
  cache_misses?: number;
  degraded_mode?: boolean;
  trace_id?: string;
  code?: string;
  error_name?: string;
  [key: string]: string | number | boolean | null | undefined;
}

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  /** The function name written in every line. */
  functionName: string;
  /** Lowest level written. Default "info". */
  level?: LogLevel;
  /** Where lines go. Default `console.log`. */
  sink?: (line: string) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  const minRank = LEVEL_RANK[options.level ?? "info"];
  const sink = options.sink ?? ((line: string) => console.log(line));
  const write = (level: LogLevel) => (event: string, fields: LogFields = {}) => {
    if (LEVEL_RANK[level] < minRank) return;
    sink(JSON.stringify({
      level,
      timestamp: new Date().toISOString(),
      function: options.functionName,
      event,
      ...fields,
    }));
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** A logger that writes nothing, for tests that assert on other things. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
