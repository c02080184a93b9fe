import assert from "node:assert/strict";
import { fanOutDeadlineMs } from "../../supabase/functions/orchestrator/run_day/deadline.ts";

Deno.test("the agents get the deadline less time spent and a write reserve", () => {
  // Quiet: 10 % of 12 s is kept for the store.
  assert.equal(fanOutDeadlineMs(12_000, 10, 8), 12_000 - 10 - 1_200);
  // Short deadlines keep at least 500 ms.
  assert.equal(fanOutDeadlineMs(2_000, 0, 5), 1_500);
});

Deno.test("a slow load (a queue for connections) grows the reserve for the store", () => {
  // Transactions take 2 s now, so 4 s are kept back for the (heavier) store.
  assert.equal(fanOutDeadlineMs(12_000, 2_000, 2_000), 12_000 - 2_000 - 4_000);
});

Deno.test("the agents always get a minimum, however late the run", () => {
  assert.equal(fanOutDeadlineMs(12_000, 11_900, 100), 1_000);
});
