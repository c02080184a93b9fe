import assert from "node:assert/strict";
import { parseRetryAfter } from "../../supabase/functions/_shared/agents/retry_after.ts";

const NOW = Date.parse("2026-03-01T12:00:00Z");

Deno.test("Retry-After: delay-seconds", () => {
  assert.equal(parseRetryAfter("0", NOW), 0);
  assert.equal(parseRetryAfter("1", NOW), 1000);
  assert.equal(parseRetryAfter("120", NOW), 120_000);
  assert.equal(parseRetryAfter("  7 ", NOW), 7000, "surrounding spaces are ignored");
  assert.equal(parseRetryAfter("007", NOW), 7000);
});

Deno.test("Retry-After: HTTP date (IMF-fixdate and the obsolete forms)", () => {
  assert.equal(parseRetryAfter("Sun, 01 Mar 2026 12:00:05 GMT", NOW), 5000);
  assert.equal(parseRetryAfter("Sun, 01 Mar 2026 12:01:00 GMT", NOW), 60_000);
  assert.equal(parseRetryAfter("Sunday, 01-Mar-26 12:00:30 GMT", NOW), 30_000, "RFC 850");
  assert.equal(parseRetryAfter("Sun Mar  1 12:00:02 2026", NOW) !== null, true, "asctime");
});

Deno.test("Retry-After: a date in the past or now is 0", () => {
  assert.equal(parseRetryAfter("Sun, 01 Mar 2026 11:59:59 GMT", NOW), 0);
  assert.equal(parseRetryAfter("Thu, 01 Jan 1970 00:00:00 GMT", NOW), 0);
  assert.equal(parseRetryAfter("Sun, 01 Mar 2026 12:00:00 GMT", NOW), 0);
});

Deno.test("Retry-After: absent or garbage is null", () => {
  for (const value of [null, "", "   ", "soon", "-1", "+5", "1.5", "1e3", "0x10", "5 s", "NaN"]) {
    assert.equal(parseRetryAfter(value, NOW), null, JSON.stringify(value));
  }
  assert.equal(parseRetryAfter("Sun, 99 Foo 2026 99:99:99 GMT", NOW), null);
});

Deno.test("Retry-After: huge values stay huge (never fit a deadline), never NaN or negative", () => {
  assert.equal(parseRetryAfter("86400", NOW), 86_400_000);
  const big = parseRetryAfter("99999999999999999999", NOW);
  assert.ok(big !== null && big >= 1e22);
  const absurd = parseRetryAfter("9".repeat(400), NOW);
  assert.equal(absurd, Infinity);
  const farDate = parseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", NOW);
  assert.ok(farDate !== null && farDate > 1e14);
  // What the retry policy does with them: now + wait < deadline is false, so it stops at once.
  for (const wait of [big, absurd, farDate]) assert.ok(!(NOW + (wait ?? 0) < NOW + 12_000));
});
