/**
 * Tunables from `wisely.settings`, each validated, with a safe built-in default when the row is
 * missing or malformed (spec 3). A bad row never breaks a request.
 */
import { z } from "zod";
import type { Tx } from "./db.ts";

const positiveInt = z.int().positive();
const TokenBucket = z.object({ burst: z.number().positive(), refill_per_s: z.number().positive() });
export type TokenBucketSetting = z.infer<typeof TokenBucket>;

// Built once: every day.run reads the settings, and a schema made per call is built again then.
const upTo = {
  "60 s": positiveInt.max(60_000),
  "120 s": positiveInt.max(120_000),
  "300 s": positiveInt.max(300_000),
  "380 s": positiveInt.max(380_000),
  "1 h": positiveInt.max(3_600_000),
  "1000": positiveInt.max(1000),
  "10000": positiveInt.max(10_000),
};
const staleFactor = z.number().min(1).max(100);
const retries = z.int().min(0).max(10);
const answerWithin = z.int().min(0).max(60_000);

function read<T>(
  raw: ReadonlyMap<string, unknown>,
  key: string,
  schema: z.ZodType<T>,
  fallback: T,
) {
  const parsed = schema.safeParse(raw.get(key));
  return parsed.success ? parsed.data : fallback;
}

/** Merges raw `wisely.settings` rows over the built-in defaults, validating each value. */
export function parseSettings(rows: readonly { key: string; value: unknown }[]) {
  const raw = new Map(rows.map((row) => [row.key, row.value]));
  return {
    /** day.run answer deadline. */
    deadlineMs: read(raw, "run.deadline_ms", upTo["120 s"], 12_000),
    /** day.run answer deadline with `research`. */
    researchDeadlineMs: read(raw, "run.research_deadline_ms", upTo["300 s"], 30_000),
    /** Ceiling of one agent attempt. */
    attemptTimeoutMs: read(raw, "agent.attempt_timeout_ms", upTo["120 s"], 15_000),
    /** A cached payload is served stale up to this many freshness windows. */
    staleFactor: read(raw, "agent.stale_factor", staleFactor, 7),
    maxRetries: read(raw, "agent.max_retries", retries, 3),
    backoffBaseMs: read(raw, "agent.backoff_base_ms", upTo["60 s"], 1_000),
    breakerThreshold: read(raw, "agent.breaker_threshold", upTo["1000"], 5),
    breakerOpenMs: read(raw, "agent.breaker_open_ms", upTo["1 h"], 30_000),
    dayRunRate: read(raw, "rate.day_run", TokenBucket, { burst: 10, refill_per_s: 1 / 30 }),
    defaultRate: read(raw, "rate.default", TokenBucket, { burst: 60, refill_per_s: 1 }),
    tickBatchSize: read(raw, "tick.batch_size", upTo["10000"], 100),
    /** How long day.tick waits for its batch before answering 202 (the rest in background). */
    tickAnswerWithinMs: read(raw, "tick.answer_within_ms", answerWithin, 3_000),
    /** No tick run starts after this long, so a batch ends within the function's wall clock. */
    tickTimeBudgetMs: read(raw, "tick.time_budget_ms", upTo["380 s"], 100_000),
  };
}

export type Settings = ReturnType<typeof parseSettings>;

const SettingRows = z.array(z.object({ key: z.string(), value: z.unknown() }));

/** Settings from `wisely.settings` rows as one jsonb array (as `wisely.claim_day` reads them). */
export function settingsFromRows(rows: unknown): Settings {
  return parseSettings(SettingRows.parse(rows));
}

/** Reads and parses the settings; the statement is handed to the connection when called. */
export async function loadSettings(tx: Tx): Promise<Settings> {
  return parseSettings(
    await tx<{ key: string; value: unknown }[]>`select key, value from wisely.settings`.execute(),
  );
}
