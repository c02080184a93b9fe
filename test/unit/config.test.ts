import assert from "node:assert/strict";
import {
  ConfigError,
  loadConfig,
  LOCAL_JWT_SECRET,
  LOCAL_PUBLISHABLE_KEY,
  LOCAL_SECRET_KEY,
} from "../../supabase/functions/_shared/config.ts";

const env = (entries: Record<string, string>) => new Map(Object.entries(entries));

async function rejectsNaming(entries: Record<string, string>, variable: string) {
  await assert.rejects(loadConfig(env(entries)), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.equal(error.variable, variable);
    assert.match(error.message, new RegExp(`^${variable}: `));
    return true;
  });
}

/** What a hosted function on a project with only the new keys gets (spec 3). */
const NEW_KEY_PROJECT = {
  SUPABASE_URL: "https://abcdefghij.supabase.co",
  SUPABASE_DB_URL: "postgres://postgres:pw@db.abcdefghij.supabase.co:5432/postgres",
  SUPABASE_SECRET_KEYS: JSON.stringify({
    default: "sb_secret_Default0000000000000000_aaaaaaa",
    ci: "sb_secret_Ci00000000000000000000000_bbbbbbb",
  }),
  SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: "sb_publishable_Web000000000_ccc" }),
  SUPABASE_JWKS: JSON.stringify({ keys: [] }),
};

Deno.test("local stack defaults: the CLI's secret, keys and URLs; the secret key for agents", async () => {
  const config = await loadConfig(env({ WISELY_LOCAL_STACK: "1" }));
  assert.equal(config.local, true);
  assert.equal(config.dbUrl, null);
  assert.equal(config.supabaseUrl, "http://127.0.0.1:54321");
  assert.equal(config.edgeBaseUrl, "http://127.0.0.1:54321");
  assert.equal(config.port, 54321);
  assert.deepEqual(config.jwtSecret, new TextEncoder().encode(LOCAL_JWT_SECRET));
  assert.deepEqual(config.secretKeys, [LOCAL_SECRET_KEY]);
  assert.deepEqual(config.publishableKeys, [LOCAL_PUBLISHABLE_KEY]);
  assert.equal(config.legacyServiceRoleKey, null);
  assert.equal(config.edgeServiceKey, LOCAL_SECRET_KEY);
});

Deno.test("local stack: an empty variable is unset and turns its local default off", async () => {
  const config = await loadConfig(env({
    WISELY_LOCAL_STACK: "1",
    JWT_SECRET: "",
    SUPABASE_SECRET_KEYS: "",
    SUPABASE_PUBLISHABLE_KEY: "",
  }));
  assert.equal(config.jwtSecret, null);
  assert.deepEqual(config.secretKeys, []);
  assert.deepEqual(config.publishableKeys, []);
  assert.equal(config.edgeServiceKey, null);
});

Deno.test("a new-key project boots: no JWT_SECRET, no legacy keys, nothing minted", async () => {
  const config = await loadConfig(env(NEW_KEY_PROJECT));
  assert.equal(config.local, false);
  assert.equal(config.jwtSecret, null);
  assert.equal(config.legacyServiceRoleKey, null);
  assert.deepEqual(config.secretKeys, [
    "sb_secret_Default0000000000000000_aaaaaaa",
    "sb_secret_Ci00000000000000000000000_bbbbbbb",
  ]);
  assert.deepEqual(config.publishableKeys, ["sb_publishable_Web000000000_ccc"]);
  assert.equal(config.edgeServiceKey, "sb_secret_Default0000000000000000_aaaaaaa");
  assert.deepEqual(config.jwks, { keys: [] });
  assert.equal(config.edgeBaseUrl, "https://abcdefghij.supabase.co");
});

Deno.test("no credential at all still boots: what needs one is refused later", async () => {
  const config = await loadConfig(env({
    SUPABASE_URL: "https://a.supabase.co",
    SUPABASE_DB_URL: "postgres://db.a.supabase.co/postgres",
  }));
  assert.deepEqual(config.secretKeys, []);
  assert.deepEqual(config.publishableKeys, []);
  assert.equal(config.jwtSecret, null);
  assert.equal(config.edgeServiceKey, null);
});

Deno.test("key dictionaries: default first, order kept, duplicates once; single key forms", async () => {
  const keys = async (entries: Record<string, string>) =>
    (await loadConfig(env({ WISELY_LOCAL_STACK: "1", ...entries }))).secretKeys;
  assert.deepEqual(
    await keys({
      SUPABASE_SECRET_KEYS: '{"b":"sb_secret_b","default":"sb_secret_d","c":"sb_secret_b"}',
    }),
    ["sb_secret_d", "sb_secret_b"],
  );
  assert.deepEqual(await keys({ SUPABASE_SECRET_KEYS: '{"ci":"sb_secret_ci"}' }), ["sb_secret_ci"]);
  assert.deepEqual(await keys({ SUPABASE_SECRET_KEY: " sb_secret_one " }), ["sb_secret_one"]);
  assert.deepEqual(
    await keys({ SUPABASE_SECRET_KEYS: '{"default":"sb_secret_many"}', SUPABASE_SECRET_KEY: "x" }),
    ["sb_secret_many"],
    "the dictionary wins over the single key, as @supabase/server's resolveEnv",
  );
  assert.deepEqual(await keys({ SUPABASE_SECRET_KEYS: "{}" }), []);
});

Deno.test("EDGE_SERVICE_KEY: explicit, the deprecated EDGE_SERVICE_JWT, then secret, then legacy", async () => {
  const key = async (entries: Record<string, string>) =>
    (await loadConfig(env({ ...NEW_KEY_PROJECT, ...entries }))).edgeServiceKey;
  assert.equal(await key({ EDGE_SERVICE_KEY: "sb_secret_agents" }), "sb_secret_agents");
  assert.equal(await key({ EDGE_SERVICE_JWT: "legacy.service.jwt" }), "legacy.service.jwt");
  assert.equal(
    await key({ EDGE_SERVICE_KEY: "sb_secret_agents", EDGE_SERVICE_JWT: "legacy.service.jwt" }),
    "sb_secret_agents",
  );
  assert.equal(
    await key({ SUPABASE_SECRET_KEYS: "", SUPABASE_SERVICE_ROLE_KEY: "eyJ.legacy.key" }),
    "eyJ.legacy.key",
    "a legacy project without secret keys sends its service_role key",
  );
});

Deno.test("database URL: WISELY_DB_URL (the pooler) wins over SUPABASE_DB_URL", async () => {
  const pooler = "postgres://postgres.abc:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres";
  const config = await loadConfig(env({ ...NEW_KEY_PROJECT, WISELY_DB_URL: pooler }));
  assert.equal(config.dbUrl, pooler);
  assert.equal(config.dbUrlVariable, "WISELY_DB_URL");
  const direct = await loadConfig(env(NEW_KEY_PROJECT));
  assert.equal(direct.dbUrlVariable, "SUPABASE_DB_URL");
});

Deno.test("deployed: never falls back to the local secret or keys", async () => {
  const config = await loadConfig(env({
    SUPABASE_DB_URL: "postgres://u:p@db:6543/postgres",
    SUPABASE_URL: "https://abc.supabase.co",
    SUPABASE_SERVICE_ROLE_KEY: "service.key.jwt",
  }));
  assert.equal(config.local, false);
  assert.equal(config.jwtSecret, null);
  assert.deepEqual(config.secretKeys, []);
  assert.deepEqual(config.publishableKeys, []);
  assert.equal(config.edgeBaseUrl, "https://abc.supabase.co");
  assert.equal(config.legacyServiceRoleKey, "service.key.jwt");
  assert.equal(config.edgeServiceKey, "service.key.jwt");
});

Deno.test("errors name the variable", async () => {
  const local = { WISELY_LOCAL_STACK: "1" };
  await rejectsNaming({}, "SUPABASE_DB_URL");
  await rejectsNaming({ ...local, JWT_SECRET: "short" }, "JWT_SECRET");
  await rejectsNaming({ ...local, PORT: "http" }, "PORT");
  await rejectsNaming({ ...local, SUPABASE_URL: "not a url" }, "SUPABASE_URL");
  await rejectsNaming({ ...local, SUPABASE_JWKS: "{" }, "SUPABASE_JWKS");
  await rejectsNaming({ ...local, SUPABASE_JWKS: '{"keys":1}' }, "SUPABASE_JWKS");
  for (const bad of ["{", "[]", '["sb_secret_x"]', '{"default":""}', '{"default":1}', '"sb_x"']) {
    await rejectsNaming({ ...local, SUPABASE_SECRET_KEYS: bad }, "SUPABASE_SECRET_KEYS");
    await rejectsNaming({ ...local, SUPABASE_PUBLISHABLE_KEYS: bad }, "SUPABASE_PUBLISHABLE_KEYS");
  }
  await rejectsNaming({ ...local, WISELY_DB_URL: "not a url" }, "WISELY_DB_URL");
  await rejectsNaming({ ...local, SUPABASE_DB_URL: "http://db/postgres" }, "SUPABASE_DB_URL");
  await rejectsNaming(
    { ...local, WISELY_DB_URL: "postgres://u:p%ZZ@db/postgres" },
    "WISELY_DB_URL",
  );
  await rejectsNaming(
    { ...local, WISELY_DB_URL: "postgres://db/postgres?sslmode=verify-ca" },
    "WISELY_DB_URL",
  );
  await rejectsNaming(
    {
      SUPABASE_DB_URL: "postgres://db/postgres",
      SUPABASE_URL: "https://a.supabase.co",
      WISELY_AGENT_FAULTS: "1",
    },
    "WISELY_AGENT_FAULTS",
  );
});

Deno.test("a bad database URL's error never repeats the password", async () => {
  await assert.rejects(
    loadConfig(env({ WISELY_LOCAL_STACK: "1", WISELY_DB_URL: "postgres://u:hunter2%@db/x" })),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    },
  );
});
