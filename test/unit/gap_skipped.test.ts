/**
 * The gap decision with skipped sessions (spec 7, 12): the count of sessions skipped since the
 * last completion sharpens the gap's explanation, never the decision itself.
 */
import assert from "node:assert/strict";
import { decideDay, stateFromPrevious } from "../../supabase/functions/_shared/plan/adaptation.ts";
import { whySentence } from "../../supabase/functions/_shared/plan/wording.ts";
import type { LearnerState } from "../../supabase/functions/_shared/plan/types.ts";

const previous = { week: 1, day: 1, completion_time_min: 30, confidence: 7, planned_minutes: 30 };

function away(days: number, skipped?: number): LearnerState {
  return {
    ...stateFromPrevious(previous),
    days_since_last_completion: days,
    ...(skipped === undefined ? {} : { skipped_sessions: skipped }),
  };
}

Deno.test("a gap with skipped sessions says how many; the decision stays review", () => {
  const decision = decideDay(away(4, 2), 30);
  assert.deepEqual(decision, {
    adaptation: "review",
    reason: { kind: "gap", missed_days: 3, skipped_sessions: 2 },
  });
  assert.equal(
    whySentence(decision.reason, 30),
    "You were away 3 days since your last session and skipped 2 planned days.",
  );
  assert.equal(
    whySentence(decideDay(away(2, 1), 30).reason, 30),
    "You were away 1 day since your last session and skipped 1 planned day.",
  );
});

Deno.test("no skipped sessions: the gap reads as before", () => {
  for (const skipped of [undefined, 0]) {
    const decision = decideDay(away(4, skipped), 30);
    assert.deepEqual(decision.reason, { kind: "gap", missed_days: 3 });
    assert.equal(whySentence(decision.reason, 30), "You were away 3 days since your last session.");
  }
});

Deno.test("skipped sessions without a missed calendar day change nothing", () => {
  assert.deepEqual(decideDay(away(1, 2), 30), decideDay(away(1), 30));
});
