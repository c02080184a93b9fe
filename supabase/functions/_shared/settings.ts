/**
 * Tunables from `wisely.settings`, each validated, with a safe built-in default when the row is
 * missing or malformed (spec 3). A bad row never breaks a request.
 */
import { z } from "zod";
import type { Tx } from "./db.ts";

const positiveInt = z.int().positive();
const TokenBucket = z.object({ burst: z.number().positive(), refill_per_s: z.number().positive() });
export type TokenBucketSetting = z.infer<typeof TokenBucket>;

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
    deadlineMs: read(raw, "run.deadline_ms", positiveInt.max(120_000), 12_000),
    /** day.run answer deadline with `research`. */
    researchDeadlineMs: read(raw, "run.research_deadline_ms", positiveInt.max(300_000), 30_000),
    /** Ceiling of one agent attempt. */
    attemptTimeoutMs: read(raw, "agent.attempt_timeout_ms", positiveInt.max(120_000), 15_000),
    /** A cached payload is served stale up to this many freshness windows. */
    staleFactor: read(raw, "agent.stale_factor", z.number().min(1).max(100), 7),
    maxRetries: read(raw, "agent.max_retries", z.int().min(0).max(10), 3),
    backoffBaseMs: read(raw, "agent.backoff_base_ms", positiveInt.max(60_000), 1_000),
    breakerThreshold: read(raw, "agent.breaker_threshold", positiveInt.max(1000), 5),
    breakerOpenMs: read(raw, "agent.breaker_open_ms", positiveInt.max(3_600_000), 30_000),
    dayRunRate: read(raw, "rate.day_run", TokenBucket, { burst: 10, refill_per_s: 1 / 30 }),
    defaultRate: read(raw, "rate.default", TokenBucket, { burst: 60, refill_per_s: 1 }),
    tickBatchSize: read(raw, "tick.batch_size", positiveInt.max(10_000), 100),
    /** How long day.tick waits for its batch before answering 202 (the rest in background). */
    tickAnswerWithinMs: read(raw, "tick.answer_within_ms", z.int().min(0).max(60_000), 3_000),
    /** No tick run starts after this long, so a batch ends within the function's wall clock. */
    tickTimeBudgetMs: read(raw, "tick.time_budget_ms", positiveInt.max(380_000), 100_000),
  };
}

export type Settings = ReturnType<typeof parseSettings>;

export async function loadSettings(tx: Tx): Promise<Settings> {
  return parseSettings(
    await tx<{ key: string; value: unknown }[]>`
    select key, value from wisely.settings
  `,
  );
}
