import assert from "node:assert/strict";
import { jwtVerify } from "jose";
import {
  ConfigError,
  loadConfig,
  LOCAL_JWT_SECRET,
} from "../../supabase/functions/_shared/config.ts";

const env = (entries: Record<string, string>) => new Map(Object.entries(entries));

async function rejectsNaming(entries: Record<string, string>, variable: string) {
  await assert.rejects(loadConfig(env(entries)), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.variable, variable);
    assert.match(error.message, new RegExp(`^${variable}: `));
    return true;
  });
}

Deno.test("local stack defaults: well-known secret, local URLs, minted service JWT", async () => {
  const config = await loadConfig(env({ WISELY_LOCAL_STACK: "1" }));
  assert.equal(config.local, true);
  assert.equal(config.dbUrl, null);
  assert.equal(config.supabaseUrl, "http://127.0.0.1:54321");
  assert.equal(config.edgeBaseUrl, "http://127.0.0.1:54321");
  assert.equal(config.port, 54321);
  assert.deepEqual(config.jwtSecret, new TextEncoder().encode(LOCAL_JWT_SECRET));
  const { payload } = await jwtVerify(config.edgeServiceJwt, config.jwtSecret!);
  assert.equal(payload.role, "service_role");
});

Deno.test("deployed: never falls back to the local secret", async () => {
  const config = await loadConfig(env({
    SUPABASE_DB_URL: "postgres://u:p@db:6543/postgres",
    SUPABASE_URL: "https://abc.supabase.co",
    SUPABASE_SERVICE_ROLE_KEY: "service.key.jwt",
  }));
  assert.equal(config.local, false);
  assert.equal(config.jwtSecret, null);
  assert.equal(config.edgeBaseUrl, "https://abc.supabase.co");
  assert.equal(config.edgeServiceJwt, "service.key.jwt");
});

Deno.test("errors name the variable", async () => {
  await rejectsNaming({}, "SUPABASE_DB_URL");
  await rejectsNaming({ WISELY_LOCAL_STACK: "1", JWT_SECRET: "short" }, "JWT_SECRET");
  await rejectsNaming({ WISELY_LOCAL_STACK: "1", PORT: "http" }, "PORT");
  await rejectsNaming({ WISELY_LOCAL_STACK: "1", SUPABASE_URL: "not a url" }, "SUPABASE_URL");
  await rejectsNaming({ WISELY_LOCAL_STACK: "1", SUPABASE_JWKS: "{" }, "SUPABASE_JWKS");
  await rejectsNaming({ WISELY_LOCAL_STACK: "1", SUPABASE_JWKS: '{"keys":1}' }, "SUPABASE_JWKS");
  await rejectsNaming(
    { SUPABASE_DB_URL: "postgres://db/postgres", SUPABASE_URL: "https://a.supabase.co" },
    "EDGE_SERVICE_JWT",
  );
  await rejectsNaming(
    {
      SUPABASE_DB_URL: "postgres://db/postgres",
      SUPABASE_URL: "https://a.supabase.co",
      EDGE_SERVICE_JWT: "x",
      WISELY_AGENT_FAULTS: "1",
    },
    "WISELY_AGENT_FAULTS",
  );
});
