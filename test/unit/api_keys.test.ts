/**
 * The new API keys as credentials (issue 8, item 1; spec 5.1): secret keys are the service
 * principal in `apikey` or as the bearer, publishable keys are anon, the legacy service_role key
 * matches as its exact string; and how that compares with `@supabase/server`, Supabase's own
 * server package, on the same requests (where we agree, and the two places we differ by design).
 */
import assert from "node:assert/strict";
import { extractCredentials, verifyCredentials } from "@supabase/server/core";
import { exportJWK, SignJWT } from "jose";
import {
  authenticate,
  createTokenVerifier,
  jwksDiscoveryUrl,
  type Principal,
} from "../../supabase/functions/_shared/auth.ts";
import { type Config, loadConfig } from "../../supabase/functions/_shared/config.ts";
import { ApiError } from "../../supabase/functions/_shared/errors.ts";
import type { Logger } from "../../supabase/functions/_shared/log.ts";
import {
  matchesAnyKey,
  timingSafeEqual,
} from "../../supabase/functions/_shared/timing_safe_equal.ts";

const SECRET = "sb_secret_Default0000000000000000_aaaaaaa";
const CI_SECRET = "sb_secret_Ci00000000000000000000000_bbbbbbb";
const PUBLISHABLE = "sb_publishable_Web000000000000000_ccccccc";
const LEGACY_SERVICE_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.legacy-signature";
const USER = "6f1c1f1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f";

const es = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
  "sign",
  "verify",
]);
const JWKS = { keys: [{ ...(await exportJWK(es.publicKey)), kid: "es-1", alg: "ES256" }] };

/** A new-key project: JWKS, dictionaries of keys, no JWT_SECRET. */
async function newKeyConfig(extra: Record<string, string> = {}): Promise<Config> {
  return await loadConfig(
    new Map(Object.entries({
      SUPABASE_URL: "https://abcdefghij.supabase.co",
      SUPABASE_DB_URL: "postgres://postgres@db.abcdefghij.supabase.co/postgres",
      SUPABASE_JWKS: JSON.stringify(JWKS),
      SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET, ci: CI_SECRET }),
      SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: PUBLISHABLE }),
      ...extra,
    })),
  );
}

function userToken(claims: Record<string, unknown> = {}, exp: string | null = "1h") {
  const jwt = new SignJWT({ sub: USER, role: "authenticated", aud: "authenticated", ...claims })
    .setProtectedHeader({ alg: "ES256", kid: "es-1", typ: "JWT" }).setIssuedAt();
  if (exp !== null) jwt.setExpirationTime(exp);
  return jwt.sign(es.privateKey);
}

function request(headers: Record<string, string>) {
  return new Request("http://x/functions/v1/orchestrator/metrics", { headers });
}

async function refused(promise: Promise<unknown>, status: number, message?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ApiError, `expected ApiError, got ${error}`);
    assert.equal(error.status, status, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

Deno.test("timingSafeEqual and matchesAnyKey compare whole strings", () => {
  assert.equal(timingSafeEqual(SECRET, SECRET), true);
  assert.equal(timingSafeEqual(SECRET, `${SECRET}x`), false);
  assert.equal(timingSafeEqual(SECRET, SECRET.slice(0, -1)), false);
  assert.equal(timingSafeEqual("", ""), true);
  assert.equal(timingSafeEqual("é", "e\u0301"), false, "bytes, not normalised text");
  assert.equal(matchesAnyKey(CI_SECRET, [SECRET, CI_SECRET]), true);
  assert.equal(matchesAnyKey(PUBLISHABLE, [SECRET, CI_SECRET]), false);
  assert.equal(matchesAnyKey(SECRET, []), false);
});

Deno.test("the service principal: a secret key in apikey, as the bearer, or both", async () => {
  const verifier = createTokenVerifier(await newKeyConfig());
  const asService = async (headers: Record<string, string>) =>
    (await authenticate(request(headers), "service", verifier)).kind;
  assert.equal(await asService({ apikey: SECRET }), "service");
  assert.equal(await asService({ apikey: CI_SECRET }), "service", "every named key");
  assert.equal(await asService({ authorization: `Bearer ${SECRET}` }), "service");
  assert.equal(await asService({ apikey: SECRET, authorization: `Bearer ${SECRET}` }), "service");
  // curl with the publishable key as bearer and the secret key as apikey.
  assert.equal(
    await asService({ apikey: SECRET, authorization: `Bearer ${PUBLISHABLE}` }),
    "service",
  );
});

Deno.test("the service principal acts for X-User-ID on user routes", async () => {
  const verifier = createTokenVerifier(await newKeyConfig());
  const principal: Principal = await authenticate(
    request({ apikey: SECRET, "x-user-id": USER.toUpperCase() }),
    "user",
    verifier,
  );
  assert.ok(principal.kind === "user" && principal.viaServiceRole);
  assert.equal(principal.userId, USER);
  assert.equal(principal.claims.acting_role, "service_role");
  await refused(authenticate(request({ apikey: SECRET }), "user", verifier), 400);
});

Deno.test("the bearer decides: a user's token next to a secret apikey is that user", async () => {
  const verifier = createTokenVerifier(await newKeyConfig());
  const token = await userToken();
  const principal = await authenticate(
    request({ apikey: SECRET, authorization: `Bearer ${token}` }),
    "user",
    verifier,
  );
  assert.ok(principal.kind === "user" && !principal.viaServiceRole);
  await refused(
    authenticate(
      request({ apikey: SECRET, authorization: `Bearer ${token}` }),
      "service",
      verifier,
    ),
    403,
  );
});

Deno.test("refused: publishable keys, wrong keys, user tokens in apikey", async () => {
  const verifier = createTokenVerifier(await newKeyConfig());
  const svc = (headers: Record<string, string>) =>
    authenticate(request(headers), "service", verifier);
  await refused(svc({ apikey: PUBLISHABLE }), 401, /publishable key alone/);
  await refused(svc({ authorization: `Bearer ${PUBLISHABLE}` }), 401, /publishable key alone/);
  await refused(
    svc({ apikey: PUBLISHABLE, authorization: `Bearer ${PUBLISHABLE}` }),
    401,
    /publishable key alone/,
  );
  await refused(svc({ apikey: `${SECRET}x` }), 401, /not one of this project's keys/);
  await refused(svc({ authorization: `Bearer ${SECRET.slice(0, -1)}` }), 401, /not one of/);
  await refused(svc({ apikey: "garbage" }), 401, /apikey header is not one of/);
  await refused(svc({ apikey: await userToken() }), 401, /not a user's token/);
  await refused(
    authenticate(request({ apikey: PUBLISHABLE, "x-user-id": USER }), "user", verifier),
    401,
  );
});

Deno.test("no secret keys configured: one log line, every secret key refused", async () => {
  const warnings: string[] = [];
  const log: Logger = {
    debug() {},
    info() {},
    warn: (event) => warnings.push(event),
    error() {},
  };
  const verifier = createTokenVerifier(await newKeyConfig({ SUPABASE_SECRET_KEYS: "" }), log);
  for (let i = 0; i < 3; i++) {
    await refused(
      authenticate(request({ apikey: SECRET }), "service", verifier),
      401,
      /no secret keys configured/,
    );
  }
  assert.deepEqual(warnings, ["auth.secret_keys_missing"]);
});

Deno.test("a legacy project's service_role key matches as its string, without JWT_SECRET", async () => {
  const config = await newKeyConfig({
    SUPABASE_SECRET_KEYS: "",
    SUPABASE_SERVICE_ROLE_KEY: LEGACY_SERVICE_KEY,
  });
  assert.equal(config.jwtSecret, null);
  const verifier = createTokenVerifier(config);
  const both: Record<string, string>[] = [
    { apikey: LEGACY_SERVICE_KEY },
    { authorization: `Bearer ${LEGACY_SERVICE_KEY}` },
  ];
  for (const headers of both) {
    assert.equal((await authenticate(request(headers), "service", verifier)).kind, "service");
  }
  await refused(
    authenticate(request({ authorization: `Bearer ${LEGACY_SERVICE_KEY}x` }), "service", verifier),
    401,
  );
});

Deno.test("JWKS discovery: https, or http on loopback only", () => {
  assert.equal(
    jwksDiscoveryUrl("https://abc.supabase.co")?.href,
    "https://abc.supabase.co/auth/v1/.well-known/jwks.json",
  );
  assert.equal(
    jwksDiscoveryUrl("http://127.0.0.1:54321/")?.href,
    "http://127.0.0.1:54321/auth/v1/.well-known/jwks.json",
  );
  assert.ok(jwksDiscoveryUrl("http://localhost:54321"));
  assert.equal(jwksDiscoveryUrl("http://kong:8000"), null, "plain text off the machine");
  assert.equal(jwksDiscoveryUrl(null), null);
});

/** `@supabase/server`'s answer for the same request and keys. */
async function supabaseServer(headers: Record<string, string>, auth: "secret:*" | "user") {
  const { data } = await verifyCredentials(extractCredentials(request(headers)), {
    auth,
    env: {
      url: "https://abcdefghij.supabase.co",
      secretKeys: { default: SECRET, ci: CI_SECRET },
      publishableKeys: { default: PUBLISHABLE },
      jwks: JWKS,
    },
  });
  return data !== null;
}

Deno.test("@supabase/server agrees on apikey headers", async () => {
  const verifier = createTokenVerifier(await newKeyConfig());
  const ours = (headers: Record<string, string>) =>
    authenticate(request(headers), "service", verifier).then(() => true, () => false);
  const cases: Record<string, string>[] = [
    { apikey: SECRET },
    { apikey: CI_SECRET },
    { apikey: PUBLISHABLE },
    { apikey: `${SECRET}x` },
    { apikey: SECRET.slice(0, -1) },
    { apikey: "sb_secret_" },
    {},
  ];
  for (const headers of cases) {
    assert.equal(await ours(headers), await supabaseServer(headers, "secret:*"), headers.apikey);
  }
});

Deno.test("@supabase/server differs by design: secret bearer, no exp, legacy HS256", async () => {
  const verifier = createTokenVerifier(await newKeyConfig());
  // Spec 5.1 takes a secret key as the bearer too (supabase-js server clients send it there);
  // @supabase/server reads keys from apikey only.
  const bearer = { authorization: `Bearer ${SECRET}` };
  assert.equal(await supabaseServer(bearer, "secret:*"), false);
  assert.equal((await authenticate(request(bearer), "service", verifier)).kind, "service");

  // A user token without exp: @supabase/server accepts it; we require exp (the attack suite).
  const noExp = { authorization: `Bearer ${await userToken({}, null)}` };
  assert.equal(await supabaseServer(noExp, "user"), true);
  await refused(authenticate(request(noExp), "user", verifier), 401);

  // Both accept a signed, current ES256 user token.
  const valid = { authorization: `Bearer ${await userToken()}` };
  assert.equal(await supabaseServer(valid, "user"), true);
  assert.equal((await authenticate(request(valid), "user", verifier)).kind, "user");

  // A legacy HS256 token: @supabase/server refuses it (no kid, no key in the JWKS); we accept
  // it where JWT_SECRET is configured.
  const secretText = "a-legacy-project-jwt-secret-of-32-characters-or-more";
  const hs256 = await new SignJWT({ sub: USER, role: "authenticated", aud: "authenticated" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" }).setExpirationTime("1h")
    .sign(new TextEncoder().encode(secretText));
  const legacy = { authorization: `Bearer ${hs256}` };
  assert.equal(await supabaseServer(legacy, "user"), false);
  const withSecret = createTokenVerifier(await newKeyConfig({ JWT_SECRET: secretText }));
  assert.equal((await authenticate(request(legacy), "user", withSecret)).kind, "user");
  await refused(authenticate(request(legacy), "user", verifier), 401, /HS256/);
});
