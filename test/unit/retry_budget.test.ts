import assert from "node:assert/strict";
import { RetryBudget } from "../../supabase/functions/_shared/agents/retry_budget.ts";

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≈ ${expected}`);

Deno.test("retry budget: starts full and allows retries", () => {
  const clock = fakeClock();
  const budget = new RetryBudget({ now: clock.now });
  assert.equal(budget.tokens, 10);
  assert.equal(budget.canRetry(), true);
});

Deno.test("retry budget: failures drain it, retries stop at half, never below 0", () => {
  const clock = fakeClock();
  const budget = new RetryBudget({ now: clock.now, refillPerSecond: 0 });
  for (let i = 0; i < 4; i++) budget.recordFailure();
  assert.equal(budget.tokens, 6);
  assert.equal(budget.canRetry(), true);
  budget.recordFailure();
  assert.equal(budget.tokens, 5);
  assert.equal(budget.canRetry(), false, "exactly half is not enough (gRPC: tokens > max/2)");
  for (let i = 0; i < 20; i++) budget.recordFailure();
  assert.equal(budget.tokens, 0);
  assert.equal(budget.canRetry(), false);
});

Deno.test("retry budget: successes earn 0.1 back, capped at the maximum", () => {
  const clock = fakeClock();
  const budget = new RetryBudget({ now: clock.now, refillPerSecond: 0 });
  for (let i = 0; i < 10; i++) budget.recordFailure();
  assert.equal(budget.tokens, 0);
  for (let i = 0; i < 50; i++) budget.recordSuccess();
  close(budget.tokens, 5);
  budget.recordSuccess();
  close(budget.tokens, 5.1);
  assert.equal(budget.canRetry(), true);
  for (let i = 0; i < 1000; i++) budget.recordSuccess();
  assert.equal(budget.tokens, 10);
});

Deno.test("retry budget: one failure costs ten successes (a sick agent keeps it low)", () => {
  const clock = fakeClock();
  const budget = new RetryBudget({ now: clock.now, refillPerSecond: 0 });
  // 50 % failures: every pair costs 0.9 tokens, so retries are soon off.
  for (let i = 0; i < 6; i++) {
    budget.recordFailure();
    budget.recordSuccess();
  }
  close(budget.tokens, 4.6);
  assert.equal(budget.canRetry(), false);
});

Deno.test("retry budget: recovers slowly with time alone", () => {
  const clock = fakeClock();
  const budget = new RetryBudget({ now: clock.now });
  for (let i = 0; i < 10; i++) budget.recordFailure();
  assert.equal(budget.tokens, 0);
  clock.advance(10_000);
  close(budget.tokens, 1);
  assert.equal(budget.canRetry(), false);
  clock.advance(40_000);
  close(budget.tokens, 5);
  assert.equal(budget.canRetry(), false);
  clock.advance(1_000);
  close(budget.tokens, 5.1);
  assert.equal(budget.canRetry(), true);
  clock.advance(3_600_000);
  assert.equal(budget.tokens, 10, "capped at the maximum");
});

Deno.test("retry budget: time and outcomes combine; a clock stepping back adds nothing", () => {
  const clock = fakeClock();
  const budget = new RetryBudget({ now: clock.now, refillPerSecond: 0.5 });
  for (let i = 0; i < 8; i++) budget.recordFailure();
  clock.advance(2_000);
  budget.recordSuccess();
  close(budget.tokens, 3.1);
  clock.advance(-60_000);
  close(budget.tokens, 3.1);
  clock.advance(60_000); // back where it was: still nothing gained
  close(budget.tokens, 3.1);
  clock.advance(2_000);
  close(budget.tokens, 4.1);
});

Deno.test("retry budget: options and validation", () => {
  const clock = fakeClock();
  const budget = new RetryBudget({ now: clock.now, maxTokens: 4, tokenRatio: 0.5 });
  budget.recordFailure();
  assert.equal(budget.canRetry(), true);
  budget.recordFailure();
  assert.equal(budget.canRetry(), false);
  budget.recordSuccess();
  assert.equal(budget.canRetry(), true);
  assert.throws(() => new RetryBudget({ maxTokens: 0 }), RangeError);
  assert.throws(() => new RetryBudget({ tokenRatio: -1 }), RangeError);
  assert.throws(() => new RetryBudget({ refillPerSecond: Number.NaN }), RangeError);
});
