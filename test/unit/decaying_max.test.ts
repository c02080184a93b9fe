import assert from "node:assert/strict";
import { DecayingMax } from "../../supabase/functions/_shared/decaying_max.ts";

Deno.test("rises at once, halves every half-life, and a larger value replaces it", () => {
  let clock = 0;
  const max = new DecayingMax(1000, () => clock);
  assert.equal(max.value(), 0);
  max.observe(400);
  assert.equal(max.value(), 400);
  clock = 1000;
  assert.equal(max.value(), 200);
  max.observe(100); // smaller than what is left: the decayed value stays
  assert.equal(max.value(), 200);
  clock = 2000;
  assert.equal(max.value(), 100);
  max.observe(900);
  assert.equal(max.value(), 900);
});
