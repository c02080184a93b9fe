/**
 * What the outage drill and the benchmark flow count as an acknowledged day.run write
 * (test/support `storedRun`): a 201 or 200 naming a session, never a provisional 202, whose
 * plan nobody stores. Counting a 202 made CI's db_outage report a lost revision.
 */
import assert from "node:assert/strict";
import { type CallResult, storedRun } from "../support/orchestrator_client.ts";

const answer = (status: number, body: unknown): CallResult => ({
  status,
  ms: 1,
  body,
  code: null,
  retryAfter: null,
  bytes: 0,
});

Deno.test("storedRun: a created (201) or existing (200) session is a stored write", () => {
  const session = {
    session_id: "5f0c6c43-2f5e-4d5b-9a0e-0d6f1f2b7c11",
    plan_md: "# Daily Learning Plan",
    plan_json_summary: { title: "Day 1", description: "Orientation", steps: ["Focus (15 min)"] },
    degraded_mode: false,
    cache_hits: 0,
    cache_misses: 4,
    signal_quality: { ta: { available: true, fresh: true, source: "network" } },
    week: 1,
    day: 1,
    revision: 2,
    created_at: "2026-12-02T12:00:00.000Z",
    updated_at: "2026-12-02T12:00:00.000Z",
  };
  const expected = { sessionId: session.session_id, revision: 2 };
  assert.deepEqual(storedRun(answer(201, session)), expected);
  assert.deepEqual(storedRun(answer(200, session)), expected);
});

Deno.test("storedRun: a provisional 202 or a failed call acknowledges nothing", () => {
  const provisional = { session_id: null, provisional: true, retry_after_s: 30 };
  assert.equal(storedRun(answer(202, provisional)), null);
  assert.equal(storedRun(answer(503, { error: "down", code: "DATABASE_UNAVAILABLE" })), null);
  assert.equal(storedRun(answer(0, null)), null);
  // A 2xx that is not a stored session's answer names nothing stored either.
  assert.equal(storedRun(answer(200, { session_id: "not-a-session", revision: 1 })), null);
});
