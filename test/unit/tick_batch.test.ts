/** A day.tick batch starts no run once its time budget is spent (spec 8: fits the wall clock). */
import assert from "node:assert/strict";
import { silentLogger } from "../../supabase/functions/_shared/log.ts";
import type { RunDayDeps } from "../../supabase/functions/orchestrator/run_day.ts";
import { type DueRun, startTickBatch } from "../../supabase/functions/orchestrator/tick_batch.ts";

const due: DueRun[] = [1, 2, 3].map((day) => ({
  user_id: crypto.randomUUID(),
  intent_id: crypto.randomUUID(),
  week: 1,
  day,
  kind: "next",
}));

Deno.test("a spent time budget defers every run, which stay due for the next tick", async () => {
  // Never touched: no run starts, so nothing reaches the database or the agents.
  const deps = {} as RunDayDeps;
  const batch = startTickBatch(deps, due, {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    log: silentLogger,
    timeBudgetMs: 0,
  });
  await batch.done;
  assert.deepEqual(batch.summary(), {
    due: 3,
    generated: 0,
    retried: 0,
    failed: 0,
    pending: 0,
    deferred: 3,
    runs: [],
  });
});

Deno.test("an empty batch is done at once", async () => {
  const batch = startTickBatch({} as RunDayDeps, [], {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    log: silentLogger,
    timeBudgetMs: 1000,
  });
  await batch.done;
  assert.deepEqual(batch.summary().due, 0);
});
