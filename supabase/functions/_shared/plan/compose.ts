/**
 * Plan composition (spec 7): agent signals, fallback templates and the previous completion in;
 * a Markdown plan, its summary and the structured plan out. Pure and deterministic: the same
 * input always gives byte-identical output.
 *
 * @module
 */
import {
  AGENT_NAMES,
  type AgentDataMap,
  type AgentName,
  type AlexData,
  type TaData,
} from "../agents/protocol.ts";
import type { AgentSignal } from "../agents/signal.ts";
import { allocateMinutes } from "./allocate.ts";
import { type FallbackContext, fallbackFor, selfResearchHint } from "./fallback.ts";
import { adaptationFor, assessCompletion, dayLabel, DAYS_PER_WEEK, MAX_WEEK } from "./hint.ts";
import type {
  ComposedPlan,
  PlanInput,
  PlanSection,
  PlanSummary,
  PreviousCompletion,
  SectionKind,
  StructuredPlan,
} from "./types.ts";

/** Smallest and largest `intent.time_per_day_min` (spec 5.3). */
export const MIN_DAY_MINUTES = 5;
export const MAX_DAY_MINUTES = 480;

/**
 * When the day is too short for every section, sections are kept in this order while their
 * minimums fit: the focus and the practice are the day; the adaptation block (review or
 * stretch, never both) is what the previous day's hint promised; reflection is cheap;
 * resources need reading time, so they go first. With the minimums below, focus, practice and
 * the adaptation block always fit in 5 minutes.
 */
export const SECTION_PRIORITY: readonly SectionKind[] = [
  "focus",
  "practice",
  "review",
  "stretch",
  "reflection",
  "resources",
];

/** Fewest minutes a section is scheduled with; a section that cannot get them is dropped. */
export const SECTION_MINIMUM_MINUTES: Readonly<Record<SectionKind, number>> = {
  focus: 2,
  practice: 2,
  review: 1,
  stretch: 1,
  reflection: 1,
  resources: 2,
};

/**
 * Default share of the day per section, in percent. Resources and practice are weighted by
 * the minutes their agent suggests instead, clamped to `[min, max]` percent so one agent's
 * estimate cannot starve or swallow the rest of the day.
 */
const SHARE: Readonly<Record<SectionKind, { min: number; max: number }>> = {
  review: { min: 15, max: 15 },
  focus: { min: 25, max: 25 },
  resources: { min: 10, max: 30 },
  practice: { min: 15, max: 45 },
  stretch: { min: 15, max: 15 },
  reflection: { min: 10, max: 10 },
};

const LABEL: Readonly<Record<SectionKind, string>> = {
  review: "Review",
  focus: "Focus",
  resources: "Resources",
  practice: "Practice",
  stretch: "Stretch",
  reflection: "Reflection",
};

/** What each agent's content is called in the degraded-mode note. */
const AGENT_PART: Readonly<Record<AgentName, string>> = {
  clo: "focus and objectives (clo)",
  alex: "resources (alex)",
  ta: "practice exercises (ta)",
  socratic: "reflection questions (socratic)",
};

/** Longest text after the label in a summary step or schedule line. */
const STEP_TEXT_MAX = 80;

type AgentState = "available" | "unavailable" | "disabled";

/** A section before minutes are assigned, with what the summary and schedule say about it. */
interface Draft {
  kind: SectionKind;
  title: string;
  items: string[];
  source: PlanSection["source"];
  /** Weight in hundredths of a minute, for {@linkcode allocateMinutes}. */
  weight: number;
  /** Short plain text for the summary step and schedule line. */
  brief: string;
}

/**
 * Composes the day's plan from the agents' signals (spec 7).
 *
 * - Agents whose signal is unavailable, or absent because the agent is not enabled, are
 *   replaced by their fallback template (`source: "fallback"`). Only enabled-but-unavailable
 *   agents are listed in `unavailable_agents` and trigger the degraded-mode note, as spec 6.3
 *   defines degraded mode; a disabled agent gets a neutral note instead.
 * - The adaptation comes from {@linkcode adaptationFor}: a review block first, or a stretch
 *   exercise after the practice.
 * - Section minutes are whole, at least {@linkcode SECTION_MINIMUM_MINUTES}, and sum exactly to
 *   `intent.time_per_day_min`; sections that do not fit are dropped by
 *   {@linkcode SECTION_PRIORITY}.
 *
 * @throws {RangeError} When `time_per_day_min` is not an integer in 5..480, or week/day are out
 *   of range.
 */
export function composePlan(input: PlanInput): ComposedPlan {
  const { intent, week, day, previous } = input;
  const total = intent.time_per_day_min;
  if (!Number.isInteger(total) || total < MIN_DAY_MINUTES || total > MAX_DAY_MINUTES) {
    throw new RangeError(
      `time_per_day_min must be an integer in ${MIN_DAY_MINUTES}..${MAX_DAY_MINUTES}, got ${total}`,
    );
  }
  if (!Number.isInteger(week) || week < 1 || week > MAX_WEEK) {
    throw new RangeError(`week must be an integer in 1..${MAX_WEEK}, got ${week}`);
  }
  if (!Number.isInteger(day) || day < 1 || day > DAYS_PER_WEEK) {
    throw new RangeError(`day must be an integer in 1..${DAYS_PER_WEEK}, got ${day}`);
  }

  const context: FallbackContext = { intent, week, day };
  const states: Record<AgentName, AgentState> = {
    clo: stateOf(input.signals.clo),
    alex: stateOf(input.signals.alex),
    ta: stateOf(input.signals.ta),
    socratic: stateOf(input.signals.socratic),
  };
  const clo = usable(input.signals.clo) ?? fallbackFor("clo", context);
  const alex = usable(input.signals.alex) ?? fallbackFor("alex", context);
  const ta = usable(input.signals.ta) ?? fallbackFor("ta", context);
  const socratic = usable(input.signals.socratic) ?? fallbackFor("socratic", context);
  const source = (agent: AgentName): PlanSection["source"] =>
    states[agent] === "available" ? agent : "fallback";

  const adaptation = adaptationFor(previous);
  const title = plain(clo.title) || `${plain(intent.topic)}: ${dayLabel(week, day)}`;
  const description = plain(clo.description);
  const objectives = nonEmpty(clo.objectives.map(plain), title);

  // Candidates in schedule order; the budget decides which of them are kept.
  const drafts: Draft[] = [];
  if (adaptation === "review" && previous !== null) drafts.push(reviewDraft(previous, total));
  drafts.push({
    kind: "focus",
    title,
    items: objectives,
    source: source("clo"),
    weight: SHARE.focus.min * total,
    brief: objectives[0],
  });
  if (alex.resources.length > 0) drafts.push(resourcesDraft(alex, source("alex"), total));
  drafts.push(practiceDraft(ta, source("ta"), total));
  if (adaptation === "stretch") drafts.push(stretchDraft(title, objectives[0], total));
  const questions = nonEmpty(socratic.questions.map(plain), "What did you learn today?");
  drafts.push({
    kind: "reflection",
    title: "Reflection",
    items: questions,
    source: source("socratic"),
    weight: SHARE.reflection.min * total,
    brief: questions[0],
  });

  const kept = fitToBudget(drafts, total);
  const minutes = allocateMinutes(
    total,
    kept.map((d) => d.weight),
    kept.map((d) => SECTION_MINIMUM_MINUTES[d.kind]),
  );
  const briefs = kept.map((d) => shorten(d.brief, STEP_TEXT_MAX));
  const sections: PlanSection[] = kept.map((d, i) => ({
    kind: d.kind,
    title: d.title,
    minutes: minutes[i],
    items: d.items,
    source: d.source,
  }));

  const plan: StructuredPlan = {
    version: 1,
    week,
    day,
    total_minutes: total,
    title,
    description,
    difficulty: clo.difficulty,
    adaptation,
    unavailable_agents: AGENT_NAMES.filter((a) => states[a] === "unavailable"),
    sections,
  };
  const summary: PlanSummary = {
    title,
    description,
    steps: kept.map((d, i) => `${LABEL[d.kind]} (${minutes[i]} min): ${briefs[i]}`),
  };
  const plan_md = renderMarkdown({
    plan,
    briefs,
    objectives,
    questions,
    previous,
    alex,
    ta,
    states,
    hint: selfResearchHint(intent),
    depth: intent.depth,
  });
  return { plan_md, summary, plan };
}

/** Keeps drafts by priority while their minimums fit, then restores schedule order. */
function fitToBudget(drafts: Draft[], total: number): Draft[] {
  const keep = new Set<SectionKind>();
  let used = 0;
  for (const kind of SECTION_PRIORITY) {
    if (!drafts.some((d) => d.kind === kind)) continue;
    const minimum = SECTION_MINIMUM_MINUTES[kind];
    if (used + minimum > total) continue;
    keep.add(kind);
    used += minimum;
  }
  return drafts.filter((d) => keep.has(d.kind));
}

function reviewDraft(previous: PreviousCompletion, total: number): Draft {
  const label = dayLabel(previous.week, previous.day);
  return {
    kind: "review",
    title: `Review of ${label}`,
    items: [
      `Revisit the material from ${label}: re-read your notes and summarise the key ideas in ` +
      `three sentences.`,
      `Redo one exercise from ${label} without looking at your earlier answer.`,
    ],
    source: "planner",
    weight: SHARE.review.min * total,
    brief: `Revisit ${label}`,
  };
}

function resourcesDraft(alex: AlexData, source: PlanSection["source"], total: number): Draft {
  const resources = alex.resources.map((r) => ({ ...r, title: plain(r.title) || r.kind }));
  return {
    kind: "resources",
    title: "Resources",
    items: resources.map((r) => `${r.title} (${r.kind}, ${r.minutes} min): ${r.url}`),
    source,
    weight: suggestedWeight(sumMinutes(resources), "resources", total),
    brief: withMore(resources[0].title, resources.length),
  };
}

function practiceDraft(ta: TaData, source: PlanSection["source"], total: number): Draft {
  const exercises = ta.exercises.map((e) => ({ ...e, title: plain(e.title) || "Exercise" }));
  return {
    kind: "practice",
    title: "Practice",
    items: exercises.map((e) => `${e.title} (${e.minutes} min): ${plain(e.instructions)}`),
    source,
    weight: suggestedWeight(sumMinutes(exercises), "practice", total),
    brief: withMore(exercises[0].title, exercises.length),
  };
}

/** The stretch exercise is derived from the day's focus, one step harder. */
function stretchDraft(title: string, objective: string, total: number): Draft {
  return {
    kind: "stretch",
    title: `Stretch: ${title}`,
    items: [
      `Go beyond "${objective}": apply it to a harder, unfamiliar case without notes or worked ` +
      `solutions, then explain which edge cases or trade-offs made it harder.`,
    ],
    source: "planner",
    weight: SHARE.stretch.min * total,
    brief: `Go beyond "${objective}"`,
  };
}

/** Agent-suggested minutes as a weight (hundredths of a minute), clamped to the share range. */
function suggestedWeight(suggested: number, kind: SectionKind, total: number): number {
  const { min, max } = SHARE[kind];
  return Math.min(Math.max(suggested * 100, min * total), max * total);
}

function sumMinutes(items: readonly { minutes: number }[]): number {
  return items.reduce((sum, item) => sum + item.minutes, 0);
}

function withMore(first: string, count: number): string {
  return count > 1 ? `${first} (+${count - 1} more)` : first;
}

function stateOf(signal: AgentSignal | undefined): AgentState {
  if (signal === undefined) return "disabled";
  return signal.available ? "available" : "unavailable";
}

function usable<N extends AgentName>(signal: AgentSignal<N> | undefined): AgentDataMap[N] | null {
  return signal !== undefined && signal.available ? signal.data : null;
}

function nonEmpty(values: string[], fallback: string): string[] {
  const kept = values.filter((v) => v !== "");
  return kept.length > 0 ? kept : [fallback];
}

// --- Markdown -------------------------------------------------------------------------------

interface RenderInput {
  plan: StructuredPlan;
  briefs: string[];
  objectives: string[];
  questions: string[];
  previous: PreviousCompletion | null;
  alex: AlexData;
  ta: TaData;
  states: Record<AgentName, AgentState>;
  hint: string;
  depth: string;
}

function renderMarkdown(r: RenderInput): string {
  const { plan } = r;
  const scheduled = (kind: SectionKind) => plan.sections.find((s) => s.kind === kind);
  const blocks: string[] = [
    `# Daily Learning Plan — ${dayLabel(plan.week, plan.day)}`,
    `## Today's Focus: ${md(plan.title)}`,
  ];
  if (plan.description !== "") blocks.push(md(plan.description));
  blocks.push(
    `_Difficulty: ${plan.difficulty} · Depth: ${r.depth} · ${plan.total_minutes} min_`,
  );

  const unavailable = AGENT_NAMES.filter((a) => r.states[a] === "unavailable");
  if (unavailable.length > 0) {
    blocks.push(
      `> **Degraded mode:** some agents were unavailable, so these parts come from fallback ` +
        `templates: ${unavailable.map((a) => AGENT_PART[a]).join(", ")}.`,
    );
  }
  const disabled = AGENT_NAMES.filter((a) => r.states[a] === "disabled");
  if (disabled.length > 0) {
    blocks.push(
      `> **Note:** these parts come from built-in templates because their agents are not ` +
        `enabled: ${disabled.map((a) => AGENT_PART[a]).join(", ")}.`,
    );
  }

  blocks.push("### Objectives", r.objectives.map((o, i) => `${i + 1}. ${md(o)}`).join("\n"));

  let offset = 0;
  const schedule = plan.sections.map((s, i) => {
    const line = `- ${clock(offset)}–${clock(offset + s.minutes)} · ${LABEL[s.kind]}: ` +
      `${md(r.briefs[i])} (${s.minutes} min)`;
    offset += s.minutes;
    return line;
  });
  blocks.push("## Schedule", schedule.join("\n"));

  const review = scheduled("review");
  if (review !== undefined && r.previous !== null) {
    blocks.push(
      `## Review (${review.minutes} min)`,
      `_Why: ${reviewReason(r.previous)}_`,
      review.items.map((item) => `- ${md(item)}`).join("\n"),
    );
  }

  const resources = scheduled("resources");
  blocks.push(resources === undefined ? "## Resources" : `## Resources (${resources.minutes} min)`);
  if (r.alex.resources.length === 0) {
    blocks.push(`_${md(r.hint)}_`);
  } else {
    const suggested = sumMinutes(r.alex.resources);
    if (resources === undefined) {
      blocks.push("_Not scheduled today (time budget): keep these for later._");
    } else if (suggested > resources.minutes) {
      blocks.push(
        `_Suggested times add up to ${suggested} min for ${resources.minutes} scheduled: start ` +
          `with the first and keep the rest for later._`,
      );
    }
    blocks.push(r.alex.resources.map(resourceLine).join("\n"));
  }

  const practice = scheduled("practice");
  blocks.push(practice === undefined ? "## Practice" : `## Practice (${practice.minutes} min)`);
  const exerciseMinutes = sumMinutes(r.ta.exercises);
  if (practice !== undefined && exerciseMinutes > practice.minutes) {
    blocks.push(
      `_Suggested times add up to ${exerciseMinutes} min for ${practice.minutes} scheduled: ` +
        `work through them in order and stop when time is up._`,
    );
  }
  blocks.push(
    r.ta.exercises.map((e, i) =>
      `${i + 1}. **${md(e.title) || "Exercise"}** (${e.minutes} min): ${md(e.instructions)}`
    ).join("\n"),
  );

  const stretch = scheduled("stretch");
  if (stretch !== undefined) {
    blocks.push(
      `## Stretch (${stretch.minutes} min)`,
      stretch.items.map((item) => `- ${md(item)}`).join("\n"),
    );
  }

  const reflection = scheduled("reflection");
  blocks.push(
    reflection === undefined ? "## Reflection" : `## Reflection (${reflection.minutes} min)`,
  );
  if (reflection === undefined) blocks.push("_Not scheduled today (time budget): optional._");
  blocks.push(r.questions.map((q, i) => `${i + 1}. ${md(q)}`).join("\n"));

  return `${blocks.join("\n\n")}\n`;
}

function resourceLine(resource: AlexData["resources"][number]): string {
  const title = md(resource.title) || resource.kind;
  const href = safeHref(resource.url);
  const meta = `${resource.kind}, ${resource.minutes} min`;
  return href === null
    ? `- ${title} — ${meta} (link omitted: not an http(s) URL)`
    : `- [${title}](<${href}>) — ${meta}`;
}

function reviewReason(previous: PreviousCompletion): string {
  const a = assessCompletion(previous);
  const parts: string[] = [];
  if (a.low_confidence) parts.push(`confidence was ${previous.confidence}/10`);
  if (a.short_session) {
    parts.push(
      `the session took ${previous.completion_time_min} of ${previous.planned_minutes} ` +
        `planned minutes`,
    );
  }
  return `${parts.join(" and ")} on ${dayLabel(previous.week, previous.day)}.`;
}

/** `75` → `1:15`. */
function clock(minutes: number): string {
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}`;
}

// --- Text safety ----------------------------------------------------------------------------

/** Agent text as one line: control characters removed, whitespace runs (newlines) collapsed. */
function plain(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u0008\u000e-\u001f\u007f]/g, "").replace(/\s+/g, " ").trim();
}

/** Cuts `text` to at most `max` UTF-16 code units, ending in "…", never splitting a pair. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = "";
  for (const char of text) {
    if (out.length + char.length > max - 1) break;
    out += char;
  }
  return `${out.trimEnd()}…`;
}

/**
 * Agent text made inert inside Markdown: one line, and the characters that would start
 * emphasis, code, links, HTML, tables, headings or list items backslash-escaped (CommonMark
 * renders `\x` as `x` for any ASCII punctuation).
 */
function md(text: string): string {
  return plain(text)
    .replace(/[\\`*_[\]<>#|~&]/g, "\\$&")
    .replace(/^([-+=])/, "\\$1")
    .replace(/^(\d+)([.)])/, "$1\\$2");
}

/**
 * The URL as a link destination when it is absolute http(s), else null. The WHATWG
 * serialisation percent-encodes spaces, `<` and `>`, so it is safe inside `<...>`.
 */
function safeHref(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return null;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  const href = parsed.href;
  return /[\s<>]/.test(href) ? null : href;
}
