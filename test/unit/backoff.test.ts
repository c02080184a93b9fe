import assert from "node:assert/strict";
import { backoffDelayMs } from "../../supabase/functions/_shared/agents/backoff.ts";

const middle = () => 0.5;

Deno.test("backoff: 1 s, 2 s, 4 s without jitter", () => {
  assert.deepEqual([1, 2, 3].map((retry) => backoffDelayMs(retry, { jitter: 0 })), [
    1000,
    2000,
    4000,
  ]);
  assert.deepEqual([1, 2, 3].map((retry) => backoffDelayMs(retry, { random: middle })), [
    1000,
    2000,
    4000,
  ]);
});

Deno.test("backoff: base and factor options", () => {
  assert.deepEqual(
    [1, 2, 3].map((retry) => backoffDelayMs(retry, { baseMs: 250, factor: 3, jitter: 0 })),
    [250, 750, 2250],
  );
});

Deno.test("backoff: jitter is ±20 % at the extremes of random", () => {
  assert.equal(backoffDelayMs(1, { random: () => 0 }), 800);
  assert.equal(backoffDelayMs(1, { random: () => 0.999_999 }), 1200);
  assert.equal(backoffDelayMs(3, { random: () => 0 }), 3200);
  assert.equal(backoffDelayMs(3, { random: () => 0.999_999 }), 4800);
  // A random source outside [0, 1) cannot break the bounds.
  assert.equal(backoffDelayMs(2, { random: () => 7 }), 2400);
  assert.equal(backoffDelayMs(2, { random: () => -1 }), 1600);
});

Deno.test("backoff: jitter stays within bounds and spreads over many draws", () => {
  for (const [retry, nominal] of [[1, 1000], [2, 2000], [3, 4000]]) {
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const delay = backoffDelayMs(retry);
      assert.ok(Number.isInteger(delay));
      assert.ok(delay >= nominal * 0.8 && delay <= nominal * 1.2, `${delay} for retry ${retry}`);
      seen.add(delay);
    }
    assert.ok(seen.size > 100, "the delays are spread, not synchronized");
  }
  for (let i = 0; i < 1000; i++) {
    const delay = backoffDelayMs(2, { jitter: 0.5 });
    assert.ok(delay >= 1000 && delay <= 3000);
  }
});

Deno.test("backoff: the nominal delay is capped, jitter still applies at the cap", () => {
  assert.equal(backoffDelayMs(4, { random: middle }), 8000);
  assert.equal(backoffDelayMs(5, { random: middle }), 8000);
  assert.equal(backoffDelayMs(5000, { random: middle }), 8000, "no overflow to Infinity");
  assert.equal(backoffDelayMs(10, { random: () => 0 }), 6400);
  assert.equal(backoffDelayMs(10, { random: () => 0.999_999 }), 9600);
  assert.equal(backoffDelayMs(3, { maxMs: 3000, random: middle }), 3000);
  for (let i = 0; i < 1000; i++) {
    const delay = backoffDelayMs(20);
    assert.ok(delay >= 6400 && delay <= 9600);
  }
});

Deno.test("backoff: rejects a retry number below 1 and bad options", () => {
  assert.throws(() => backoffDelayMs(0), RangeError);
  assert.throws(() => backoffDelayMs(1.5), RangeError);
  assert.throws(() => backoffDelayMs(1, { jitter: 1 }), RangeError);
  assert.throws(() => backoffDelayMs(1, { factor: 0.5 }), RangeError);
  assert.throws(() => backoffDelayMs(1, { baseMs: Number.NaN }), RangeError);
});
