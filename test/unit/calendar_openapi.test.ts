/** The calendar routes in the OpenAPI document, their components resolving. */
import assert from "node:assert/strict";
import { openApiDocument } from "../../supabase/functions/_shared/openapi.ts";

Deno.test("OpenAPI: calendar.link (POST, DELETE) and calendar.ics (GET, no auth)", () => {
  const document = openApiDocument("/functions/v1/orchestrator");
  const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
  assert.ok(paths["/calendar.link"]?.post);
  assert.ok(paths["/calendar.link"]?.delete);
  const feed = paths["/calendar.ics"]?.get;
  assert.deepEqual(feed?.security, [], "calendar apps send no credentials");
  const text = JSON.stringify({ link: paths["/calendar.link"], feed });
  for (const [, name] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
    assert.ok(name in document.components.schemas, name);
  }
  const link = document.components.schemas.CalendarLink as { required: string[] };
  assert.deepEqual(link.required, ["url"]);
});
