import assert from "node:assert/strict";
import { z } from "zod";
import { createTokenVerifier } from "../../supabase/functions/_shared/auth.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { createApp, json, routePath } from "../../supabase/functions/_shared/http/app.ts";
import { MAX_BODY_BYTES, readJson } from "../../supabase/functions/_shared/http/body.ts";
import { createLogger, silentLogger } from "../../supabase/functions/_shared/log.ts";
import { mintServiceJwt } from "../../dev/jwt.ts";

const config = await loadConfig(new Map([["WISELY_LOCAL_STACK", "1"]]));
const serviceToken = await mintServiceJwt(config.jwtSecret!);

const Echo = z.strictObject({ n: z.int().min(1) });
const app = createApp({
  functionName: "orchestrator",
  verifier: createTokenVerifier(config),
  log: silentLogger,
  routes: [
    {
      method: "GET",
      path: "open",
      auth: "none",
      handle: () => Promise.resolve(json({ ok: true })),
    },
    {
      method: "POST",
      path: "echo",
      auth: "user",
      handle: async ({ req, principal }) =>
        json({ user: principal.userId, body: await readJson(req, Echo) }),
    },
    {
      method: "GET",
      path: "boom",
      auth: "none",
      handle: () => {
        throw new Error("select * from secret_table where password = 'x'");
      },
    },
  ],
});

const USER = "6f1c1f1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f";
const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  app.fetch(
    new Request("http://local/functions/v1/orchestrator/echo", {
      method: "POST",
      body,
      headers: {
        authorization: `Bearer ${serviceToken}`,
        "x-user-id": USER,
        "content-type": "application/json",
        ...headers,
      },
    }),
  );

async function expectError(response: Response, status: number, code: string) {
  assert.equal(response.status, status);
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.match(response.headers.get("content-type") ?? "", /^application\/json; charset=utf-8/);
  const body = await response.json();
  assert.equal(body.code, code);
  assert.equal(typeof body.error, "string");
  return body;
}

Deno.test("routePath takes what follows the function's name", () => {
  assert.equal(routePath("/orchestrator/day.run", "orchestrator"), "day.run");
  assert.equal(routePath("/functions/v1/orchestrator/status/", "orchestrator"), "status");
  assert.equal(routePath("/status", "orchestrator"), "status");
});

Deno.test("OPTIONS preflight answers 204 with the headers supabase-js needs", async () => {
  const response = await app.fetch(
    new Request("http://local/orchestrator/echo", { method: "OPTIONS" }),
  );
  assert.equal(response.status, 204);
  const allowed = response.headers.get("access-control-allow-headers") ?? "";
  for (
    const h of [
      "authorization",
      "x-client-info",
      "apikey",
      "content-type",
      "x-user-id",
      "idempotency-key",
    ]
  ) {
    assert.ok(allowed.includes(h), h);
  }
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
});

Deno.test("unknown route 404, wrong method 405 with Allow", async () => {
  await expectError(
    await app.fetch(new Request("http://local/orchestrator/nope")),
    404,
    "NOT_FOUND",
  );
  const response = await app.fetch(new Request("http://local/orchestrator/echo"));
  await expectError(response, 405, "METHOD_NOT_ALLOWED");
  assert.match(response.headers.get("allow") ?? "", /POST/);
});

Deno.test("a valid body reaches the handler", async () => {
  const response = await post(JSON.stringify({ n: 3 }));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { user: USER, body: { n: 3 } });
  assert.match(response.headers.get("x-trace-id") ?? "", /^[0-9a-f]{32}$/);
});

Deno.test("bad bodies: 400 with zod paths, 415, 413 (declared and streamed)", async () => {
  const invalid = await expectError(
    await post(JSON.stringify({ n: 0, extra: 1 })),
    400,
    "INVALID_REQUEST",
  );
  const paths = invalid.details.map((d: { path: unknown[] }) => d.path.join("."));
  assert.ok(paths.includes("n"), JSON.stringify(invalid.details));
  await expectError(await post("{not json"), 400, "INVALID_REQUEST");
  await expectError(await post("[1,2]"), 400, "INVALID_REQUEST");
  await expectError(
    await post(JSON.stringify({ n: 1 }), { "content-type": "text/plain" }),
    415,
    "UNSUPPORTED_MEDIA_TYPE",
  );
  const big = JSON.stringify({ n: 1, pad: "x".repeat(MAX_BODY_BYTES) });
  await expectError(await post(big), 413, "PAYLOAD_TOO_LARGE");
  // No Content-Length: the limit is enforced while streaming.
  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 80; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024)));
      controller.close();
    },
  });
  await expectError(await post(stream), 413, "PAYLOAD_TOO_LARGE");
  await expectError(await post(new Uint8Array([0x7b, 0xff, 0x7d])), 400, "INVALID_REQUEST");
});

Deno.test("auth failures come through the same error body", async () => {
  await expectError(
    await post(JSON.stringify({ n: 1 }), { authorization: "" }),
    401,
    "UNAUTHORIZED",
  );
  await expectError(
    await post(JSON.stringify({ n: 1 }), { authorization: "Basic abc" }),
    401,
    "UNAUTHORIZED",
  );
  await expectError(
    await post(JSON.stringify({ n: 1 }), { "x-user-id": "nope" }),
    400,
    "INVALID_REQUEST",
  );
});

Deno.test("an unexpected error is a 500 that leaks nothing", async () => {
  const response = await app.fetch(new Request("http://local/orchestrator/boom"));
  const body = await expectError(response, 500, "INTERNAL");
  assert.ok(!JSON.stringify(body).includes("secret_table"));
});

Deno.test("the request log names only known routes, never the client's path text", async () => {
  const lines: string[] = [];
  const logged = createApp({
    functionName: "orchestrator",
    verifier: createTokenVerifier(config),
    log: createLogger({ functionName: "orchestrator", sink: (line) => lines.push(line) }),
    routes: [{
      method: "GET",
      path: "open",
      auth: "none",
      handle: () => Promise.resolve(json({})),
    }],
  });
  await (await logged.fetch(new Request("http://local/orchestrator/my%20secret%20diary"))).body
    ?.cancel();
  await (await logged.fetch(new Request("http://local/orchestrator/open"))).body?.cancel();
  const routes = lines.map((line) => JSON.parse(line).route);
  assert.deepEqual(routes, ["(unknown)", "open"]);
  assert.ok(!lines.join("\n").includes("secret"));
});
