/**
 * Go's time.ParseDuration, for the admin API's `ban_duration` ("24h", "1h30m", "876000h",
 * "none" handled by the caller): a sequence of decimal numbers, each with a unit.
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const MAX_MS = 9_223_372_036_854;
const PART = /([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds, or null when `text` is not a Go duration. */
export function parseGoDuration(text: string): number | null {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return null;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < rest.length) {
    const match = PART.exec(rest);
    if (!match || match[1] === "" || match[1] === ".") return null;
    total += Number(match[1]) * UNIT_MS[match[2]];
  }
  // Go's Duration is int64 nanoseconds: about 292 years either way.
  return total <= MAX_MS ? sign * total : null;
}
