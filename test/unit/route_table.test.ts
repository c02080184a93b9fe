import assert from "node:assert/strict";
import { RouteTable } from "../../supabase/functions/_shared/http/route_table.ts";

const routes = [
  { path: "webhooks", method: "GET" },
  { path: "webhooks", method: "POST" },
  { path: "webhooks/:id", method: "DELETE" },
  { path: "webhooks/:id/deliveries", method: "GET" },
  { path: "webhooks/:id/deliveries/:delivery/retry", method: "POST" },
  { path: "webhooks/stats", method: "GET" },
];

Deno.test("route table: literal paths, one entry per path with each method's route", () => {
  const table = new RouteTable(routes);
  const match = table.match("webhooks");
  assert.deepEqual(match?.routes.map((r) => r.method), ["GET", "POST"]);
  assert.deepEqual(match?.params, {});
  assert.equal(match?.pattern, "webhooks");
});

Deno.test("route table: parameters are one decoded, non-empty segment each", () => {
  const table = new RouteTable(routes);
  assert.deepEqual(table.match("webhooks/abc/deliveries/d%2D1/retry")?.params, {
    id: "abc",
    delivery: "d-1",
  });
  assert.equal(table.match("webhooks/abc/deliveries")?.pattern, "webhooks/:id/deliveries");
  assert.equal(table.match("webhooks/abc/x"), null);
  assert.equal(table.match("webhooks/abc/deliveries/extra/retry/more"), null);
  assert.equal(table.match("webhooks/%E0%A4%A/deliveries"), null, "bad percent-encoding");
  assert.equal(table.match("nothing"), null);
});

Deno.test("route table: a literal path wins over a parameter of the same shape", () => {
  const table = new RouteTable(routes);
  assert.equal(table.match("webhooks/stats")?.pattern, "webhooks/stats");
  assert.equal(table.match("webhooks/other")?.pattern, "webhooks/:id");
});
