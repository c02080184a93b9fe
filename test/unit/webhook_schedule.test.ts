/** The retry schedule and the disabling rule of webhook deliveries, as pure maths. */
import assert from "node:assert/strict";
import {
  afterFailure,
  DEFAULT_DISABLE_AFTER_S,
  DEFAULT_RETRY_SCHEDULE_S,
  shouldDisable,
} from "../../supabase/functions/_shared/webhooks/schedule.ts";
import { parseWebhookSettings } from "../../supabase/functions/_shared/webhooks/settings.ts";

const at = new Date("2026-03-01T12:00:00Z");
const plus = (s: number) => new Date(at.getTime() + s * 1000);

Deno.test("default schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then failed", () => {
  assert.deepEqual(DEFAULT_RETRY_SCHEDULE_S, [5, 300, 1800, 7200, 18000, 36000]);
  const waits = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600];
  for (const [i, wait] of waits.entries()) {
    assert.deepEqual(afterFailure(i + 1, at), { state: "pending", retryAt: plus(wait) });
  }
  assert.deepEqual(afterFailure(7, at), { state: "failed" }, "the seventh attempt is the last");
  assert.deepEqual(afterFailure(0, at), { state: "failed" }, "no such failure count");
});

Deno.test("a shortened schedule is followed as given; an empty one fails at once", () => {
  assert.deepEqual(afterFailure(1, at, [0.05, 2]), { state: "pending", retryAt: plus(0.05) });
  assert.deepEqual(afterFailure(2, at, [0.05, 2]), { state: "pending", retryAt: plus(2) });
  assert.deepEqual(afterFailure(3, at, [0.05, 2]), { state: "failed" });
  assert.deepEqual(afterFailure(1, at, []), { state: "failed" });
});

Deno.test("an endpoint is disabled after 3 days of failures with no success", () => {
  assert.equal(DEFAULT_DISABLE_AFTER_S, 259_200);
  assert.equal(shouldDisable(null, plus(10 * 86400)), false, "not failing");
  assert.equal(shouldDisable(at, plus(259_199)), false);
  assert.equal(shouldDisable(at, plus(259_200)), true);
  assert.equal(shouldDisable(at, at, 0), true);
});

Deno.test("settings fall back to the defaults when missing or malformed", () => {
  const defaults = parseWebhookSettings([]);
  assert.deepEqual(defaults, {
    retryScheduleS: DEFAULT_RETRY_SCHEDULE_S,
    disableAfterS: DEFAULT_DISABLE_AFTER_S,
    attemptTimeoutMs: 10_000,
  });
  const malformed = parseWebhookSettings([
    { key: "webhook.retry_schedule_s", value: [-1] },
    { key: "webhook.disable_after_s", value: "soon" },
    { key: "webhook.attempt_timeout_ms", value: 5 },
  ]);
  assert.deepEqual(malformed, defaults);
  const set = parseWebhookSettings([{ key: "webhook.retry_schedule_s", value: [1, 2] }]);
  assert.deepEqual(set.retryScheduleS, [1, 2]);
});
