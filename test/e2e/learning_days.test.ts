/**
 * Fourteen learning days on the served stack (spec 7, 8; issue 9), on PGlite and Postgres: a
 * confident learner, a struggling one, one who misses three days, and one with 15 minutes a
 * day. Time moves by ageing each learner's stored timestamps a day (or four) between days
 * (`test/support/learning_days.ts`): the stack's `now()` is the only clock and nothing waits.
 */
import assert from "node:assert/strict";
import { DayDoneResponse, DayRunResponse } from "../../supabase/functions/_shared/responses.ts";
import { setSetting } from "../support/faults.ts";
import {
  ageLearner,
  type DayLog,
  orchestratorCaller,
  reviewItems,
  runLearner,
} from "../support/learning_days.ts";
import { startTestStack, testBackends, type TestStack } from "../support/stack.ts";

const INTENT = {
  topic: "Machine Learning",
  depth: "informed" as const,
  end_goal: "Build production ML models",
  time_per_day_min: 60,
};
const DAYS = 14;
const label = (week: number, day: number) => `Week ${week}, Day ${day}`;
const PHRASE = {
  review: /opens with a (review|refresher)/,
  steady: /keeps a steady pace/,
  stretch: /adds a stretch exercise/,
};

/** The plan's one "Today" line. */
function todayLine(log: DayLog): string {
  const lines = log.plan.plan_md.split("\n").filter((l: string) => l.startsWith("> **Today: "));
  assert.equal(lines.length, 1, log.plan.plan_md);
  return lines[0];
}

function adaptationOf(text: string): keyof typeof PHRASE {
  const found = (Object.keys(PHRASE) as (keyof typeof PHRASE)[]).filter((k) =>
    PHRASE[k].test(text)
  );
  assert.equal(found.length, 1, text);
  return found[0];
}

/** What every day of every learner must satisfy. */
function checkEveryDay(logs: DayLog[], minutes: number) {
  for (const log of logs) {
    DayRunResponse.parse(log.plan);
    DayDoneResponse.parse(log.done);
    const { plan_md, plan_json_summary: summary } = log.plan;
    // The day's own content (not another day's from a cache).
    assert.ok(plan_md.startsWith(`# Daily Learning Plan — ${label(log.week, log.day)}\n`));
    assert.match(summary.description, new RegExp(`^Week ${log.week}, day ${log.day} of your `));
    // Every step ends with its minutes, at least five, and they add up to the day.
    const stepMinutes = summary.steps.map((step: string) => {
      const match = /\((\d+) min\)$/.exec(step);
      assert.ok(match, step);
      return Number(match[1]);
    });
    assert.equal(stepMinutes.reduce((a: number, b: number) => a + b, 0), minutes);
    assert.ok(stepMinutes.every((m: number) => m >= 5), summary.steps.join(" | "));
    // The hint names the next day.
    const next = log.day === 7 ? label(log.week + 1, 1) : label(log.week, log.day + 1);
    assert.ok(log.done.next_day_hint.includes(next), log.done.next_day_hint);
  }
  // A title of its own each day.
  for (let i = 1; i < logs.length; i++) {
    assert.notEqual(logs[i].plan.plan_json_summary.title, logs[i - 1].plan.plan_json_summary.title);
  }
  // What a hint says the next plan does, that plan does (a return after missed days says so).
  for (let i = 0; i + 1 < logs.length; i++) {
    const hint = logs[i].done.next_day_hint;
    const next = logs[i + 1];
    if (next.away_before > 0) continue;
    assert.equal(adaptationOf(hint), adaptationOf(todayLine(next)), `${hint}\n${todayLine(next)}`);
    for (const review of reviewItems(next.plan.plan_md).slice(0, 2)) {
      assert.ok(hint.includes(`(${review.from})`), `${hint} / ${review.from}`);
    }
  }
}

/** Learning days (1-based) on which each objective was in a review block. */
function reviewDays(logs: DayLog[]): Map<string, number[]> {
  const days = new Map<string, number[]>();
  for (const log of logs) {
    for (const { objective } of reviewItems(log.plan.plan_md)) {
      days.set(objective, [...(days.get(objective) ?? []), log.n]);
    }
  }
  return days;
}

async function fourteenDays(stack: TestStack, t: Deno.TestContext) {
  await t.step("a confident learner stretches and advances", async () => {
    const { log } = await runLearner(stack, {
      intent: INTENT,
      days: DAYS,
      complete: () => ({ completion_time_min: 60, confidence: 9 }),
    });
    checkEveryDay(log, 60);
    assert.match(todayLine(log[0]), /Today: steady\.\*\* This is your first day/);
    for (const day of log.slice(1)) {
      assert.equal(adaptationOf(todayLine(day)), "stretch");
      assert.match(day.plan.plan_md, /\n## Stretch \(\d+ min\)\n/);
      assert.doesNotMatch(day.plan.plan_md, /opens with a review|## Review/);
    }
    // Week 2 moves on: its phase, at core difficulty.
    assert.match(log[7].plan.plan_json_summary.title, /Core concepts/);
    assert.match(log[7].plan.plan_md, /_Difficulty: core /);
    assert.match(log[7].plan.plan_json_summary.description, /curriculum moves on to Core/);
  });

  await t.step("a struggling learner reviews what was weak, held on Foundations", async () => {
    const { log } = await runLearner(stack, {
      intent: INTENT,
      days: DAYS,
      complete: () => ({ completion_time_min: 50, confidence: 4 }),
    });
    checkEveryDay(log, 60);
    for (const day of log.slice(1)) {
      assert.equal(adaptationOf(todayLine(day)), "review", todayLine(day));
      assert.match(day.plan.plan_md, /\n## Review \(\d+ min\)\n/);
      assert.ok(reviewItems(day.plan.plan_md).length > 0, day.plan.plan_md);
      assert.doesNotMatch(day.plan.plan_md, /## Stretch|ready for more|steady pace/i);
    }
    // After each weak day of week 1, the next plan names that day's objectives.
    for (const day of log.slice(1, 7)) {
      const from = reviewItems(day.plan.plan_md).map((r) => r.from);
      assert.ok(from.includes(label(1, day.day - 1)), `${day.n}: ${from}`);
      assert.match(todayLine(day), new RegExp(`${label(1, day.day - 1)} felt shaky: 4/10`));
    }
    // Week 2 stays on week 1's stage.
    for (const day of log.slice(7)) {
      assert.match(day.plan.plan_json_summary.title, /: Foundations, /);
      assert.match(day.plan.plan_md, /_Difficulty: intro /);
    }
    assert.match(log[7].plan.plan_json_summary.description, /curriculum stays on Foundations/);
    // Spaced, not daily: an objective never comes back on the next day, and week 1's
    // objectives come back in week 2.
    const days = reviewDays(log);
    for (const [objective, on] of days) {
      for (let i = 1; i < on.length; i++) assert.ok(on[i] - on[i - 1] >= 2, `${objective}: ${on}`);
    }
    const week2 = log.slice(7).flatMap((d) => reviewItems(d.plan.plan_md));
    assert.ok(week2.some((r) => r.from.startsWith("Week 1, ")), JSON.stringify(week2));
    assert.ok([...days.values()].some((on) => on.length >= 2), "something returns twice");
  });

  await t.step("three days away: the return opens with a refresher and says so", async () => {
    const { log } = await runLearner(stack, {
      intent: { ...INTENT, user_tz: "Asia/Tokyo" },
      days: DAYS,
      complete: () => ({ completion_time_min: 60, confidence: 7 }),
      awayAfter: (n) => (n === 5 ? 3 : 0),
    });
    checkEveryDay(log, 60);
    const back = log[5];
    assert.equal(back.away_before, 3);
    assert.match(todayLine(back), /Today: welcome back\.\*\* You were away 3 days since your last/);
    assert.match(todayLine(back), /opens with a refresher of “/);
    assert.match(back.plan.plan_md, /\n## Refresher \(\d+ min\)\n\n- Review: /);
    assert.ok(reviewItems(back.plan.plan_md).length >= 2);
    assert.equal(back.plan.plan_json_summary.steps[0].startsWith("Review: "), true);
    // The next day is an ordinary one again.
    assert.doesNotMatch(log[6].plan.plan_md, /welcome back|## Refresher/);
    assert.equal(adaptationOf(todayLine(log[6])), "steady");
    // Spaced return (Good: three learning days) rather than daily repetition: nothing is
    // reviewed the day after it was met, and week 1, day 1 comes back on day 4.
    for (const day of log.slice(1, 5)) {
      const from = reviewItems(day.plan.plan_md).map((r) => r.from);
      assert.ok(!from.includes(label(1, day.day - 1)), `${day.n}: ${from}`);
    }
    assert.deepEqual(
      [...new Set(reviewItems(log[3].plan.plan_md).map((r) => r.from))],
      [label(1, 1)],
    );
    assert.deepEqual(reviewItems(log[1].plan.plan_md), []);
    assert.deepEqual(reviewItems(log[2].plan.plan_md), []);
  });

  await t.step("15 minutes a day stay 15 minutes: at most 4 steps, 5-minute blocks", async () => {
    const { log } = await runLearner(stack, {
      intent: { ...INTENT, time_per_day_min: 15 },
      days: DAYS,
      complete: (n) => ({ completion_time_min: 15, confidence: n % 3 === 0 ? 4 : 7 }),
    });
    checkEveryDay(log, 15);
    for (const day of log) {
      const { steps } = day.plan.plan_json_summary;
      assert.ok(steps.length <= 4, steps.join(" | "));
      const sections = day.plan.plan_md.split("\n").filter((l: string) => /^## /.test(l));
      // Today's Focus and Schedule, then at most the scheduled blocks (the focus is inline).
      assert.ok(sections.length <= 2 + steps.length, sections.join(" | "));
      const objectives = day.plan.plan_md.split("### Objectives\n\n")[1].split("\n\n")[0];
      assert.ok(objectives.split("\n").length <= 1, objectives);
      assert.doesNotMatch(day.plan.plan_md, /## Resources/); // no 15-minute reading fits
    }
    // The weak days (every third) lead to a review day; the review still fits in 15 minutes.
    assert.equal(adaptationOf(todayLine(log[3])), "review");
    assert.match(log[3].plan.plan_json_summary.steps[0], /^Review: .* \(5 min\)$/);
  });
}

for (const backend of testBackends()) {
  Deno.test(`[${backend}] fourteen learning days: spacing, adaptation, progression, gaps`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      await fourteenDays(stack, t);
    } finally {
      await stack.stop();
    }
  });

  Deno.test(`[${backend}] pre-generated days: one uncompleted day stops the tick; a completion regenerates`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      // The whole batch is awaited (200), however slow a loaded machine makes it.
      await setSetting(stack, "tick.answer_within_ms", 60_000);
      const learner = await stack.createUser();
      const call = orchestratorCaller(stack, await stack.userToken(learner));
      const tick = async () => {
        const reply = await orchestratorCaller(stack, await stack.serviceToken())(
          "POST",
          "day.tick",
        );
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        return reply.body.runs.filter((r: { user_id: string }) => r.user_id === learner);
      };
      const session = async (day: number) => {
        const [row] = await stack.sql`
          select id, revision, opened_at, inputs_changed_at, plan_md from wisely.sessions
          where user_id = ${learner} and week = 1 and day = ${day}
        `;
        return row;
      };
      assert.equal(
        (await call("POST", "intent.sync", { ...INTENT, meta: { plan_time: "00:00" } }))
          .status,
        201,
      );
      const first = await call("POST", "day.run", { week: 1, day: 1 });
      assert.equal(first.status, 201);
      assert.ok((await session(1)).opened_at !== null, "the learner's own day.run opens it");
      await call("POST", "day.done", {
        session_id: first.body.session_id,
        completion_time_min: 60,
        confidence: 7,
      });
      await ageLearner(stack.sql, learner, 1);

      await t.step("the tick pre-generates day 2, unopened", async () => {
        const runs = await tick();
        assert.deepEqual(runs.map((r: { day: number; kind: string }) => [r.day, r.kind]), [
          [2, "next"],
        ]);
        const day2 = await session(2);
        assert.equal(day2.opened_at, null);
        assert.match(day2.plan_md, /Today: steady/);
      });

      await t.step("a changed completion marks it; the tick composes it again", async () => {
        const again = await call("POST", "day.done", {
          session_id: first.body.session_id,
          completion_time_min: 60,
          confidence: 3,
        });
        assert.equal(again.status, 200);
        assert.match(again.body.next_day_hint, /Week 1, Day 2 opens with a review of “/);
        assert.notEqual((await session(2)).inputs_changed_at, null);
        const runs = await tick();
        assert.deepEqual(runs.map((r: { day: number; kind: string }) => [r.day, r.kind]), [
          [2, "retry"],
        ]);
        const day2 = await session(2);
        assert.equal(day2.revision, 2);
        assert.equal(day2.inputs_changed_at, null);
        assert.equal(day2.opened_at, null);
        assert.match(day2.plan_md, /Today: review\.\*\* Week 1, Day 1 felt shaky: 3\/10/);
        // The learner's day.run answers it from the database, as the hint said, and opens it.
        const run = await call("POST", "day.run", { week: 1, day: 2 });
        assert.equal(run.status, 200);
        assert.equal(run.body.revision, 2);
        assert.match(run.body.plan_md, /opens with a review of /);
        assert.ok((await session(2)).opened_at !== null);
        // The same completion again changes nothing: no mark on an opened plan either way.
        await call("POST", "day.done", {
          session_id: first.body.session_id,
          completion_time_min: 60,
          confidence: 3,
        });
        assert.equal((await session(2)).inputs_changed_at, null);
      });

      await t.step(
        "an opened, uncompleted day gets one next day, then the tick stops",
        async () => {
          await ageLearner(stack.sql, learner, 1);
          assert.deepEqual((await tick()).map((r: { day: number }) => r.day), [3]);
          assert.equal((await session(3)).opened_at, null);
          await ageLearner(stack.sql, learner, 1);
          assert.deepEqual(await tick(), [], "nobody opened or completed day 3");
          await ageLearner(stack.sql, learner, 3);
          assert.deepEqual(await tick(), []);
          assert.equal(await session(4), undefined);
        },
      );

      await t.step("a plan pre-generated before a gap is composed again when opened", async () => {
        const run = await call("POST", "day.run", { week: 1, day: 3 });
        assert.equal(run.status, 200);
        assert.equal(run.body.revision, 2, "planned for an earlier date: composed again");
        assert.match(run.body.plan_md, /Today: welcome back\.\*\* You were away \d+ days/);
        const again = await call("POST", "day.run", { week: 1, day: 3 });
        assert.equal(again.body.revision, 2, "once opened, it stays as shown");
      });
    } finally {
      await stack.stop();
    }
  });

  Deno.test(`[${backend}] day.done rates single objectives; unknown ones are a 400`, async () => {
    const stack = await startTestStack(backend);
    try {
      const learner = await stack.createUser();
      const call = orchestratorCaller(stack, await stack.userToken(learner));
      await call("POST", "intent.sync", INTENT);
      const run = await call("POST", "day.run", { week: 1, day: 1 });
      const objectives = run.body.plan_md.split("### Objectives\n\n")[1].split("\n\n")[0]
        .split("\n").map((line: string) => line.replace(/^\d+\. /, ""));
      assert.ok(objectives.length >= 2, objectives.join(" | "));
      const bad = await call("POST", "day.done", {
        session_id: run.body.session_id,
        completion_time_min: 60,
        confidence: 7,
        objective_ratings: [{ objective: "Juggle flaming torches", rating: "good" }],
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, "INVALID_REQUEST");
      assert.deepEqual(bad.body.details[0].path, ["objective_ratings", 0, "objective"]);
      const dup = await call("POST", "day.done", {
        session_id: run.body.session_id,
        completion_time_min: 60,
        confidence: 7,
        objective_ratings: [
          { objective: objectives[0], rating: "good" },
          { objective: ` ${objectives[0].toUpperCase()} `, rating: "easy" },
        ],
      });
      assert.equal(dup.status, 400);
      assert.equal(
        (await stack.sql`select 1 from wisely.completions where user_id = ${learner}`).length,
        0,
        "a refused day.done records nothing",
      );
      const ok = await call("POST", "day.done", {
        session_id: run.body.session_id,
        completion_time_min: 60,
        confidence: 7,
        objective_ratings: [{ objective: objectives[0].toLowerCase(), rating: "again" }],
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const memory = await stack.sql`
        select objective, last_rating, origin_week, origin_day from wisely.objective_memory
        where user_id = ${learner} order by last_rating
      `;
      assert.deepEqual(
        memory.map((m) => [m.objective, m.last_rating, m.origin_week, m.origin_day]),
        objectives.map((o: string, i: number) => [o, i === 0 ? 1 : 3, 1, 1]),
      );
      // The objective rated Again is due the next learning day and named first.
      assert.match(
        ok.body.next_day_hint,
        new RegExp(
          `Week 1, Day 2 keeps a steady pace, and starts with 1 spaced review: “${
            objectives[0].slice(0, 30)
          }`,
        ),
      );
    } finally {
      await stack.stop();
    }
  });
}
