/**
 * Plan composition (spec 7): agent signals, fallback templates and the learner model in; a
 * Markdown plan, its summary and the structured plan out. Pure and deterministic: the same
 * input always gives byte-identical output.
 *
 * The day's shape comes from `outlineDay` (the decision, the blocks, the review items), which the
 * hint of day.done words too; this module lays the agents' content into it, sized to the
 * minutes: blocks of at least five minutes, as many objectives, exercises, resources and
 * questions as their block's minutes hold, and step minutes that add up exactly.
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
import { stateFromPrevious, THRESHOLDS } from "./adaptation.ts";
import { allocateMinutes } from "./allocate.ts";
import { assertDay, dayLabel } from "./days.ts";
import { type FallbackContext, fallbackFor, selfResearchHint } from "./fallback.ts";
import { objectiveKey, objectiveText } from "./objectives.ts";
import { type DayOutline, outlineDay } from "./outline.ts";
import { md, plain, safeHref, shorten } from "./text.ts";
import type {
  ComposedPlan,
  PlanInput,
  PlannedObjective,
  PlanSection,
  PlanSummary,
  SectionKind,
  StructuredPlan,
} from "./types.ts";
import { reviewLabel, whatPhrase, whySentence } from "./wording.ts";

/** Smallest and largest `intent.time_per_day_min` (spec 5.3). */
export const MIN_DAY_MINUTES = 5;
export const MAX_DAY_MINUTES = 480;

/** Minutes per item a block's minutes are counted in when deciding how many items it lists. */
export const MINUTES_PER_ITEM = { objective: 5, question: 2.5 } as const;
/** Resources listed at most. */
const RESOURCES_MAX = 3;

/**
 * Default share of the day per block, in percent. Resources and practice are weighted by the
 * minutes their agent suggests instead, clamped to `[min, max]` percent so one agent's estimate
 * cannot starve or swallow the rest of the day. (The review block is sized by its items.)
 */
const SHARE: Readonly<Record<Exclude<SectionKind, "review">, { min: number; max: number }>> = {
  focus: { min: 25, max: 25 },
  resources: { min: 10, max: 35 },
  practice: { min: 15, max: 45 },
  stretch: { min: 20, max: 20 },
  reflection: { min: 10, max: 10 },
};
/** On a review day new material is lighter. */
const REVIEW_DAY_FOCUS_SHARE = 15;

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

/** Longest text before the minutes in a summary step or schedule line. */
const STEP_TEXT_MAX = 80;

/** How an agent took part in the plan: its content, its fallback (failed), or not enabled. */
type AgentAvailability = "available" | "unavailable" | "disabled";
type Resource = AlexData["resources"][number];
type Exercise = TaData["exercises"][number];

/** The day's content, from the agents or their fallbacks, before it is sized. */
interface Content {
  title: string;
  description: string;
  difficulty: StructuredPlan["difficulty"];
  objectives: string[];
  resources: Resource[];
  exercises: Exercise[];
  questions: string[];
  availability: Record<AgentName, AgentAvailability>;
}

/**
 * Composes the day's plan from the agents' signals and the learner model (spec 7).
 *
 * - Agents whose signal is unavailable, or absent because the agent is not enabled, are
 *   replaced by their fallback template (`source: "fallback"`). Only enabled-but-unavailable
 *   agents are listed in `unavailable_agents` and trigger the degraded-mode note, as spec 6.3
 *   defines degraded mode; a disabled agent gets a neutral note instead.
 * - The outline (`outlineDay`) decides the adaptation, the blocks and the review items; the
 *   plan states the decision once, in a "Today" line worded like the hint.
 * - Block minutes are whole, at least five (one block takes the whole day when it is shorter),
 *   and sum exactly to `intent.time_per_day_min`; every step string ends with `(N min)`.
 *
 * @throws {RangeError} When `time_per_day_min` is not an integer in 5..480, or week/day are out
 *   of range.
 */
export function composePlan(input: PlanInput): ComposedPlan {
  const { intent, week, day } = input;
  const total = intent.time_per_day_min;
  assertDayMinutes(total);
  assertDay(week, day);

  const learner = input.learner ?? stateFromPrevious(input.previous);
  const agents = contentOf(input);
  const outline = outlineDay(learner, total, agents.resources.length > 0);
  const content = withoutReviewed(agents, outline);
  const { kinds, minutes } = blockMinutes(outline, content, total);
  const sections = kinds.map((kind, i) => section(kind, minutes[i], content, outline));
  const briefs = sections.map((s) => shorten(briefOf(s, content, outline), STEP_TEXT_MAX));

  const plan = structuredPlan({ week, day, total, content, outline, sections });
  const summary: PlanSummary = {
    title: content.title,
    description: content.description,
    steps: sections.map((s, i) => `${LABEL[s.kind]}: ${briefs[i]} (${s.minutes} min)`),
  };
  const plan_md = renderMarkdown({ plan, briefs, outline, content, intent, total });
  return { plan_md, summary, plan };
}

function assertDayMinutes(total: number): void {
  if (!Number.isInteger(total) || total < MIN_DAY_MINUTES || total > MAX_DAY_MINUTES) {
    throw new RangeError(
      `time_per_day_min must be an integer in ${MIN_DAY_MINUTES}..${MAX_DAY_MINUTES}, got ${total}`,
    );
  }
}

/** The content without the objectives the review block covers: they are not listed as new. */
function withoutReviewed(agents: Content, outline: DayOutline): Content {
  const reviewed = new Set(outline.reviews.map((r) => r.key));
  return {
    ...agents,
    objectives: nonEmpty(
      agents.objectives.filter((o) => !reviewed.has(objectiveKey(o))),
      agents.objectives[0],
    ),
  };
}

/** The structured plan (spec 7): the outline's decision and the sized sections. */
function structuredPlan(parts: {
  week: number;
  day: number;
  total: number;
  content: Content;
  outline: DayOutline;
  sections: PlanSection[];
}): StructuredPlan {
  const { week, day, total, content, outline, sections } = parts;
  const focus = sections.find((s) => s.kind === "focus");
  const objectives: PlannedObjective[] = (focus?.items ?? []).map((text) => ({
    key: objectiveKey(text),
    objective: objectiveText(text),
    week,
    day,
  }));
  return {
    version: 2,
    week,
    day,
    total_minutes: total,
    title: content.title,
    description: content.description,
    difficulty: content.difficulty,
    adaptation: outline.decision.adaptation,
    decision: outline.decision,
    refresher: outline.refresher,
    objectives,
    reviews: outline.reviews.map(({ key, objective, week, day }) => ({
      key,
      objective,
      week,
      day,
    })),
    unavailable_agents: AGENT_NAMES.filter((a) => content.availability[a] === "unavailable"),
    sections,
  };
}

/** The agents' content (or fallbacks), cleaned to one line per item. */
function contentOf(input: PlanInput): Content {
  const { intent, week, day } = input;
  const context: FallbackContext = { intent, week, day };
  const availability: Record<AgentName, AgentAvailability> = {
    clo: availabilityOf(input.signals.clo),
    alex: availabilityOf(input.signals.alex),
    ta: availabilityOf(input.signals.ta),
    socratic: availabilityOf(input.signals.socratic),
  };
  const clo = usable(input.signals.clo) ?? fallbackFor("clo", context);
  const alex = usable(input.signals.alex) ?? fallbackFor("alex", context);
  const ta = usable(input.signals.ta) ?? fallbackFor("ta", context);
  const socratic = usable(input.signals.socratic) ?? fallbackFor("socratic", context);
  const title = plain(clo.title) || `${plain(intent.topic)}: ${dayLabel(week, day)}`;
  return {
    title,
    description: plain(clo.description),
    difficulty: clo.difficulty,
    objectives: nonEmpty(clo.objectives.map(plain), title),
    // Alex answers for the whole intent: each day starts the list at a different resource.
    resources: rotate(
      alex.resources.map((r) => ({ ...r, title: plain(r.title) || r.kind })),
      (week - 1) * 7 + (day - 1),
    ),
    exercises: ta.exercises.map((e) => ({
      ...e,
      title: plain(e.title) || "Exercise",
      instructions: plain(e.instructions),
    })),
    questions: nonEmpty(socratic.questions.map(plain), "What did you learn today?"),
    availability,
  };
}

/**
 * The blocks and their minutes. The review is sized by its items (outline) and the resources
 * by the reading that fits in their share of the day (a day with no resource that short has no
 * resources block), so both schedule exactly what they list; the rest is split by weight.
 * Every block gets at least the minimum block length.
 */
function blockMinutes(outline: DayOutline, content: Content, total: number) {
  const min = THRESHOLDS.minBlockMinutes;
  const fixed = new Map<SectionKind, number>();
  let kinds = outline.kinds;
  if (kinds.includes("review")) fixed.set("review", outline.review_minutes);
  if (kinds.includes("resources")) {
    const others = kinds.length - 1 - fixed.size;
    const room = total - sumOf([...fixed.values()]) - min * others;
    const share = Math.floor((SHARE.resources.max * total) / 100);
    const reading = sumMinutes(fitting(content.resources, Math.min(room, share)));
    if (reading === 0) kinds = kinds.filter((k) => k !== "resources");
    else {fixed.set(
        "resources",
        others === 0 ? total - sumOf([...fixed.values()]) : Math.max(min, reading),
      );}
  }
  const others = kinds.filter((k) => !fixed.has(k));
  const left = total - sumOf([...fixed.values()]);
  const weights = others.map((kind) => weightOf(kind, content, total, outline));
  const split = others.length === 0 ? [] : allocateMinutes(left, weights, others.map(() => min));
  return { kinds, minutes: kinds.map((kind) => fixed.get(kind) ?? split[others.indexOf(kind)]) };
}

function sumOf(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0);
}

/** A block's weight in hundredths of a minute, for {@linkcode allocateMinutes}. */
function weightOf(kind: SectionKind, content: Content, total: number, outline: DayOutline) {
  const clampShare = (suggested: number, k: Exclude<SectionKind, "review">) =>
    Math.min(Math.max(suggested * 100, SHARE[k].min * total), SHARE[k].max * total);
  switch (kind) {
    case "focus":
      return (outline.decision.adaptation === "review" ? REVIEW_DAY_FOCUS_SHARE : SHARE.focus.min) *
        total;
    case "resources":
      return clampShare(
        sumMinutes(fitting(content.resources, (SHARE.resources.max * total) / 100)),
        "resources",
      );
    case "practice":
      return clampShare(sumMinutes(content.exercises), "practice");
    case "stretch":
    case "reflection":
      return SHARE[kind].min * total;
    case "review":
      return 0;
  }
}

/** One block with the items its minutes hold. */
function section(
  kind: SectionKind,
  minutes: number,
  content: Content,
  outline: DayOutline,
): PlanSection {
  const source = (agent: AgentName): PlanSection["source"] =>
    content.availability[agent] === "available" ? agent : "fallback";
  switch (kind) {
    case "review":
      return {
        kind,
        title: reviewTitle(outline),
        minutes,
        items: reviewItems(outline),
        source: "planner",
      };
    case "focus": {
      const count = countFor(minutes, MINUTES_PER_ITEM.objective, content.objectives.length);
      const items = content.objectives.slice(0, count);
      return { kind, title: content.title, minutes, items, source: source("clo") };
    }
    case "resources": {
      const picked = fitting(content.resources, minutes);
      const items = picked.map((r) => `${r.title} (${r.kind}, ${r.minutes} min): ${r.url}`);
      return { kind, title: "Resources", minutes, items, source: source("alex") };
    }
    case "practice": {
      const items = sizedExercises(content.exercises, minutes).map((e) =>
        `${e.title} (${e.minutes} min): ${e.instructions}`
      );
      return { kind, title: "Practice", minutes, items, source: source("ta") };
    }
    case "stretch": {
      const objective = content.objectives[0];
      return {
        kind,
        title: `Stretch: ${content.title}`,
        minutes,
        items: [
          `Go beyond "${objective}": apply it to a harder, unfamiliar case without notes or ` +
          `worked solutions, then explain which edge cases or trade-offs made it harder.`,
        ],
        source: "planner",
      };
    }
    case "reflection": {
      const count = countFor(minutes, MINUTES_PER_ITEM.question, content.questions.length);
      return {
        kind,
        title: "Reflection",
        minutes,
        items: content.questions.slice(0, count),
        source: source("socratic"),
      };
    }
  }
}

function reviewTitle(outline: DayOutline): string {
  return outline.refresher ? "Refresher" : "Review";
}

/** One line per review item: what to do with it, naming the objective and its day. */
function reviewItems(outline: DayOutline): string[] {
  if (outline.reviews.length === 0) {
    return [
      `Revisit the material from ${previousDay(outline)}: re-read your notes and summarise the ` +
      `key ideas in three sentences.`,
    ];
  }
  return outline.reviews.map((r) =>
    `Review: ${reviewLabel(r, 200, false)} — recall it from memory first, then check your ` +
    `notes and fix what you missed.`
  );
}

function previousDay(outline: DayOutline): string {
  const reason = outline.decision.reason;
  return "previous" in reason
    ? dayLabel(reason.previous.week, reason.previous.day)
    : "your last session";
}

/** The summary step and schedule text of a block. */
function briefOf(s: PlanSection, content: Content, outline: DayOutline): string {
  switch (s.kind) {
    case "review": {
      const [first] = outline.reviews;
      if (first === undefined) return `Revisit ${previousDay(outline)}`;
      return withMore(reviewLabel(first, 40, false), outline.reviews.length);
    }
    case "focus":
      return withMore(s.items[0], s.items.length);
    case "resources":
      return withMore(fitting(content.resources, s.minutes)[0].title, s.items.length);
    case "practice":
      return withMore(content.exercises[0].title, s.items.length);
    case "stretch":
      return `Go beyond "${content.objectives[0]}"`;
    case "reflection":
      return s.items[0];
  }
}

/** As many items as `minutes` hold at `per` minutes each: at least 1, at most `available`. */
function countFor(minutes: number, per: number, available: number): number {
  return Math.max(1, Math.min(available, Math.floor(minutes / per)));
}

/**
 * Resources whose minutes fit in `minutes` together, in list order, skipping those that do not
 * fit (at most three), so a block never lists more reading than it schedules.
 */
function fitting(resources: readonly Resource[], minutes: number): Resource[] {
  const picked: Resource[] = [];
  let used = 0;
  for (const r of resources) {
    if (picked.length === RESOURCES_MAX) break;
    if (used + r.minutes <= minutes) {
      picked.push(r);
      used += r.minutes;
    }
  }
  return picked;
}

/**
 * The exercises that fit the block in order (at least the first), each given its share of the
 * block's minutes in proportion to what the agent suggested, so they add up to the block.
 */
function sizedExercises(exercises: readonly Exercise[], minutes: number): Exercise[] {
  let count = 0;
  let used = 0;
  for (const e of exercises) {
    if (count > 0 && used + e.minutes > minutes) break;
    count++;
    used += e.minutes;
  }
  count = Math.max(1, Math.min(count, Math.floor(minutes / THRESHOLDS.minBlockMinutes) || 1));
  const chosen = exercises.slice(0, count);
  const shares = allocateMinutes(minutes, chosen.map((e) => e.minutes));
  return chosen.map((e, i) => ({ ...e, minutes: shares[i] }));
}

function sumMinutes(items: readonly { minutes: number }[]): number {
  return items.reduce((sum, item) => sum + item.minutes, 0);
}

function withMore(first: string, count: number): string {
  return count > 1 ? `${first} (+${count - 1} more)` : first;
}

function rotate<T>(list: readonly T[], seed: number): T[] {
  if (list.length === 0) return [];
  const start = seed % list.length;
  return [...list.slice(start), ...list.slice(0, start)];
}

function availabilityOf(signal: AgentSignal | undefined): AgentAvailability {
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
  outline: DayOutline;
  content: Content;
  intent: PlanInput["intent"];
  total: number;
}

/** The plan's one statement of the day's decision, worded as the hint words it. */
export function todayLine(outline: DayOutline, minutes: number): string {
  const title = {
    review: outline.refresher ? "welcome back" : "review",
    steady: "steady",
    stretch: "stretch",
  }[outline.decision.adaptation];
  const text = `${whySentence(outline.decision.reason, minutes)} This plan ` +
    `${whatPhrase(outline)}.`;
  return `> **Today: ${title}.** ${md(text)}`;
}

function renderMarkdown(r: RenderInput): string {
  const { plan, content } = r;
  const blocks: string[] = [
    `# Daily Learning Plan — ${dayLabel(plan.week, plan.day)}`,
    `## Today's Focus: ${md(plan.title)}`,
  ];
  if (plan.description !== "") blocks.push(md(plan.description));
  blocks.push(
    `_Difficulty: ${plan.difficulty} · Depth: ${r.intent.depth} · ${plan.total_minutes} min_`,
    todayLine(r.outline, r.total),
  );
  blocks.push(...notes(content.availability));

  const focus = plan.sections.find((s) => s.kind === "focus");
  blocks.push("### Objectives");
  blocks.push(
    focus === undefined
      ? "_New material waits for the next day: today's minutes go to the review._"
      : focus.items.map((o, i) => `${i + 1}. ${md(o)}`).join("\n"),
  );
  if (content.resources.length === 0) blocks.push(`_${md(selfResearchHint(r.intent))}_`);

  let offset = 0;
  const schedule = plan.sections.map((s, i) => {
    const line = `- ${clock(offset)}–${clock(offset + s.minutes)} · ${LABEL[s.kind]}: ` +
      `${md(r.briefs[i])} (${s.minutes} min)`;
    offset += s.minutes;
    return line;
  });
  blocks.push("## Schedule", schedule.join("\n"));
  for (const s of plan.sections) {
    if (s.kind !== "focus") blocks.push(...sectionMarkdown(s, r));
  }
  return `${blocks.join("\n\n")}\n`;
}

function notes(availability: Record<AgentName, AgentAvailability>): string[] {
  const out: string[] = [];
  const unavailable = AGENT_NAMES.filter((a) => availability[a] === "unavailable");
  if (unavailable.length > 0) {
    out.push(
      `> **Degraded mode:** some agents were unavailable, so these parts come from fallback ` +
        `templates: ${unavailable.map((a) => AGENT_PART[a]).join(", ")}.`,
    );
  }
  const disabled = AGENT_NAMES.filter((a) => availability[a] === "disabled");
  if (disabled.length > 0) {
    out.push(
      `> **Note:** these parts come from built-in templates because their agents are not ` +
        `enabled: ${disabled.map((a) => AGENT_PART[a]).join(", ")}.`,
    );
  }
  return out;
}

function sectionMarkdown(s: PlanSection, r: RenderInput): string[] {
  const heading = `## ${s.kind === "review" ? s.title : LABEL[s.kind]} (${s.minutes} min)`;
  switch (s.kind) {
    case "review":
      return [heading, s.items.map((item) => `- ${md(item)}`).join("\n")];
    case "resources": {
      const picked = fitting(r.content.resources, s.minutes);
      const used = sumMinutes(picked);
      const note = used < s.minutes
        ? `_${used} min of reading or watching; use the other ${s.minutes - used} min for notes._`
        : null;
      const lines = picked.map(resourceLine).join("\n");
      return note === null ? [heading, lines] : [heading, note, lines];
    }
    case "practice": {
      const sized = sizedExercises(r.content.exercises, s.minutes);
      return [
        heading,
        sized.map((e, i) =>
          `${i + 1}. **${md(e.title)}** (${e.minutes} min): ${md(e.instructions)}`
        )
          .join("\n"),
      ];
    }
    case "stretch":
      return [heading, s.items.map((item) => `- ${md(item)}`).join("\n")];
    case "reflection":
      return [heading, s.items.map((q, i) => `${i + 1}. ${md(q)}`).join("\n")];
    case "focus":
      return [];
  }
}

function resourceLine(resource: Resource): string {
  const title = md(resource.title) || resource.kind;
  const href = safeHref(resource.url);
  const meta = `${resource.kind}, ${resource.minutes} min`;
  return href === null
    ? `- ${title} — ${meta} (link omitted: not an http(s) URL)`
    : `- [${title}](<${href}>) — ${meta}`;
}

/** `75` → `1:15`. */
function clock(minutes: number): string {
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}`;
}
