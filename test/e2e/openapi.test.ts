/** `GET openapi.json`: a complete OpenAPI 3.1 document, served without a token. */
import assert from "node:assert/strict";
import { openApiDocument } from "../../supabase/functions/_shared/openapi.ts";
import { startTestStack } from "../support/stack.ts";

const ROUTES = [
  ["get", "/health"],
  ["post", "/intent.sync"],
  ["post", "/day.run"],
  ["post", "/day.done"],
  ["get", "/status"],
  ["post", "/status"],
  ["get", "/sessions"],
  ["post", "/day.tick"],
  ["get", "/metrics"],
  ["get", "/openapi.json"],
] as const;

Deno.test("the document covers every route and every $ref resolves", () => {
  const document = openApiDocument("/functions/v1/orchestrator");
  assert.equal(document.openapi, "3.1.0");
  for (const [method, path] of ROUTES) {
    const item: Record<string, unknown> | undefined =
      (document.paths as Record<string, Record<string, unknown>>)[path];
    assert.ok(item?.[method], `${method.toUpperCase()} ${path}`);
  }
  const text = JSON.stringify(document);
  const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
  assert.ok(refs.length > 10);
  for (const name of refs) assert.ok(name in document.components.schemas, name);
  assert.ok(!text.includes("__shared"));
  const dayRun = document.components.schemas.DayRunRequest as { required: string[] };
  assert.deepEqual(dayRun.required, ["week", "day"]);
});

Deno.test("served at /functions/v1/orchestrator/openapi.json with no token", async () => {
  const stack = await startTestStack("pglite");
  try {
    const response = await fetch(`${stack.functionsUrl}/orchestrator/openapi.json`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    const body = await response.json();
    assert.equal(body.openapi, "3.1.0");
    assert.equal(body.servers[0].url, "/functions/v1/orchestrator");
  } finally {
    await stack.stop();
  }
});
