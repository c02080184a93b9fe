/**
 * The sentences that state the day's decision: why (from the decision's reason) and what the
 * plan does (from its outline). The plan's own "Today" line and the `day.done` hint are both
 * built from these two functions, so they say the same thing in the same words.
 *
 * Each adaptation has one phrase no other uses: `review` "opens with a review" (or "opens with
 * a refresher" after missed days), `steady` "keeps a steady pace", `stretch` "adds a stretch
 * exercise". Spaced reviews on other days are "spaced reviews".
 *
 * @module
 */
import { assessCompletion } from "./adaptation.ts";
import { dayLabel } from "./days.ts";
import type { DayOutline } from "./outline.ts";
import type { DecisionReason, ReviewItem } from "./types.ts";
import { oneLine } from "./text.ts";

/** Longest objective text quoted in a sentence. */
const QUOTE_MAX = 70;
/** Review items named one by one; the rest are counted. */
const NAMED_MAX = 2;

/** Why the day is what it is, one or two sentences. */
export function whySentence(reason: DecisionReason, minutes: number): string {
  switch (reason.kind) {
    case "first_day":
      return "This is your first day.";
    case "gap": {
      const skipped = reason.skipped_sessions ?? 0;
      const planned = skipped > 0 ? ` and skipped ${plural(skipped, "planned day")}` : "";
      return `You were away ${plural(reason.missed_days, "day")} since your last session` +
        `${planned}.`;
    }
    case "weak_session": {
      const a = assessCompletion(reason.previous);
      const how = a.low_confidence && a.short_session
        ? "felt shaky and was short"
        : a.low_confidence
        ? "felt shaky"
        : "was short";
      return `${dayLabel(reason.previous.week, reason.previous.day)} ${how}: ` +
        `${effort(reason.previous)}.`;
    }
    case "strong_session":
      return `${dayLabel(reason.previous.week, reason.previous.day)} went well: ` +
        `${effort(reason.previous)}.`;
    case "low_mastery":
      return `${dayLabel(reason.previous.week, reason.previous.day)} went well ` +
        `(${reason.previous.confidence}/10), but only ${Math.round(reason.mastery * 100)} % ` +
        `of your recent objectives are secure.`;
    case "no_room":
      return `${dayLabel(reason.previous.week, reason.previous.day)} went well ` +
        `(${reason.previous.confidence}/10), but ${minutes} minutes leave no room for a stretch.`;
    case "steady_session": {
      const unlock = assessCompletion(reason.previous).high_confidence
        ? " Give the plan its full time to unlock a stretch."
        : "";
      return `${dayLabel(reason.previous.week, reason.previous.day)} went steadily: ` +
        `${effort(reason.previous)}.${unlock}`;
    }
  }
}

/**
 * What the plan does, as a predicate for a subject ("This plan", "Week 1, Day 4"): e.g.
 * `opens with a review of “…” (Week 1, Day 3) and keeps new material light`.
 */
export function whatPhrase(outline: DayOutline): string {
  const { adaptation } = outline.decision;
  const parts: string[] = [];
  if (adaptation === "review") {
    const what = outline.refresher ? "opens with a refresher" : "opens with a review";
    const of = outline.reviews.length > 0
      ? ` of ${named(outline.reviews)}`
      : outline.refresher
      ? " of your last sessions"
      : ` of ${previousLabel(outline) ?? "the last session"}`;
    parts.push(`${what}${of}`, "keeps new material light");
  } else {
    parts.push(
      adaptation === "stretch" ? "adds a stretch exercise on its focus" : "keeps a steady pace",
    );
    if (outline.reviews.length > 0) {
      parts.push(
        `starts with ${plural(outline.reviews.length, "spaced review")}: ` +
          named(outline.reviews),
      );
    }
  }
  let phrase = parts.join(", and ");
  if (outline.deferred_reviews > 0) {
    phrase += `; ${plural(outline.deferred_reviews, "more review")} ` +
      `${outline.deferred_reviews === 1 ? "waits" : "wait"} for a day with more room`;
  }
  const [weak] = outline.weak_later;
  if (weak !== undefined) {
    phrase += `; ${reviewLabel(weak)}, rated ${weak.last_rating}, comes back for review in ` +
      `${plural(-weak.overdue_days, "day")}`;
  }
  return phrase;
}

/** `“objective” (Week 1, Day 2)`, or without the quotes. */
export function reviewLabel(item: ReviewItem, max = QUOTE_MAX, quoted = true): string {
  const text = quote(item.objective, max);
  return `${quoted ? `“${text}”` : text} (${dayLabel(item.week, item.day)})`;
}

function named(items: readonly ReviewItem[]): string {
  const shown = items.slice(0, NAMED_MAX).map((item) => reviewLabel(item));
  const rest = items.length - shown.length;
  return rest > 0 ? `${shown.join(", ")} and ${rest} more` : shown.join(" and ");
}

function previousLabel(outline: DayOutline): string | null {
  const reason = outline.decision.reason;
  return "previous" in reason ? dayLabel(reason.previous.week, reason.previous.day) : null;
}

function effort(p: { confidence: number; completion_time_min: number; planned_minutes: number }) {
  return `${p.confidence}/10 after ${p.completion_time_min} of ${p.planned_minutes} planned ` +
    `minutes`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

const quote = oneLine;
