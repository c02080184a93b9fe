import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AGENT_DATA_SCHEMAS,
  AGENT_NAMES,
  type AgentDataMap,
  type AgentName,
  AlexDataSchema,
  CloDataSchema,
  DEPTHS,
  SocraticDataSchema,
  TaDataSchema,
} from "../../supabase/functions/_shared/agents/protocol.ts";
import type { AgentSignal, Signals } from "../../supabase/functions/_shared/agents/signal.ts";
import { composePlan } from "../../supabase/functions/_shared/plan/compose.ts";
import {
  alexFallback,
  cloFallback,
  type FallbackContext,
  fallbackFor,
  socraticFallback,
  taFallback,
} from "../../supabase/functions/_shared/plan/fallback.ts";
import { adaptationFor, nextDay, nextDayHint } from "../../supabase/functions/_shared/plan/hint.ts";
import { maxBlocks } from "../../supabase/functions/_shared/plan/outline.ts";
import type {
  ComposedPlan,
  LearnerState,
  PlanInput,
  PlanIntent,
  PreviousCompletion,
  ReviewItem,
  SectionKind,
} from "../../supabase/functions/_shared/plan/types.ts";

// --- fixtures -------------------------------------------------------------------------------

type State = "up" | "down" | "absent";
type States = Record<AgentName, State>;

const ALL_UP: States = { clo: "up", alex: "up", ta: "up", socratic: "up" };
const ORDER: SectionKind[] = ["review", "focus", "resources", "practice", "stretch", "reflection"];
const LABEL: Record<SectionKind, string> = {
  review: "Review",
  focus: "Focus",
  resources: "Resources",
  practice: "Practice",
  stretch: "Stretch",
  reflection: "Reflection",
};

const INTENT: PlanIntent = {
  topic: "Machine Learning",
  depth: "informed",
  end_goal: "Build production ML models",
  time_per_day_min: 60,
};

const DATA: AgentDataMap = {
  clo: {
    title: "Neural Network Fundamentals",
    description: "Deep dive into neural network architecture.",
    objectives: ["Explain forward propagation", "Implement a perceptron"],
    difficulty: "intro",
  },
  alex: {
    resources: [
      {
        title: "Neural networks, visually",
        url: "https://example.org/nn",
        kind: "video",
        minutes: 20,
      },
      { title: "Perceptron docs", url: "https://example.org/docs", kind: "docs", minutes: 10 },
    ],
  },
  ta: {
    exercises: [
      { title: "Build a perceptron", instructions: "Use NumPy only.", minutes: 15 },
      { title: "Train it on AND/OR", instructions: "Plot the decision boundary.", minutes: 10 },
    ],
  },
  socratic: { questions: ["Why do we need non-linearities?", "What does a weight mean?"] },
};

function signal<N extends AgentName>(
  agent: N,
  state: State,
  data: AgentDataMap[N],
): AgentSignal<N> | undefined {
  const meta = { agent, latency_ms: 12, attempts: 1, status: 200, error_code: null };
  if (state === "up") return { ...meta, source: "network", available: true, fresh: true, data };
  if (state === "down") {
    return {
      ...meta,
      source: "fallback",
      available: false,
      fresh: false,
      data: null,
      status: 503,
      error_code: "http_503",
    };
  }
  return undefined;
}

function signalsFor(states: States, data: AgentDataMap = DATA): Signals {
  const signals: Signals = {};
  const clo = signal("clo", states.clo, data.clo);
  const alex = signal("alex", states.alex, data.alex);
  const ta = signal("ta", states.ta, data.ta);
  const socratic = signal("socratic", states.socratic, data.socratic);
  if (clo) signals.clo = clo;
  if (alex) signals.alex = alex;
  if (ta) signals.ta = ta;
  if (socratic) signals.socratic = socratic;
  return signals;
}

function input(overrides: Partial<PlanInput> = {}, minutes = 60): PlanInput {
  return {
    intent: { ...INTENT, time_per_day_min: minutes },
    week: 1,
    day: 4,
    signals: signalsFor(ALL_UP),
    previous: null,
    ...overrides,
  };
}

function previous(overrides: Partial<PreviousCompletion> = {}): PreviousCompletion {
  return {
    week: 1,
    day: 3,
    completion_time_min: 60,
    confidence: 7,
    planned_minutes: 60,
    ...overrides,
  };
}

/** Every combination of up/down for the four agents. */
function allUpDown(): States[] {
  const out: States[] = [];
  for (let mask = 0; mask < 16; mask++) {
    out.push({
      clo: mask & 1 ? "down" : "up",
      alex: mask & 2 ? "down" : "up",
      ta: mask & 4 ? "down" : "up",
      socratic: mask & 8 ? "down" : "up",
    });
  }
  return out;
}

function clock(minutes: number): string {
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}`;
}

/** The invariants every composed plan must satisfy, whatever the input. */
function checkInvariants(plan: PlanInput, states: States, result: ComposedPlan): void {
  const total = plan.intent.time_per_day_min;
  const { sections } = result.plan;
  const kinds = sections.map((s) => s.kind);

  // Minutes: whole, at least the minimum block (one block takes a shorter day), exactly the
  // budget.
  assert.equal(sections.reduce((sum, s) => sum + s.minutes, 0), total);
  for (const s of sections) {
    assert.ok(Number.isInteger(s.minutes) && s.minutes >= Math.min(5, total), s.kind);
  }
  assert.equal(result.plan.total_minutes, total);

  // Order and presence: steps scale with the minutes (15 minutes: at most 4 steps).
  assert.deepEqual(kinds, ORDER.filter((k) => kinds.includes(k)));
  assert.equal(new Set(kinds).size, kinds.length);
  assert.ok(kinds.length <= maxBlocks(total));
  if (total <= 15) assert.ok(kinds.length <= 4);
  const adaptation = adaptationFor(plan.previous, total);
  assert.equal(result.plan.adaptation, adaptation);
  assert.ok(kinds.includes(adaptation === "review" ? "review" : "focus"));
  if (total >= 10) assert.ok(kinds.includes("focus"));
  if (total >= 15 || (total >= 10 && adaptation === "steady")) {
    assert.ok(kinds.includes("practice"));
  }
  assert.equal(kinds.includes("review"), adaptation === "review");
  assert.equal(kinds.includes("stretch"), adaptation === "stretch");
  if (kinds.includes("resources")) assert.equal(states.alex, "up");

  // Sources and degraded bookkeeping.
  const expectedSource = (agent: AgentName) => states[agent] === "up" ? agent : "fallback";
  const sourceOf = (kind: SectionKind) => sections.find((s) => s.kind === kind)?.source;
  if (kinds.includes("focus")) assert.equal(sourceOf("focus"), expectedSource("clo"));
  if (kinds.includes("practice")) assert.equal(sourceOf("practice"), expectedSource("ta"));
  if (kinds.includes("reflection")) {
    assert.equal(sourceOf("reflection"), expectedSource("socratic"));
  }
  if (kinds.includes("resources")) assert.equal(sourceOf("resources"), "alex");
  const down = AGENT_NAMES.filter((a) => states[a] === "down");
  assert.deepEqual(result.plan.unavailable_agents, down);
  assert.equal(result.plan_md.includes("> **Degraded mode:**"), down.length > 0);
  for (const agent of AGENT_NAMES) {
    const named = new RegExp(`\\(${agent}\\)`).test(
      result.plan_md.split("\n").find((l) => l.startsWith("> **Degraded mode:**")) ?? "",
    );
    assert.equal(named, states[agent] === "down", agent);
  }

  // Summary: one short step per section, each ending with its minutes.
  assert.equal(result.summary.steps.length, sections.length);
  sections.forEach((s, i) => {
    assert.ok(result.summary.steps[i].startsWith(`${LABEL[s.kind]}: `));
    assert.ok(result.summary.steps[i].endsWith(` (${s.minutes} min)`));
    assert.ok(result.summary.steps[i].length <= 120);
    assert.doesNotMatch(result.summary.steps[i], /\n/);
  });
  const stepMinutes = result.summary.steps.map((step) => Number(/\((\d+) min\)$/.exec(step)?.[1]));
  assert.equal(stepMinutes.reduce((a, b) => a + b, 0), total);
  assert.equal(result.summary.title, result.plan.title);
  assert.doesNotMatch(result.summary.title, /\n/);

  // Markdown: header, headings, and a schedule that covers the day without gaps.
  assert.ok(
    result.plan_md.startsWith(
      `# Daily Learning Plan — Week ${plan.week}, Day ${plan.day}\n\n## Today's Focus: `,
    ),
  );
  for (const heading of ["### Objectives", "## Schedule"]) {
    assert.ok(result.plan_md.includes(`\n${heading}\n`), heading);
  }
  // A heading for each scheduled block (with its minutes), none for the others.
  for (const kind of ["resources", "practice", "stretch", "reflection"] as const) {
    const s = sections.find((x) => x.kind === kind);
    const heading = new RegExp(`\\n## ${LABEL[kind]}( \\(|\\n)`);
    assert.equal(heading.test(result.plan_md), s !== undefined, kind);
    if (s) assert.ok(result.plan_md.includes(`\n## ${LABEL[kind]} (${s.minutes} min)\n`));
  }
  // The day's decision, stated once, in the words the hint uses.
  const phrases = [/opens with a (review|refresher)/, /keeps a steady pace/, /adds a stretch/];
  const today = result.plan_md.split("\n").filter((l) => l.startsWith("> **Today: "));
  assert.equal(today.length, 1);
  assert.deepEqual(
    phrases.map((p) => p.test(today[0])),
    [adaptation === "review", adaptation === "steady", adaptation === "stretch"],
  );
  const schedule = result.plan_md.split("\n").filter((l) => /^- \d+:\d\d–\d+:\d\d · /.test(l));
  assert.equal(schedule.length, sections.length);
  let offset = 0;
  sections.forEach((s, i) => {
    const start = clock(offset);
    offset += s.minutes;
    assert.ok(schedule[i].startsWith(`- ${start}–${clock(offset)} · ${LABEL[s.kind]}: `));
    assert.ok(schedule[i].endsWith(` (${s.minutes} min)`));
  });
  assert.ok(result.plan_md.endsWith("\n") && !result.plan_md.endsWith("\n\n"));
}

// --- arbitraries ----------------------------------------------------------------------------

const text = (max: number) =>
  fc.oneof(
    fc.string({ minLength: 1, maxLength: max }),
    fc.constantFrom("C++ & <b>bold</b>", "line\nbreak\r\nagain", "# heading", "- item", "1. x"),
  );
const minutesArb = fc.integer({ min: 1, max: 480 });
const dataArb: fc.Arbitrary<AgentDataMap> = fc.record({
  clo: fc.record({
    title: text(200),
    description: text(300),
    objectives: fc.array(text(100), { minLength: 1, maxLength: 8 }),
    difficulty: fc.constantFrom("intro", "core", "stretch"),
  }),
  alex: fc.record({
    resources: fc.array(
      fc.record({
        title: text(100),
        url: fc.webUrl(),
        kind: fc.constantFrom("article", "video", "paper", "docs", "course", "repo"),
        minutes: minutesArb,
      }),
      { maxLength: 10 },
    ),
  }),
  ta: fc.record({
    exercises: fc.array(
      fc.record({ title: text(100), instructions: text(300), minutes: minutesArb }),
      { minLength: 1, maxLength: 6 },
    ),
  }),
  socratic: fc.record({ questions: fc.array(text(200), { minLength: 1, maxLength: 6 }) }),
});
const stateArb = fc.constantFrom<State>("up", "down", "absent");
const statesArb: fc.Arbitrary<States> = fc.record({
  clo: stateArb,
  alex: stateArb,
  ta: stateArb,
  socratic: stateArb,
});
const previousArb: fc.Arbitrary<PreviousCompletion | null> = fc.option(
  fc.record({
    week: fc.integer({ min: 1, max: 520 }),
    day: fc.integer({ min: 1, max: 7 }),
    completion_time_min: fc.integer({ min: 0, max: 1440 }),
    confidence: fc.integer({ min: 1, max: 10 }),
    planned_minutes: fc.integer({ min: 5, max: 480 }),
  }),
);
const intentArb: fc.Arbitrary<PlanIntent> = fc.record({
  topic: text(200),
  depth: fc.constantFrom(...DEPTHS),
  end_goal: text(500),
  time_per_day_min: fc.integer({ min: 5, max: 480 }),
});
const caseArb = fc.record({
  intent: intentArb,
  week: fc.integer({ min: 1, max: 520 }),
  day: fc.integer({ min: 1, max: 7 }),
  previous: previousArb,
  states: statesArb,
  data: dataArb,
});

// --- composePlan ----------------------------------------------------------------------------

Deno.test("composePlan: the plan_md header and sections", () => {
  const { plan_md } = composePlan(input());
  assert.ok(
    plan_md.startsWith(
      "# Daily Learning Plan — Week 1, Day 4\n\n## Today's Focus: Neural Network Fundamentals\n",
    ),
  );
  for (
    const part of [
      "Deep dive into neural network architecture.",
      "> **Today: steady.** This is your first day. This plan keeps a steady pace.",
      "### Objectives\n\n1. Explain forward propagation\n2. Implement a perceptron",
      "## Schedule\n\n- 0:00–",
      "## Resources (10 min)\n\n- [Perceptron docs](<https://example.org/docs>) — docs, 10 min",
      "## Practice (",
      "1. **Build a perceptron** (",
      "## Reflection (",
      "1. Why do we need non-linearities?",
    ]
  ) {
    assert.ok(plan_md.includes(part), part);
  }
  // Only the reading that fits the 10 scheduled minutes is listed.
  assert.doesNotMatch(plan_md, /Neural networks, visually/);
  assert.doesNotMatch(plan_md, /Degraded mode|\*\*Note:\*\*/);
});

Deno.test("composePlan: the exact Markdown of a typical plan", () => {
  const result = composePlan(input({ previous: previous({ confidence: 4 }) }));
  assert.equal(
    result.plan_md,
    `# Daily Learning Plan — Week 1, Day 4

## Today's Focus: Neural Network Fundamentals

Deep dive into neural network architecture.

_Difficulty: intro · Depth: informed · 60 min_

> **Today: review.** Week 1, Day 3 felt shaky: 4/10 after 60 of 60 planned minutes. This plan opens with a review of Week 1, Day 3, and keeps new material light.

### Objectives

1. Explain forward propagation
2. Implement a perceptron

## Schedule

- 0:00–0:05 · Review: Revisit Week 1, Day 3 (5 min)
- 0:05–0:15 · Focus: Explain forward propagation (+1 more) (10 min)
- 0:15–0:25 · Resources: Perceptron docs (10 min)
- 0:25–0:53 · Practice: Build a perceptron (+1 more) (28 min)
- 0:53–1:00 · Reflection: Why do we need non-linearities? (7 min)

## Review (5 min)

- Revisit the material from Week 1, Day 3: re-read your notes and summarise the key ideas in three sentences.

## Resources (10 min)

- [Perceptron docs](<https://example.org/docs>) — docs, 10 min

## Practice (28 min)

1. **Build a perceptron** (17 min): Use NumPy only.
2. **Train it on AND/OR** (11 min): Plot the decision boundary.

## Reflection (7 min)

1. Why do we need non-linearities?
2. What does a weight mean?
`,
  );
  assert.deepEqual(result.summary, {
    title: "Neural Network Fundamentals",
    description: "Deep dive into neural network architecture.",
    steps: [
      "Review: Revisit Week 1, Day 3 (5 min)",
      "Focus: Explain forward propagation (+1 more) (10 min)",
      "Resources: Perceptron docs (10 min)",
      "Practice: Build a perceptron (+1 more) (28 min)",
      "Reflection: Why do we need non-linearities? (7 min)",
    ],
  });
  assert.equal(result.plan.difficulty, "intro");
  assert.equal(result.plan.version, 2);
  assert.deepEqual(result.plan.objectives.map((o) => [o.key, o.week, o.day]), [
    ["explain forward propagation", 1, 4],
    ["implement a perceptron", 1, 4],
  ]);
  assert.deepEqual(result.plan.reviews, []);
});

Deno.test("composePlan: minutes add up for every budget 5..480, any agents down", () => {
  const previousCases = [
    null,
    previous({ confidence: 3 }),
    previous({ confidence: 9 }),
    previous({ confidence: 7 }),
  ];
  for (const states of allUpDown()) {
    const signals = signalsFor(states);
    for (let minutes = 5; minutes <= 480; minutes++) {
      for (const prev of previousCases) {
        const plan = input({ signals, previous: prev }, minutes);
        checkInvariants(plan, states, composePlan(plan));
      }
    }
  }
});

Deno.test("composePlan: invariants hold for random agent payloads and states (property)", () => {
  fc.assert(
    fc.property(caseArb, ({ intent, week, day, previous, states, data }) => {
      const plan: PlanInput = { intent, week, day, previous, signals: signalsFor(states, data) };
      checkInvariants(plan, states, composePlan(plan));
    }),
    { numRuns: 1500 },
  );
});

Deno.test("composePlan: deterministic (same input, byte-identical output)", () => {
  const plan = input({ previous: previous({ confidence: 9 }) }, 95);
  const a = composePlan(plan);
  const b = composePlan(structuredClone(plan));
  assert.deepEqual(a, b);
  assert.equal(a.plan_md, b.plan_md);
  fc.assert(
    fc.property(caseArb, ({ intent, week, day, previous, states, data }) => {
      const make = (): PlanInput => ({
        intent: { ...intent },
        week,
        day,
        previous: previous && { ...previous },
        signals: signalsFor(states, structuredClone(data)),
      });
      const first = composePlan(make());
      const second = composePlan(make());
      assert.deepEqual(first, second);
      assert.equal(first.plan_md, second.plan_md);
    }),
    { numRuns: 300 },
  );
});

Deno.test("composePlan: does not mutate its input", () => {
  const plan = input({ previous: previous({ confidence: 2 }) });
  const before = structuredClone(plan);
  composePlan(plan);
  assert.deepEqual(plan, before);
});

Deno.test("composePlan: adaptation follows confidence boundaries 5/6/7/8", () => {
  const kindsFor = (confidence: number) => {
    const r = composePlan(input({ previous: previous({ confidence }) }));
    return { adaptation: r.plan.adaptation, kinds: r.plan.sections.map((s) => s.kind) };
  };
  assert.deepEqual(kindsFor(5), {
    adaptation: "review",
    kinds: ["review", "focus", "resources", "practice", "reflection"],
  });
  assert.deepEqual(kindsFor(6).adaptation, "steady");
  assert.deepEqual(kindsFor(7), {
    adaptation: "steady",
    kinds: ["focus", "resources", "practice", "reflection"],
  });
  assert.deepEqual(kindsFor(8), {
    adaptation: "stretch",
    kinds: ["focus", "resources", "practice", "stretch", "reflection"],
  });
});

Deno.test("composePlan: adaptation follows time boundaries 69/70/89/90 %", () => {
  const adaptationAt = (spent: number, confidence: number) =>
    composePlan(input({
      previous: previous({ completion_time_min: spent, planned_minutes: 100, confidence }),
    })).plan.adaptation;
  assert.equal(adaptationAt(69, 8), "review");
  assert.equal(adaptationAt(70, 8), "steady");
  assert.equal(adaptationAt(89, 8), "steady");
  assert.equal(adaptationAt(90, 8), "stretch");
  assert.equal(adaptationAt(69, 7), "review");
  assert.equal(adaptationAt(70, 7), "steady");
  assert.equal(adaptationAt(90, 7), "steady");
  assert.equal(composePlan(input()).plan.adaptation, "steady");
});

Deno.test("composePlan: review comes first and stretch derives from the focus", () => {
  const review = composePlan(input({ previous: previous({ week: 2, day: 7, confidence: 3 }) }));
  assert.equal(review.plan.sections[0].kind, "review");
  assert.equal(review.plan.sections[0].source, "planner");
  assert.match(review.plan.sections[0].items[0], /Week 2, Day 7/);
  assert.match(review.plan_md, /## Review \(\d+ min\)/);

  const stretch = composePlan(input({ previous: previous({ confidence: 10 }) }));
  const section = stretch.plan.sections.find((s) => s.kind === "stretch");
  assert.ok(section);
  assert.equal(section.source, "planner");
  assert.equal(section.items.length, 1);
  assert.match(section.items[0], /Explain forward propagation/);
  assert.match(stretch.plan_md, /## Stretch \(\d+ min\)/);
});

Deno.test("composePlan: small budgets drop sections by priority, never under 5 minutes", () => {
  const kinds = (minutes: number, prev: PreviousCompletion | null) =>
    composePlan(input({ previous: prev }, minutes)).plan.sections.map((s) => [s.kind, s.minutes]);
  // One block under 10 minutes, the whole day.
  assert.deepEqual(kinds(5, null), [["focus", 5]]);
  assert.deepEqual(kinds(9, null), [["focus", 9]]);
  assert.deepEqual(kinds(5, previous({ confidence: 2 })), [["review", 5]]);
  assert.deepEqual(kinds(5, previous({ confidence: 9 })), [["focus", 5]]); // no room to stretch
  assert.deepEqual(kinds(10, null), [["focus", 5], ["practice", 5]]);
  assert.deepEqual(kinds(10, previous({ confidence: 2 })), [["review", 5], ["focus", 5]]);
  assert.deepEqual(kinds(10, previous({ confidence: 9 })), [["focus", 5], ["stretch", 5]]);
  // 15 minutes: three blocks of five.
  assert.deepEqual(kinds(15, null).map(([k]) => k), ["focus", "practice", "reflection"]);
  assert.deepEqual(kinds(15, previous({ confidence: 2 })).map(([k]) => k), [
    "review",
    "focus",
    "practice",
  ]);
  assert.deepEqual(kinds(15, previous({ confidence: 9 })).map(([k]) => k), [
    "focus",
    "practice",
    "stretch",
  ]);
  // 20 minutes: the 10-minute resource does not fit in the 5 left for reading.
  assert.deepEqual(kinds(20, null).map(([k]) => k), ["focus", "practice", "reflection"]);
  assert.deepEqual(kinds(40, null).map(([k]) => k), [
    "focus",
    "resources",
    "practice",
    "reflection",
  ]);
  // What is not scheduled is not listed: no heading, no items.
  const md = composePlan(input({ previous: previous({ confidence: 2 }) }, 15)).plan_md;
  assert.doesNotMatch(md, /## Resources|## Reflection|example\.org/);
});

Deno.test("composePlan: item counts scale with the block minutes", () => {
  const many: AgentDataMap = {
    clo: { ...DATA.clo, objectives: ["O1", "O2", "O3", "O4", "O5", "O6"] },
    alex: {
      resources: [10, 15, 20, 25, 30].map((minutes, i) => ({
        title: `R${i}`,
        url: `https://example.org/${i}`,
        kind: "article" as const,
        minutes,
      })),
    },
    ta: {
      exercises: [1, 2, 3, 4].map((i) => ({ title: `E${i}`, instructions: "Do it.", minutes: 10 })),
    },
    socratic: { questions: ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"] },
  };
  for (const minutes of [15, 30, 60, 120, 240]) {
    const r = composePlan(input({ signals: signalsFor(ALL_UP, many) }, minutes));
    for (const s of r.plan.sections) {
      if (s.kind === "focus") assert.ok(s.items.length <= Math.max(1, Math.floor(s.minutes / 5)));
      if (s.kind === "reflection") {
        assert.ok(s.items.length <= Math.max(1, Math.floor(s.minutes / 2.5)));
      }
      if (s.kind === "resources") {
        // Listed reading fits the scheduled minutes.
        const listed = s.items.map((item) => Number(/\((?:\w+), (\d+) min\)/.exec(item)?.[1]));
        assert.ok(listed.reduce((a, b) => a + b, 0) <= s.minutes, `${minutes}: ${listed}`);
      }
      if (s.kind === "practice") {
        const listed = s.items.map((item) => Number(/\((\d+) min\)/.exec(item)?.[1]));
        assert.equal(listed.reduce((a, b) => a + b, 0), s.minutes);
      }
    }
  }
  const short = composePlan(input({ signals: signalsFor(ALL_UP, many) }, 15));
  assert.deepEqual(short.plan.sections.map((s) => s.items.length), [1, 1, 2]);
});

Deno.test("composePlan: agent-suggested minutes weigh resources and practice", () => {
  const withMinutes = (resource: number, exercise: number) => {
    const data: AgentDataMap = {
      ...DATA,
      alex: { resources: [{ ...DATA.alex.resources[0], minutes: resource }] },
      ta: { exercises: [{ ...DATA.ta.exercises[0], minutes: exercise }] },
    };
    const r = composePlan(input({ signals: signalsFor(ALL_UP, data) }, 100));
    const m = (k: SectionKind) => r.plan.sections.find((s) => s.kind === k)?.minutes ?? 0;
    return { resources: m("resources"), practice: m("practice") };
  };
  const light = withMinutes(10, 15);
  const heavy = withMinutes(30, 45);
  assert.ok(heavy.resources > light.resources);
  assert.ok(heavy.practice > light.practice);
  // Clamped: an agent asking for the whole day does not swallow it.
  const greedy = withMinutes(30, 480);
  assert.ok(greedy.practice < 50, `${greedy.practice}`);
});

Deno.test("composePlan: unavailable agents use fallbacks and are listed in agent order", () => {
  const states: States = { clo: "up", alex: "down", ta: "up", socratic: "down" };
  const r = composePlan(input({ signals: signalsFor(states) }));
  assert.deepEqual(r.plan.unavailable_agents, ["alex", "socratic"]);
  assert.ok(!r.plan.sections.some((s) => s.kind === "resources"));
  assert.match(
    r.plan_md,
    /> \*\*Degraded mode:\*\* .*resources \(alex\), reflection questions \(socratic\)\./,
  );
  assert.match(r.plan_md, /\n_No curated resources today: .*Machine Learning\._\n/);
  const reflection = r.plan.sections.find((s) => s.kind === "reflection");
  assert.equal(reflection?.source, "fallback");
  assert.ok(reflection !== undefined && reflection.items.length >= 1);
  assert.deepEqual(
    reflection.items,
    socraticFallback({ intent: INTENT, week: 1, day: 4 }).questions
      .slice(0, reflection.items.length),
  );

  const allDown = composePlan(input({
    signals: signalsFor({ clo: "down", alex: "down", ta: "down", socratic: "down" }),
  }));
  assert.deepEqual(allDown.plan.unavailable_agents, ["clo", "alex", "ta", "socratic"]);
  assert.equal(allDown.plan.title, "Machine Learning: Week 1, Day 4 review and practice");
  assert.equal(allDown.plan.difficulty, "core");
  assert.ok(
    allDown.plan_md.startsWith(
      "# Daily Learning Plan — Week 1, Day 4\n\n" +
        "## Today's Focus: Machine Learning: Week 1, Day 4 review and practice\n",
    ),
  );
});

Deno.test("composePlan: a disabled (absent) agent uses its fallback but is not degraded", () => {
  const r = composePlan(input({ signals: signalsFor({ ...ALL_UP, socratic: "absent" }) }));
  assert.deepEqual(r.plan.unavailable_agents, []);
  assert.doesNotMatch(r.plan_md, /Degraded mode/);
  assert.match(r.plan_md, /> \*\*Note:\*\* .*reflection questions \(socratic\)\./);
  assert.equal(r.plan.sections.find((s) => s.kind === "reflection")?.source, "fallback");
});

Deno.test("composePlan: resources section is omitted when alex has none", () => {
  const data: AgentDataMap = { ...DATA, alex: { resources: [] } };
  const r = composePlan(input({ signals: signalsFor(ALL_UP, data) }));
  assert.ok(!r.plan.sections.some((s) => s.kind === "resources"));
  assert.deepEqual(r.plan.unavailable_agents, []);
  assert.doesNotMatch(r.plan_md, /## Resources/);
  assert.match(r.plan_md, /\n_No curated resources today/);
});

Deno.test("composePlan: agent text cannot break the Markdown", () => {
  const data: AgentDataMap = {
    clo: {
      title: "Evil\n# Injected heading",
      description: "<script>alert(1)</script> and *stars*",
      objectives: ["- nested\n- list", "[click](javascript:alert(1))"],
      difficulty: "stretch",
    },
    alex: {
      resources: [
        {
          title: "Safe](https://evil.example)",
          url: "https://ok.example/a b",
          kind: "docs",
          minutes: 5,
        },
        { title: "Script", url: "javascript:alert(1)", kind: "article", minutes: 5 },
        { title: "Data", url: "data:text/html,<b>x</b>", kind: "article", minutes: 5 },
      ],
    },
    ta: {
      exercises: [{ title: "**bold**\ntitle", instructions: "line one\n\n## two", minutes: 5 }],
    },
    socratic: { questions: ["1. numbered?\nsecond line", "> quote"] },
  };
  const r = composePlan(input({ signals: signalsFor(ALL_UP, data) }));
  const lines = r.plan_md.split("\n");
  assert.ok(lines.includes("## Today's Focus: Evil \\# Injected heading"));
  assert.equal(lines.filter((l) => l.startsWith("# ")).length, 1);
  assert.ok(!lines.some((l) => l.startsWith("## two") || l.startsWith("- list")));
  assert.doesNotMatch(r.plan_md, /<script>/);
  assert.ok(r.plan_md.includes("\\<script\\>alert(1)\\</script\\>"));
  assert.ok(r.plan_md.includes("- [Safe\\](https://evil.example)](<https://ok.example/a%20b>)"));
  assert.ok(r.plan_md.includes("- Script — article, 5 min (link omitted: not an http(s) URL)"));
  assert.ok(r.plan_md.includes("- Data — article, 5 min (link omitted: not an http(s) URL)"));
  assert.doesNotMatch(r.plan_md, /(?<!\\)\]\(<?(javascript|data):/);
  assert.match(
    r.plan_md,
    /\n1\. \*\*\\\*\\\*bold\\\*\\\* title\*\* \(\d+ min\): line one \\#\\# two\n/,
  );
  assert.ok(r.plan_md.includes("1. 1\\. numbered? second line"));
  assert.ok(r.plan_md.includes("2. \\> quote"));
  // Plain-text outputs lose the newlines but keep the characters.
  assert.equal(r.summary.title, "Evil # Injected heading");
  assert.equal(r.plan.sections.find((s) => s.kind === "focus")?.items[0], "- nested - list");
});

Deno.test("composePlan: rejects budgets and days outside the API ranges", () => {
  for (const minutes of [4, 481, 30.5]) {
    assert.throws(() => composePlan(input({}, minutes)), RangeError);
  }
  assert.throws(() => composePlan(input({ week: 0 })), RangeError);
  assert.throws(() => composePlan(input({ day: 8 })), RangeError);
});

const itemArb = (week: number, day: number): fc.Arbitrary<ReviewItem> =>
  fc.record({
    key: fc.constantFrom("a", "b", "c", "d", "e", "f", "g"),
    objective: fc.constantFrom("Define terms", "Trace an example", "Explain the mechanism"),
    week: fc.integer({ min: 1, max: week }),
    day: fc.integer({ min: 1, max: day }),
    last_rating: fc.constantFrom("again", "hard", "good", "easy"),
    overdue_days: fc.integer({ min: -5, max: 5 }),
    retrievability: fc.double({ min: 0, max: 1, noNaN: true }),
  });
const learnerArb = (done: PreviousCompletion): fc.Arbitrary<LearnerState> =>
  fc.record({
    previous: fc.constant(done),
    due: fc.uniqueArray(itemArb(done.week, 7), { maxLength: 8, selector: (i) => i.key }),
    previous_objectives: fc.uniqueArray(itemArb(done.week, 7), {
      maxLength: 4,
      selector: (i) => i.key,
    }),
    fading: fc.uniqueArray(itemArb(done.week, 7), { maxLength: 4, selector: (i) => i.key }),
    mastery: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
    days_since_last_completion: fc.option(fc.integer({ min: 0, max: 30 })),
  });

Deno.test("composePlan and nextDayHint agree on review, stretch and reviews (property)", () => {
  const completionArb = fc.record({
    week: fc.integer({ min: 1, max: 519 }),
    day: fc.integer({ min: 1, max: 7 }),
    completion_time_min: fc.integer({ min: 0, max: 1440 }),
    confidence: fc.integer({ min: 1, max: 10 }),
    planned_minutes: fc.integer({ min: 5, max: 480 }),
  });
  const caseArb = completionArb.chain((done) =>
    fc.record({
      done: fc.constant(done),
      learner: fc.option(learnerArb(done), { nil: undefined }),
      minutes: fc.integer({ min: 5, max: 480 }),
    })
  );
  const phrases = {
    review: /opens with a (review|refresher)/,
    steady: /keeps a steady pace/,
    stretch: /adds a stretch exercise/,
  };
  fc.assert(
    fc.property(caseArb, ({ done, learner, minutes }) => {
      const hint = nextDayHint(done, learner && { learner, minutes });
      const next = nextDay(done.week, done.day);
      const r = composePlan(input({
        week: next.week,
        day: next.day,
        previous: done,
        learner,
      }, learner ? minutes : done.planned_minutes));
      const kinds = r.plan.sections.map((s) => s.kind);
      const today = r.plan_md.split("\n").find((l) => l.startsWith("> **Today: ")) ?? "";
      assert.ok(hint.includes(`Week ${next.week}, Day ${next.day}`));
      for (const [name, phrase] of Object.entries(phrases)) {
        const chosen = name === r.plan.adaptation;
        assert.equal(phrase.test(hint), chosen, `hint ${name}: ${hint}`);
        assert.equal(phrase.test(today), chosen, `plan ${name}: ${today}`);
      }
      // What the hint promises, the plan and its summary do.
      assert.equal(
        kinds[0] === "review",
        r.plan.adaptation === "review" || r.plan.reviews.length > 0,
      );
      assert.equal(kinds.includes("stretch"), r.plan.adaptation === "stretch");
      assert.equal(
        r.summary.steps.some((s) => s.startsWith("Stretch: ")),
        kinds.includes("stretch"),
      );
      assert.equal(
        /spaced review/.test(hint),
        r.plan.adaptation !== "review" && r.plan.reviews.length > 0,
      );
      for (const review of r.plan.reviews.slice(0, 2)) {
        assert.ok(hint.includes(`(Week ${review.week}, Day ${review.day})`), hint);
        assert.ok(
          r.plan_md.includes(
            `Review: ${review.objective} (Week ${review.week}, Day ${review.day})`,
          ),
        );
      }
    }),
    { numRuns: 2000 },
  );
});

// --- fallbacks ------------------------------------------------------------------------------

Deno.test("fallbacks: valid per protocol schemas for any intent (property)", () => {
  const contextArb: fc.Arbitrary<FallbackContext> = fc.record({
    intent: fc.record({
      topic: fc.oneof(
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 200 }),
        fc.constant("😀".repeat(100)),
      ),
      depth: fc.constantFrom(...DEPTHS),
      end_goal: fc.oneof(
        fc.string({ minLength: 1, maxLength: 500 }),
        fc.constant("🎯".repeat(250)),
      ),
      time_per_day_min: fc.integer({ min: 5, max: 480 }),
    }),
    week: fc.integer({ min: 1, max: 520 }),
    day: fc.integer({ min: 1, max: 7 }),
  });
  fc.assert(
    fc.property(contextArb, (context) => {
      CloDataSchema.parse(cloFallback(context));
      AlexDataSchema.parse(alexFallback(context));
      TaDataSchema.parse(taFallback(context));
      SocraticDataSchema.parse(socraticFallback(context));
      for (const agent of AGENT_NAMES) {
        AGENT_DATA_SCHEMAS[agent].parse(fallbackFor(agent, context));
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("fallbacks: generic but useful content from the intent", () => {
  const context: FallbackContext = { intent: INTENT, week: 2, day: 5 };
  const clo = cloFallback(context);
  assert.equal(clo.title, "Machine Learning: Week 2, Day 5 review and practice");
  assert.equal(clo.difficulty, "core");
  assert.ok(clo.objectives.some((o) => o.includes("Build production ML models")));
  assert.notEqual(
    cloFallback({ ...context, intent: { ...INTENT, depth: "expert" } }).objectives[0],
    cloFallback({ ...context, intent: { ...INTENT, depth: "surface" } }).objectives[0],
  );
  assert.deepEqual(alexFallback(context), { resources: [] });
  const ta = taFallback(context);
  assert.equal(ta.exercises.length, 1);
  assert.equal(ta.exercises[0].minutes, 18);
  assert.equal(socraticFallback(context).questions.length, 3);
  assert.deepEqual(fallbackFor("clo", context), clo);
  assert.deepEqual(cloFallback(context), cloFallback({ ...context }));
});

Deno.test("fallbacks: long topics are clipped, never split inside a character", () => {
  const context: FallbackContext = {
    intent: { ...INTENT, topic: "😀".repeat(100), end_goal: "x".repeat(500) },
    week: 520,
    day: 7,
  };
  const clo = cloFallback(context);
  assert.ok(clo.title.length <= 200);
  assert.ok(clo.title.includes("…: Week 520, Day 7"));
  assert.doesNotMatch(clo.title, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
});
