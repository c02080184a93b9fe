import assert from "node:assert/strict";
import {
  canonicalTimeZone,
  DayDoneBody,
  DayRunBody,
  IntentSyncBody,
  planTimeOf,
} from "../../supabase/functions/_shared/schemas.ts";

const intent = {
  topic: "Machine Learning",
  depth: "informed",
  end_goal: "Build production ML models",
  time_per_day_min: 60,
};

function ok(schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) {
  assert.equal(schema.safeParse(value).success, true, JSON.stringify(value).slice(0, 120));
}
function bad(schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) {
  assert.equal(schema.safeParse(value).success, false, JSON.stringify(value).slice(0, 120));
}

Deno.test("intent.sync: defaults and every field's bounds", () => {
  const parsed = IntentSyncBody.parse(intent);
  assert.equal(parsed.user_tz, "UTC");
  assert.deepEqual(parsed.meta, {});
  ok(IntentSyncBody, { ...intent, topic: "x".repeat(200) });
  bad(IntentSyncBody, { ...intent, topic: "x".repeat(201) });
  bad(IntentSyncBody, { ...intent, topic: "   " });
  bad(IntentSyncBody, { ...intent, topic: 5 });
  for (const depth of ["surface", "informed", "deep", "expert"]) {
    ok(IntentSyncBody, { ...intent, depth });
  }
  bad(IntentSyncBody, { ...intent, depth: "Deep" });
  ok(IntentSyncBody, { ...intent, end_goal: "g".repeat(500) });
  bad(IntentSyncBody, { ...intent, end_goal: "g".repeat(501) });
  bad(IntentSyncBody, { ...intent, end_goal: "" });
  for (const minutes of [5, 480]) ok(IntentSyncBody, { ...intent, time_per_day_min: minutes });
  for (const minutes of [4, 481, 60.5, "60", null]) {
    bad(IntentSyncBody, { ...intent, time_per_day_min: minutes });
  }
  ok(IntentSyncBody, { ...intent, user_tz: "America/New_York" });
  bad(IntentSyncBody, { ...intent, user_tz: "Mars/Olympus" });
  bad(IntentSyncBody, { ...intent, user_tz: "" });
  bad(IntentSyncBody, { ...intent, unknown_field: 1 });
  for (const missing of Object.keys(intent)) {
    const copy: Record<string, unknown> = { ...intent };
    delete copy[missing];
    bad(IntentSyncBody, copy);
  }
});

Deno.test("intent.sync: meta is an object of at most 8 KiB with an optional HH:MM plan_time", () => {
  ok(IntentSyncBody, { ...intent, meta: { learning_style: "project-first", plan_time: "06:30" } });
  ok(IntentSyncBody, { ...intent, meta: { blob: "x".repeat(8000) } });
  bad(IntentSyncBody, { ...intent, meta: { blob: "x".repeat(8200) } });
  bad(IntentSyncBody, { ...intent, meta: [] });
  bad(IntentSyncBody, { ...intent, meta: "x" });
  for (const t of ["24:00", "7:00", "07:60", 700]) {
    bad(IntentSyncBody, { ...intent, meta: { plan_time: t } });
  }
  assert.equal(planTimeOf({ plan_time: "23:59" }), "23:59");
  assert.equal(planTimeOf({}), "07:00");
});

Deno.test("time zones are canonicalised", () => {
  assert.equal(canonicalTimeZone("UTC"), "UTC");
  assert.equal(canonicalTimeZone("Asia/Kolkata") !== null, true);
  assert.equal(canonicalTimeZone("Not/AZone"), null);
  // Remembered by name in lower case: every spelling resolves the same, asked again or not.
  for (const spelling of ["europe/paris", "EUROPE/PARIS", "Europe/Paris", "europe/paris"]) {
    assert.equal(canonicalTimeZone(spelling), "Europe/Paris");
  }
  assert.equal(canonicalTimeZone("Not/AZone"), null, "an unknown zone is never remembered");
});

Deno.test("day.run: bounds and defaults", () => {
  assert.deepEqual(DayRunBody.parse({ week: 1, day: 3 }), {
    week: 1,
    day: 3,
    force_refresh: false,
    research: false,
  });
  for (const week of [1, 520]) ok(DayRunBody, { week, day: 1 });
  for (const week of [0, 521, 1.5, "1"]) bad(DayRunBody, { week, day: 1 });
  for (const day of [1, 7]) ok(DayRunBody, { week: 1, day });
  for (const day of [0, 8]) bad(DayRunBody, { week: 1, day });
  bad(DayRunBody, { week: 1, day: 1, force_refresh: "yes" });
  bad(DayRunBody, { week: 1, day: 1, research: 1 });
});

Deno.test("day.done: bounds", () => {
  const done = {
    session_id: "6f1c1f1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f",
    completion_time_min: 45,
    confidence: 7,
  };
  ok(DayDoneBody, done);
  ok(DayDoneBody, { ...done, notes: "n".repeat(2000) });
  bad(DayDoneBody, { ...done, notes: "n".repeat(2001) });
  bad(DayDoneBody, { ...done, session_id: "not-a-uuid" });
  for (const m of [0, 1440]) ok(DayDoneBody, { ...done, completion_time_min: m });
  for (const m of [-1, 1441]) bad(DayDoneBody, { ...done, completion_time_min: m });
  for (const c of [1, 10]) ok(DayDoneBody, { ...done, confidence: c });
  for (const c of [0, 11, 7.5]) bad(DayDoneBody, { ...done, confidence: c });
});
