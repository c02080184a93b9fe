/**
 * Request schemas of the orchestrator's routes (spec 5.3–5.7). Every input passes through one
 * of these; the database constraints repeat the same bounds.
 */
import { z } from "zod";
import { DEPTHS } from "./agents/protocol.ts";
import { DaySchema, WeekSchema } from "./day_range.ts";
import { objectiveKey } from "./plan/objectives.ts";

export const META_MAX_BYTES = 8 * 1024;
/** `meta` itself is level 1; containers inside it add one level each. */
export const META_MAX_DEPTH = 32;
const PLAN_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/**
 * Text Postgres can store as sent: well-formed UTF-16 (a lone surrogate would be silently
 * replaced by U+FFFD in `text` and refused by `jsonb`) and no U+0000 (refused by both).
 */
export function isStorableText(value: string): boolean {
  return value.isWellFormed() && !value.includes("\u0000");
}
const STORABLE_TEXT_MESSAGE = "Must be Unicode text without NUL characters or lone surrogates.";

/**
 * The size in bytes of `value` as Postgres prints the stored jsonb (`meta::text`, which the
 * database's CHECK measures): `", "` and `": "` separators, and numbers printed in full, so
 * `1e-300` takes 302 bytes there. `value` is parsed JSON no deeper than META_MAX_DEPTH.
 */
export function jsonbTextBytes(value: unknown): number {
  if (value === null) return 4;
  switch (typeof value) {
    case "boolean":
      return value ? 4 : 5;
    case "number":
      return numericTextLength(value);
    case "string":
      return utf8Length(JSON.stringify(value));
    case "object": {
      if (Array.isArray(value)) {
        let bytes = 2 + Math.max(0, value.length - 1) * 2;
        for (const item of value) bytes += jsonbTextBytes(item);
        return bytes;
      }
      const entries = Object.entries(value);
      let bytes = 2 + Math.max(0, entries.length - 1) * 2;
      for (const [key, item] of entries) {
        bytes += utf8Length(JSON.stringify(key)) + 2 + jsonbTextBytes(item);
      }
      return bytes;
    }
    default:
      return 0;
  }
}

function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 2; // a pair: 4 bytes for 2 units
      i++;
    } else if (c >= 0x800) bytes += 2;
    else if (c >= 0x80) bytes += 1;
  }
  return bytes;
}

/** Length of Postgres' `numeric` output for the JSON number `n` (no exponent notation). */
function numericTextLength(n: number): number {
  const text = String(Math.abs(n));
  const sign = n < 0 ? 1 : 0;
  const e = text.indexOf("e");
  if (e === -1) return sign + text.length;
  const mantissa = text.slice(0, e);
  const exponent = Number(text.slice(e + 1));
  const point = mantissa.indexOf(".");
  const digits = point === -1 ? mantissa.length : mantissa.length - 1;
  const pointAt = (point === -1 ? mantissa.length : point) + exponent;
  if (pointAt <= 0) return sign + 2 - pointAt + digits; // 0.000ddd
  if (pointAt >= digits) return sign + pointAt; // ddd000
  return sign + digits + 1; // dd.d
}

/**
 * Iterative walk over a parsed `meta` before zod's recursive JSON validation sees it: refuses
 * nesting past META_MAX_DEPTH (which would overflow the stack of a recursive validator) and
 * strings or keys Postgres cannot store. Reports the first problem only.
 */
function checkMetaShape(meta: unknown, ctx: z.RefinementCtx): void {
  const stack: { value: unknown; depth: number; path: (string | number)[] }[] = [
    { value: meta, depth: 1, path: [] },
  ];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value === "string") {
      if (!isStorableText(value)) {
        ctx.addIssue({ code: "custom", path, message: STORABLE_TEXT_MESSAGE });
        return;
      }
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (depth > META_MAX_DEPTH) {
      ctx.addIssue({
        code: "custom",
        path,
        message: `Must nest at most ${META_MAX_DEPTH} levels deep.`,
      });
      return;
    }
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((item, index) => [index, item])
      : Object.entries(value);
    for (const [key, item] of entries) {
      if (typeof key === "string" && !isStorableText(key)) {
        ctx.addIssue({ code: "custom", path: [...path, key], message: STORABLE_TEXT_MESSAGE });
        return;
      }
      stack.push({ value: item, depth: depth + 1, path: [...path, key] });
    }
  }
}

/**
 * Zones the runtime resolved, by the name asked in lower case (zone names are matched without
 * regard to case): building an Intl.DateTimeFormat was the largest single cost of validating
 * intent.sync's body. Only names that resolved are kept, so the map is bounded by the runtime's
 * zone names and their aliases.
 */
const resolvedZones = new Map<string, string>();

/** The canonical IANA name of a zone, or null when the runtime does not know it. */
export function canonicalTimeZone(zone: string): string | null {
  if (zone.length === 0 || zone.length > 64) return null;
  const key = zone.toLowerCase();
  const known = resolvedZones.get(key);
  if (known !== undefined) return known;
  try {
    const canonical = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions()
      .timeZone;
    resolvedZones.set(key, canonical);
    return canonical;
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

// A shallow record first (no recursion), then the shape walk, then zod's recursive JSON check.
const MetaSchema = z.record(z.string(), z.unknown())
  .superRefine(checkMetaShape)
  .pipe(z.record(z.string(), z.json()))
  .superRefine((meta, ctx) => {
    if (jsonbTextBytes(meta) > META_MAX_BYTES) {
      ctx.addIssue({
        code: "custom",
        message: `Must be at most ${META_MAX_BYTES} bytes of JSON as stored.`,
      });
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

const storable = (schema: z.ZodString) => schema.refine(isStorableText, STORABLE_TEXT_MESSAGE);
const trimmed = (min: number, max: number) => storable(z.string().trim().min(min).max(max));

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
  week: WeekSchema,
  day: DaySchema,
  force_refresh: z.boolean().default(false),
  research: z.boolean().default(false),
});
export type DayRunBody = z.infer<typeof DayRunBody>;

/** FSRS ratings a learner may give an objective (1 Again, 2 Hard, 3 Good, 4 Easy). */
export const RATING_NAMES = ["again", "hard", "good", "easy"] as const;

/** Most per-objective ratings one day.done may carry. */
export const OBJECTIVE_RATINGS_MAX = 20;

const ObjectiveRatings = z.array(z.strictObject({
  objective: trimmed(1, 500).describe(
    "An objective of the session as its plan lists it (Objectives, or a Review item's " +
      "objective); matched ignoring case and spacing.",
  ),
  rating: z.enum(RATING_NAMES).describe("How well it went: FSRS Again, Hard, Good or Easy."),
})).max(OBJECTIVE_RATINGS_MAX).superRefine((ratings, ctx) => {
  const seen = new Set<string>();
  ratings.forEach((r, index) => {
    const key = objectiveKey(r.objective);
    if (seen.has(key)) {
      ctx.addIssue({
        code: "custom",
        path: [index, "objective"],
        message: "Rate each objective at most once.",
      });
    }
    seen.add(key);
  });
});

export const DayDoneBody = z.strictObject({
  session_id: z.uuid(),
  completion_time_min: z.int().min(0).max(1440),
  confidence: z.int().min(1).max(10),
  notes: storable(z.string().max(2000)).nullish(),
  objective_ratings: ObjectiveRatings.optional().describe(
    "Optional ratings of single objectives; the others get the rating mapped from " +
      "confidence and time spent (README, Spaced review).",
  ),
});
export type DayDoneBody = z.infer<typeof DayDoneBody>;

/** Longest pause `intent.pause` takes, in days after today (spec 12). */
export const PAUSE_MAX_DAYS = 60;

export const IntentPauseBody = z.strictObject({
  until: z.iso.date().optional().describe(
    "The last paused day, a local date in the intent's user_tz, today to today + " +
      `${PAUSE_MAX_DAYS}. Default: until resumed, at most ${PAUSE_MAX_DAYS} days (today + ` +
      `${PAUSE_MAX_DAYS}).`,
  ),
});
export type IntentPauseBody = z.infer<typeof IntentPauseBody>;

/** `intent.resume` and `intent.cancel` take no fields: an empty body or `{}`. */
export const IntentControlBody = z.strictObject({});

/** The local time a plan is due, from `meta.plan_time` (default 07:00). */
export function planTimeOf(meta: Record<string, unknown>): string {
  const value = meta.plan_time;
  return typeof value === "string" && PLAN_TIME.test(value) ? value : "07:00";
}
