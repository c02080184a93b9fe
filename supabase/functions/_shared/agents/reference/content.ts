/**
 * Deterministic content for the reference agents (spec 6.4): no network, no model. Every answer
 * is a pure function of the request (topic, depth, goal, week, day, research and history), so
 * the same request always gives the same data and the same ETag, and the planner gets content
 * that varies from day to day and reacts to how the last session went.
 *
 * Structure: `pitchFor` is the one curriculum decision (how a day is pitched for the learner
 * the request describes); each week-scoped agent has a day generator `(req, day, pitch)`; a
 * single-day answer is the generator for `req.day`, a week pack (`referencePack`) the generator
 * for each of the seven days. So a pack's entry for a day equals the single-day answer for it.
 */
import {
  acceptsWeekPack,
  type AgentDataMap,
  type AgentName,
  type AgentRequest,
  type AlexData,
  type CloData,
  type Depth,
  PACK_DAYS,
  type SocraticData,
  type TaData,
  type WeekPack,
} from "../protocol.ts";
import { curriculumWeek, pitchFromLearner, stageSentence } from "./progression.ts";
import { oneLine } from "../../plan/text.ts";

type Difficulty = CloData["difficulty"];
type Resource = AlexData["resources"][number];
type Exercise = TaData["exercises"][number];

/** Each agent's single-day (alex: intent-wide) generator, by name. */
export const REFERENCE_CONTENT: {
  readonly [N in AgentName]: (req: AgentRequest) => AgentDataMap[N];
} = {
  clo: cloContent,
  alex: alexContent,
  ta: taContent,
  socratic: socraticContent,
};

/** The agents whose reference answers a week pack when the request accepts one (spec 6.1). */
export const PACK_AGENTS = ["clo", "ta", "socratic"] as const;
export type PackAgent = (typeof PACK_AGENTS)[number];

/** A day generator: that day's payload of the request's week, pitched as `pitch` says. */
type DayGenerator<N extends AgentName> = (
  req: AgentRequest,
  day: number,
  pitch: DayPitch,
) => AgentDataMap[N];

const DAY_GENERATORS: { readonly [N in PackAgent]: DayGenerator<N> } = {
  clo: cloDay,
  ta: taDay,
  socratic: socraticDay,
};

function isPackAgent(name: AgentName): name is PackAgent {
  return (PACK_AGENTS as readonly AgentName[]).includes(name);
}

/**
 * The week pack of a week-scoped agent: days 1..7 of `req.week`, each `{day, ...payload}`
 * from the day generator. Independent of `req.day`, so asking on any day of the week gives the
 * same pack (and ETag) for the same learner.
 */
export function referencePack<N extends PackAgent>(name: N, req: AgentRequest): WeekPack<N> {
  const generate: DayGenerator<N> = DAY_GENERATORS[name];
  const days = [];
  for (let day = 1; day <= PACK_DAYS; day++) {
    days.push({ day, ...generate(req, day, pitchFor(req, day)) });
  }
  return { days };
}

/** Options of `referenceAnswer`. */
export interface ReferenceAnswerOptions {
  /**
   * Answer the requested day alone even when the request accepts a pack, as an agent written
   * to the original protocol does. @default false
   */
  singleDay?: boolean;
}

/**
 * The `data` a reference agent answers: a week pack when the request accepts one and the agent
 * answers packs (clo, ta, socratic), else the single payload for `req.day` (alex: the intent).
 */
export function referenceAnswer(
  name: AgentName,
  req: AgentRequest,
  options: ReferenceAnswerOptions = {},
): AgentDataMap[AgentName] | WeekPack<AgentName> {
  if (!options.singleDay && acceptsWeekPack(req) && isPackAgent(name)) {
    return referencePack(name, req);
  }
  return REFERENCE_CONTENT[name](req);
}

const DEPTH_LEVEL: Record<Depth, 0 | 1 | 2 | 3> = { surface: 0, informed: 1, deep: 2, expert: 3 };

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** FNV-1a: a small stable hash to pick templates deterministically. */
function hash(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const char of parts.join("\u241f")) {
    h ^= char.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** `list` rotated to start at `seed` (mod its length). */
function rotate<T>(list: readonly T[], seed: number): T[] {
  const start = seed % list.length;
  return [...list.slice(start), ...list.slice(0, start)];
}

/**
 * Trimmed and whitespace-collapsed, cut to at most `max` UTF-16 code units (what the schemas
 * count) on a code point boundary, with an ellipsis when cut. Blank text gives `fallback`.
 */
function shorten(text: string, max: number, fallback = "your topic"): string {
  return text.trim() === "" ? fallback : oneLine(text, max);
}

function topicOf(req: AgentRequest): string {
  return shorten(req.intent.topic, 80);
}

function goalOf(req: AgentRequest, max = 160): string {
  return shorten(req.intent.end_goal, max, "your goal");
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** How the last session went, from the history the orchestrator sends. */
export type LastSession = "none" | "struggled" | "steady" | "strong";

/** How one day's content is pitched for the learner. */
export interface DayPitch {
  /** How the last session went: warm-ups, challenges and extra questions follow it. */
  session: LastSession;
  /** clo's difficulty for the day. */
  difficulty: Difficulty;
}

/**
 * The pitch of `day` (of `req.week`) for the learner the request describes: the one place where
 * the learner shapes the reference content, for single days and packs alike. Today every day of
 * a week is pitched from the history the request carries (the last completed session); a
 * learner model in the request can plug in here to hold or advance the curriculum per day.
 */
export function pitchFor(req: AgentRequest, day: number): DayPitch {
  // With a learner model, progression.ts holds or advances the curriculum on mastery.
  return pitchFromLearner(req, day) ??
    { session: lastSession(req), difficulty: cloDifficulty(req) };
}

function lastSession(req: AgentRequest): LastSession {
  const { last_confidence: confidence, last_completion_time_min: spent } = req.history;
  if (confidence === null) return "none";
  const planned = req.intent.time_per_day_min;
  const short = spent !== null && spent < planned * 0.5;
  if (confidence <= 5 || short) return "struggled";
  const wellSpent = spent === null || spent >= planned * 0.8;
  if (confidence >= 8 && wellSpent) return "strong";
  return "steady";
}

// ---------------------------------------------------------------------------------------------
// clo: curriculum lead

interface Phase {
  name: string;
  summary: string;
}

/** Weeks 1..8 follow this arc; later weeks cycle through the last four phases. */
const PHASES: readonly Phase[] = [
  { name: "Foundations", summary: "This week builds a working mental model and the vocabulary." },
  { name: "Core concepts", summary: "This week covers the ideas everything else rests on." },
  { name: "Applied practice", summary: "This week turns the concepts into hands-on skill." },
  { name: "Patterns and pitfalls", summary: "This week studies what works and what goes wrong." },
  {
    name: "Deeper mechanics",
    summary: "This week looks under the hood at how things really work.",
  },
  { name: "Trade-offs", summary: "This week weighs alternatives and when to choose each." },
  { name: "Integration project", summary: "This week combines the pieces into one small project." },
  { name: "Mastery review", summary: "This week consolidates and tests what you know." },
];

function phaseOf(week: number): Phase {
  if (week <= PHASES.length) return PHASES[week - 1];
  const advanced = PHASES.slice(4);
  return advanced[(week - PHASES.length - 1) % advanced.length];
}

interface DayFocus {
  name: string;
  objectives: readonly ((topic: string) => string)[];
}

/** One focus per day of the week. */
const DAY_FOCUS: readonly DayFocus[] = [
  {
    name: "orientation and key terms",
    objectives: [
      (t) => `Define the five most important terms in ${t} in your own words`,
      (t) => `Sketch a one-page map of how the main parts of ${t} relate`,
      (t) => `List three questions you want ${t} to answer for you`,
    ],
  },
  {
    name: "how it works",
    objectives: [
      (t) => `Explain step by step how one core mechanism of ${t} works`,
      (t) => `Trace a simple example of ${t} from input to result`,
      () => `Identify the assumptions the mechanism relies on`,
    ],
  },
  {
    name: "worked examples",
    objectives: [
      (t) => `Follow two worked examples of ${t} and annotate each step`,
      () => `Predict the outcome of a variation before checking it`,
      () => `Write down the pattern the examples share`,
    ],
  },
  {
    name: "hands-on practice",
    objectives: [
      (t) => `Solve three practice problems on ${t} without notes`,
      () => `Time yourself on one problem and note where you slowed down`,
      () => `Check your answers and fix every mistake you find`,
    ],
  },
  {
    name: "common mistakes",
    objectives: [
      (t) => `Collect four common mistakes people make with ${t}`,
      () => `Reproduce one mistake deliberately and explain why it happens`,
      () => `Write a short checklist that prevents them`,
    ],
  },
  {
    name: "build something small",
    objectives: [
      (t) => `Build a small, complete example that uses ${t}`,
      () => `Change one part of it and observe the effect`,
      () => `Describe what you would improve with more time`,
    ],
  },
  {
    name: "review and consolidation",
    objectives: [
      (t) => `Summarise this week of ${t} in ten sentences`,
      () => `Answer last week's open questions, or note why you cannot yet`,
      () => `Choose the one topic to revisit next week`,
    ],
  },
];

const DEPTH_OBJECTIVES: Record<Depth, readonly ((topic: string) => string)[]> = {
  surface: [],
  informed: [(t) => `Connect today's idea to something you already know outside ${t}`],
  deep: [
    (t) => `Connect today's idea to something you already know outside ${t}`,
    (t) => `Find one primary source on ${t} and check a claim against it`,
  ],
  expert: [
    (t) => `Find one primary source on ${t} and check a claim against it`,
    (t) => `Identify an open problem or known limitation in ${t}`,
    (t) => `Argue for and against one design decision in ${t}`,
  ],
};

function cloDifficulty(req: AgentRequest): Difficulty {
  switch (lastSession(req)) {
    case "struggled":
      return "intro";
    case "strong":
      return "stretch";
    case "steady":
      return "core";
    case "none": {
      const level = DEPTH_LEVEL[req.intent.depth];
      if (req.week === 1 && req.history.completed_sessions === 0) {
        return level === 3 ? "core" : "intro";
      }
      return level === 3 ? "stretch" : "core";
    }
  }
}

/** Today's focus and objectives. Difficulty follows the last session's confidence and time. */
export function cloContent(req: AgentRequest): CloData {
  return cloDay(req, req.day, pitchFor(req, req.day));
}

/** `day`'s own focus and objectives, at the pitch's difficulty. */
export function cloDay(req: AgentRequest, day: number, pitch: DayPitch): CloData {
  const topic = topicOf(req);
  const phase = phaseOf(curriculumWeek(req));
  const focus = DAY_FOCUS[day - 1];
  const { difficulty } = pitch;

  const objectives = focus.objectives.map((objective) => objective(topic));
  objectives.push(...DEPTH_OBJECTIVES[req.intent.depth].map((objective) => objective(topic)));
  // With a learner model the orchestrator's plan does the day's review and stretch.
  if (difficulty === "intro" && req.learner === undefined && req.history.last_confidence !== null) {
    objectives.unshift(`Revisit the parts of the last session that felt unclear before moving on`);
  } else if (difficulty === "stretch") {
    objectives.push(`Stretch: apply ${topic} to a problem you have not seen before`);
  }

  const adaptation = req.learner !== undefined
    ? stageSentence(req, phase.name)
    : difficulty === "intro"
    ? "The pace is gentle today: secure the basics before adding anything new."
    : difficulty === "stretch"
    ? "You are ready for more: today includes a stretch goal."
    : "Today keeps a steady pace.";
  const description = [
    `Week ${req.week}, day ${day} of your ${req.intent.depth} path in ${topic}.`,
    phase.summary,
    `Today's focus is ${focus.name}, working towards your goal: ${goalOf(req)}.`,
    adaptation,
  ].join(" ");

  return {
    title: `${topic}: ${phase.name}, ${focus.name}`,
    description,
    objectives: objectives.slice(0, 8),
    difficulty,
  };
}

// ---------------------------------------------------------------------------------------------
// alex: researcher

interface Source {
  site: string;
  kind: Resource["kind"];
  /** Lowest depth level the source suits. */
  level: 0 | 1 | 2 | 3;
  minutes: number;
  url: (query: string) => string;
}

const search =
  (base: string, param: string, extra: Record<string, string> = {}) => (query: string) =>
    `${base}?${new URLSearchParams({ [param]: query, ...extra })}`;

const SOURCES: readonly Source[] = [
  {
    site: "Wikipedia",
    kind: "article",
    level: 0,
    minutes: 10,
    url: search("https://en.wikipedia.org/w/index.php", "search"),
  },
  {
    site: "YouTube",
    kind: "video",
    level: 0,
    minutes: 20,
    url: search("https://www.youtube.com/results", "search_query"),
  },
  {
    site: "Khan Academy",
    kind: "course",
    level: 0,
    minutes: 25,
    url: search("https://www.khanacademy.org/search", "page_search_query"),
  },
  {
    site: "Stack Overflow",
    kind: "article",
    level: 1,
    minutes: 15,
    url: search("https://stackoverflow.com/search", "q"),
  },
  {
    site: "DevDocs",
    kind: "docs",
    level: 1,
    minutes: 15,
    url: (query) => `https://devdocs.io/#q=${encodeURIComponent(query)}`,
  },
  {
    site: "Read the Docs",
    kind: "docs",
    level: 1,
    minutes: 20,
    url: search("https://readthedocs.org/search/", "q"),
  },
  {
    site: "Coursera",
    kind: "course",
    level: 1,
    minutes: 30,
    url: search("https://www.coursera.org/search", "query"),
  },
  {
    site: "GitHub",
    kind: "repo",
    level: 1,
    minutes: 25,
    url: search("https://github.com/search", "q", { type: "repositories" }),
  },
  {
    site: "MIT OpenCourseWare",
    kind: "course",
    level: 2,
    minutes: 45,
    url: search("https://ocw.mit.edu/search/", "q"),
  },
  {
    site: "arXiv",
    kind: "paper",
    level: 2,
    minutes: 40,
    url: search("https://arxiv.org/search/", "query", { searchtype: "all" }),
  },
  {
    site: "Google Scholar",
    kind: "paper",
    level: 2,
    minutes: 40,
    url: search("https://scholar.google.com/scholar", "q"),
  },
  {
    site: "Semantic Scholar",
    kind: "paper",
    level: 3,
    minutes: 45,
    url: search("https://www.semanticscholar.org/search", "q"),
  },
];

const DEPTH_QUERY: Record<Depth, string> = {
  surface: "introduction",
  informed: "tutorial",
  deep: "in depth",
  expert: "advanced",
};

/** Which kinds of resource come first for each depth (taken round-robin, in this order). */
const KIND_PRIORITY: Record<Depth, readonly Resource["kind"][]> = {
  surface: ["article", "video", "course", "docs", "repo", "paper"],
  informed: ["docs", "article", "video", "course", "repo", "paper"],
  deep: ["docs", "paper", "course", "repo", "article", "video"],
  expert: ["paper", "docs", "repo", "course", "article", "video"],
};

const KIND_LABEL: Record<Resource["kind"], string> = {
  article: "article search",
  video: "video lectures",
  paper: "papers",
  docs: "documentation",
  course: "courses",
  repo: "example repositories",
};

/**
 * Resources for the topic: search pages on well-known sites suited to the depth, mixing kinds
 * in the depth's order of preference (deeper intents reach papers and university courses;
 * `research` puts papers first and widens the list and the reading time). Alex's answers are
 * cached per intent, so they depend on the intent and `research`, not on the week or day.
 */
export function alexContent(req: AgentRequest): AlexData {
  const topic = topicOf(req);
  const level = req.research ? 3 : DEPTH_LEVEL[req.intent.depth];
  const count = clamp([3, 4, 5, 6][DEPTH_LEVEL[req.intent.depth]] + (req.research ? 3 : 0), 1, 10);
  const query = `${shorten(req.intent.topic, 60)} ${DEPTH_QUERY[req.intent.depth]}`;
  const kinds = req.research
    ? ["paper" as const, ...KIND_PRIORITY[req.intent.depth].filter((kind) => kind !== "paper")]
    : KIND_PRIORITY[req.intent.depth];
  // Stable for an intent, but different topics start from different sites of each kind.
  const seed = hash(req.intent.topic.toLowerCase(), req.intent.depth);
  const queues = kinds
    .map((kind) => SOURCES.filter((source) => source.kind === kind && source.level <= level))
    .filter((queue) => queue.length > 0)
    .map((queue) => rotate(queue, seed));
  const picked: Source[] = [];
  while (picked.length < count && queues.some((queue) => queue.length > 0)) {
    for (const queue of queues) {
      const next = queue.shift();
      if (next && picked.length < count) picked.push(next);
    }
  }
  const cap = Math.max(5, req.intent.time_per_day_min);
  return {
    resources: picked.map((source) => ({
      title: `${topic}: ${KIND_LABEL[source.kind]} on ${source.site}`,
      url: source.url(query),
      kind: source.kind,
      minutes: clamp(Math.round(source.minutes * (req.research ? 1.5 : 1)), 1, Math.min(cap, 480)),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// ta: teaching assistant

interface ExerciseTemplate {
  title: (topic: string) => string;
  instructions: (topic: string, goal: string) => string;
}

const EXERCISES: readonly ExerciseTemplate[] = [
  {
    title: (t) => `Explain ${t} in your own words`,
    instructions: (t) =>
      `Without notes, write a short explanation of today's idea in ${t} for a classmate. ` +
      `Then compare it with your sources and correct anything you got wrong.`,
  },
  {
    title: () => `Recall drill`,
    instructions: (t) =>
      `Write down every term and fact about ${t} you remember from this week. ` +
      `Mark the ones you were unsure of and look them up.`,
  },
  {
    title: () => `Worked problem`,
    instructions: (t) =>
      `Pick one typical problem in ${t} and solve it step by step, ` +
      `writing one sentence per step about why you took it.`,
  },
  {
    title: (t) => `Build a tiny ${t} example`,
    instructions: (t, goal) =>
      `Create the smallest complete example that uses today's idea in ${t}. ` +
      `Keep it related to your goal (${goal}).`,
  },
  {
    title: () => `Find the bug`,
    instructions: (t) =>
      `Take a correct example from today's material in ${t}, introduce one subtle mistake, ` +
      `and explain how someone would notice and fix it.`,
  },
  {
    title: () => `Compare and contrast`,
    instructions: (t) =>
      `Choose two approaches or ideas in ${t} and list three ways they differ ` +
      `and one situation where each is the better choice.`,
  },
  {
    title: () => `Teach-back`,
    instructions: (t) =>
      `Record or write a two-minute lesson on today's part of ${t}, ` +
      `ending with one question a learner should be able to answer afterwards.`,
  },
];

const WARM_UP: ExerciseTemplate = {
  title: () => `Warm-up review`,
  instructions: (t) =>
    `Reread your notes from the last session on ${t} and redo its easiest exercise ` +
    `before starting anything new.`,
};

const CHALLENGE: ExerciseTemplate = {
  title: () => `Challenge`,
  instructions: (t, goal) =>
    `Apply ${t} to an unfamiliar problem that moves you towards your goal (${goal}). ` +
    `Write down where it stretched you.`,
};

/**
 * Practice exercises for today: more of them for deeper intents and longer days, a warm-up after
 * a hard session and a challenge after a strong one; about 40 % of the day's minutes in total.
 */
export function taContent(req: AgentRequest): TaData {
  return taDay(req, req.day, pitchFor(req, req.day));
}

/** `day`'s exercises: the week's rotation at that day, a warm-up or challenge by the pitch. */
export function taDay(req: AgentRequest, day: number, pitch: DayPitch): TaData {
  const topic = topicOf(req);
  const goal = goalOf(req, 120);
  const { session } = pitch;
  const core = 1 + Math.floor(DEPTH_LEVEL[req.intent.depth] / 2) +
    (req.intent.time_per_day_min >= 60 ? 1 : 0);
  const templates = rotate(EXERCISES, (req.week - 1) * 7 + (day - 1)).slice(0, core);
  if (session === "struggled") templates.unshift(WARM_UP);
  if (session === "strong") templates.push(CHALLENGE);

  const budget = Math.max(1, Math.round(req.intent.time_per_day_min * 0.4));
  const count = clamp(templates.length, 1, Math.min(6, budget));
  const chosen = templates.slice(0, count);
  const each = Math.floor(budget / count);
  const extra = budget % count;
  return {
    exercises: chosen.map((template, index): Exercise => ({
      title: template.title(topic),
      instructions: template.instructions(topic, goal),
      minutes: each + (index < extra ? 1 : 0),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// socratic: Socratic tutor

const QUESTIONS: readonly ((topic: string, goal: string) => string)[] = [
  (t) => `What is the single most important idea you met in ${t} today, and why that one?`,
  (t) => `Where did today's material on ${t} contradict what you expected?`,
  (t) => `How would you explain today's part of ${t} to someone who has never heard of it?`,
  (_t, g) => `How does what you learned today move you towards your goal: ${g}?`,
  (t) => `What evidence would convince you that your understanding of ${t} is wrong?`,
  (t) => `Which assumption in today's examples of ${t} would break first in the real world?`,
  (t) => `If you had to teach ${t} tomorrow, what would you leave out, and what would that cost?`,
  (t) => `What question about ${t} can you answer now that you could not answer last week?`,
  (t) => `Where else, outside ${t}, does today's idea show up?`,
];

/** Reflection questions: three to five, rotating by day, shaped by how the last session went. */
export function socraticContent(req: AgentRequest): SocraticData {
  return socraticDay(req, req.day, pitchFor(req, req.day));
}

/** `day`'s questions: rotating by week and day, one more after a struggle or a strong day. */
export function socraticDay(req: AgentRequest, day: number, pitch: DayPitch): SocraticData {
  const topic = topicOf(req);
  const goal = goalOf(req);
  const { session } = pitch;
  const count = 3 + (DEPTH_LEVEL[req.intent.depth] >= 2 ? 1 : 0);
  // Consecutive starting points: no two days of a week open with the same questions.
  const questions = rotate(QUESTIONS, (hash(req.week) + day - 1) % QUESTIONS.length)
    .slice(0, count)
    .map((question) => question(topic, goal));
  if (session === "struggled") {
    questions.unshift(
      `Which step of the last session on ${topic} would you need to see again, and why?`,
    );
  } else if (session === "strong") {
    questions.push(
      `Where does your understanding of ${topic} reach its limit, and what lies beyond it?`,
    );
  }
  return { questions: questions.slice(0, 6) };
}
