/** The sessions cursor's instant must be a real one before it reaches Postgres (issue 8). */
import assert from "node:assert/strict";
import { isCursorTime } from "../../supabase/functions/orchestrator/routes/sessions.ts";

Deno.test("isCursorTime accepts real UTC instants as Postgres prints them", () => {
  for (
    const text of [
      "2026-01-01T00:00:00.000000Z",
      "2024-02-29T23:59:59.999999Z",
      "0001-01-01T00:00:00.000000Z",
      "9999-12-31T23:59:59.999999Z",
    ]
  ) assert.equal(isCursorTime(text), true, text);
});

Deno.test("isCursorTime refuses impossible or malformed instants", () => {
  for (
    const text of [
      "2026-13-01T00:00:00.000000Z",
      "2026-02-29T00:00:00.000000Z",
      "2026-02-30T00:00:00.000000Z",
      "2026-04-31T00:00:00.000000Z",
      "2026-01-01T24:00:00.000000Z",
      "2026-01-01T23:60:00.000000Z",
      "2026-01-01T23:59:60.000000Z",
      "0000-01-01T00:00:00.000000Z",
      "2026-00-10T00:00:00.000000Z",
      "2026-01-00T00:00:00.000000Z",
      "2026-01-01T00:00:00.000Z",
      "2026-01-01 00:00:00.000000Z",
      "+2026-01-01T00:00:00.000000Z",
      "",
    ]
  ) assert.equal(isCursorTime(text), false, text);
});
