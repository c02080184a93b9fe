/**
 * Request schemas of the orchestrator's routes (spec 5.3–5.7). Every input passes through one
 * of these; the database constraints repeat the same bounds.
 */
import { z } from "zod";
import { DEPTHS } from "./agents/protocol.ts";

export const META_MAX_BYTES = 8 * 1024;
const PLAN_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** The canonical IANA name of a zone, or null when the runtime does not know it. */
export function canonicalTimeZone(zone: string): string | null {
  if (zone.length === 0 || zone.length > 64) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

const TimeZoneSchema = z.string().transform((zone, ctx) => {
  const canonical = canonicalTimeZone(zone.trim());
  if (!canonical) {
    ctx.addIssue({ code: "custom", message: "Must be an IANA time zone such as Europe/Paris." });
    return z.NEVER;
  }
  return canonical;
});

const MetaSchema = z.record(z.string(), z.json())
  .superRefine((meta, ctx) => {
    if (new TextEncoder().encode(JSON.stringify(meta)).byteLength > META_MAX_BYTES) {
      ctx.addIssue({ code: "custom", message: `Must be at most ${META_MAX_BYTES} bytes of JSON.` });
    }
    const planTime = meta.plan_time;
    if (planTime !== undefined && (typeof planTime !== "string" || !PLAN_TIME.test(planTime))) {
      ctx.addIssue({
        code: "custom",
        path: ["plan_time"],
        message: 'Must be a 24-hour local time "HH:MM".',
      });
    }
  });

const trimmed = (min: number, max: number) => z.string().trim().min(min).max(max);

export const IntentSyncBody = z.strictObject({
  topic: trimmed(1, 200),
  depth: z.enum(DEPTHS),
  end_goal: trimmed(1, 500),
  time_per_day_min: z.int().min(5).max(480),
  user_tz: TimeZoneSchema.default("UTC"),
  meta: MetaSchema.default({}),
});
export type IntentSyncBody = z.infer<typeof IntentSyncBody>;

export const DayRunBody = z.strictObject({
  week: z.int().min(1).max(520),
  day: z.int().min(1).max(7),
  force_refresh: z.boolean().default(false),
  research: z.boolean().default(false),
});
export type DayRunBody = z.infer<typeof DayRunBody>;

export const DayDoneBody = z.strictObject({
  session_id: z.uuid(),
  completion_time_min: z.int().min(0).max(1440),
  confidence: z.int().min(1).max(10),
  notes: z.string().max(2000).nullish(),
});
export type DayDoneBody = z.infer<typeof DayDoneBody>;

/** The local time a plan is due, from `meta.plan_time` (default 07:00). */
export function planTimeOf(meta: Record<string, unknown>): string {
  const value = meta.plan_time;
  return typeof value === "string" && PLAN_TIME.test(value) ? value : "07:00";
}
