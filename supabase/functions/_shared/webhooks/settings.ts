/**
 * The webhook tunables in `wisely.settings` (seeded by migration 20260101001000), each
 * validated with a built-in default when the row is missing or malformed, as _shared/settings.ts
 * does for the others. Tests shorten the schedule through these rows; production keeps the
 * defaults.
 */
import { z } from "zod";
import type { Tx } from "../db.ts";
import { DEFAULT_DISABLE_AFTER_S, DEFAULT_RETRY_SCHEDULE_S } from "./schedule.ts";

export interface WebhookSettings {
  /** `webhook.retry_schedule_s`. @default DEFAULT_RETRY_SCHEDULE_S */
  retryScheduleS: readonly number[];
  /** `webhook.disable_after_s`. @default DEFAULT_DISABLE_AFTER_S (3 days) */
  disableAfterS: number;
  /** `webhook.attempt_timeout_ms`. @default 10_000 */
  attemptTimeoutMs: number;
}

const Schedule = z.array(z.number().min(0).max(7 * 24 * 3600)).min(0).max(20);
const DisableAfter = z.number().min(0).max(365 * 24 * 3600);
const AttemptTimeout = z.int().min(100).max(120_000);

function read<T>(raw: Map<string, unknown>, key: string, schema: z.ZodType<T>, fallback: T): T {
  const parsed = schema.safeParse(raw.get(key));
  return parsed.success ? parsed.data : fallback;
}

export function parseWebhookSettings(rows: readonly { key: string; value: unknown }[]) {
  const raw = new Map(rows.map((row) => [row.key, row.value]));
  return {
    retryScheduleS: read(raw, "webhook.retry_schedule_s", Schedule, DEFAULT_RETRY_SCHEDULE_S),
    disableAfterS: read(raw, "webhook.disable_after_s", DisableAfter, DEFAULT_DISABLE_AFTER_S),
    attemptTimeoutMs: read(raw, "webhook.attempt_timeout_ms", AttemptTimeout, 10_000),
  } satisfies WebhookSettings;
}

export async function loadWebhookSettings(tx: Tx): Promise<WebhookSettings> {
  return parseWebhookSettings(
    await tx<{ key: string; value: unknown }[]>`
      select key, value from wisely.settings where key like 'webhook.%'
    `,
  );
}
