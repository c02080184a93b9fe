import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { authenticate, createTokenVerifier } from "../../supabase/functions/_shared/auth.ts";
import { type Config, loadConfig } from "../../supabase/functions/_shared/config.ts";
import { ApiError } from "../../supabase/functions/_shared/errors.ts";

const USER = "6f1c1f1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f";
const OTHER = "0b7d0c9a-1111-4222-8333-444455556666";
const secret = new TextEncoder().encode("super-secret-jwt-token-with-at-least-32-characters-long");

async function localConfig(extra: [string, string][] = []): Promise<Config> {
  return await loadConfig(new Map([["WISELY_LOCAL_STACK", "1"], ...extra]));
}

function hs256(claims: Record<string, unknown>, key = secret, exp: string | number = "1h") {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt()
    .setExpirationTime(exp).sign(key);
}

function request(token: string | null, headers: Record<string, string> = {}) {
  const h = new Headers(headers);
  if (token !== null) h.set("Authorization", `Bearer ${token}`);
  return new Request("http://x/orchestrator/status", { headers: h });
}

async function rejects(promise: Promise<unknown>, status: number, code: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ApiError, `expected ApiError, got ${error}`);
    assert.equal(error.status, status);
    assert.equal(error.code, code);
    return true;
  });
}

Deno.test("authenticated user: sub is the user; matching X-User-ID is fine", async () => {
  const verifier = createTokenVerifier(await localConfig());
  const token = await hs256({ sub: USER, role: "authenticated", aud: "authenticated" });
  const principal = await authenticate(request(token), "user", verifier);
  assert.equal(principal.kind, "user");
  assert.ok(principal.kind === "user" && principal.userId === USER && !principal.viaServiceRole);
  const same = await authenticate(
    request(token, { "X-User-ID": USER.toUpperCase() }),
    "user",
    verifier,
  );
  assert.ok(same.kind === "user" && same.userId === USER);
});

Deno.test("authenticated user: a different X-User-ID is 403", async () => {
  const verifier = createTokenVerifier(await localConfig());
  const token = await hs256({ sub: USER, role: "authenticated" });
  await rejects(
    authenticate(request(token, { "X-User-ID": OTHER }), "user", verifier),
    403,
    "FORBIDDEN",
  );
});

Deno.test("bad tokens are 401: missing, malformed, wrong secret, expired, alg none, no sub", async () => {
  const verifier = createTokenVerifier(await localConfig());
  const wrongKey = new TextEncoder().encode("another-secret-that-is-at-least-32-characters!!");
  const cases: [string, Promise<string> | string | null][] = [
    ["missing header", null],
    ["not a jwt", "not-a-jwt"],
    ["wrong signature", hs256({ sub: USER, role: "authenticated" }, wrongKey)],
    [
      "expired",
      hs256({ sub: USER, role: "authenticated" }, secret, Math.floor(Date.now() / 1000) - 60),
    ],
    [
      "alg none",
      new UnsecuredJWT({ sub: USER, role: "authenticated" }).setExpirationTime("1h").encode(),
    ],
    ["missing sub", hs256({ role: "authenticated" })],
    ["sub not a uuid", hs256({ sub: "user-1", role: "authenticated" })],
    ["unknown role", hs256({ sub: USER, role: "admin" })],
    [
      "no exp",
      new SignJWT({ sub: USER, role: "authenticated" }).setProtectedHeader({ alg: "HS256" }).sign(
        secret,
      ),
    ],
  ];
  for (const [name, token] of cases) {
    const t = await token;
    await rejects(authenticate(request(t), "user", verifier), 401, "UNAUTHORIZED").catch((e) => {
      throw new Error(`case "${name}": ${e.message}`);
    });
  }
});

Deno.test("a tampered payload fails the signature check", async () => {
  const verifier = createTokenVerifier(await localConfig());
  const token = await hs256({ sub: USER, role: "authenticated" });
  const [header, , signature] = token.split(".");
  const forged = btoa(JSON.stringify({ sub: OTHER, role: "service_role", exp: 9999999999 }))
    .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  await rejects(
    authenticate(request(`${header}.${forged}.${signature}`), "user", verifier),
    401,
    "UNAUTHORIZED",
  );
});

Deno.test("anon is 401 on user and service routes", async () => {
  const verifier = createTokenVerifier(await localConfig());
  const token = await hs256({ role: "anon", iss: "supabase-demo" });
  await rejects(authenticate(request(token), "user", verifier), 401, "UNAUTHORIZED");
  await rejects(authenticate(request(token), "service", verifier), 401, "UNAUTHORIZED");
});

Deno.test("service role acts for X-User-ID; requires a UUID there", async () => {
  const verifier = createTokenVerifier(await localConfig());
  const token = await hs256({ role: "service_role", iss: "supabase-demo" });
  const principal = await authenticate(request(token, { "X-User-ID": OTHER }), "user", verifier);
  assert.ok(principal.kind === "user" && principal.userId === OTHER && principal.viaServiceRole);
  assert.equal(principal.kind === "user" && principal.claims.role, "authenticated");
  await rejects(authenticate(request(token), "user", verifier), 400, "INVALID_REQUEST");
  await rejects(
    authenticate(request(token, { "X-User-ID": "nope" }), "user", verifier),
    400,
    "INVALID_REQUEST",
  );
  const service = await authenticate(request(token), "service", verifier);
  assert.equal(service.kind, "service");
});

Deno.test("service-only routes refuse users with 403", async () => {
  const verifier = createTokenVerifier(await localConfig());
  const token = await hs256({ sub: USER, role: "authenticated" });
  await rejects(authenticate(request(token), "service", verifier), 403, "FORBIDDEN");
});

Deno.test("asymmetric tokens verify against the JWKS; HS/RS confusion is refused", async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const verifier = createTokenVerifier(
    await localConfig([["SUPABASE_JWKS", JSON.stringify({ keys: [jwk] })]]),
  );
  const token = await new SignJWT({ sub: USER, role: "authenticated" })
    .setProtectedHeader({ alg: "ES256", kid: "k1" }).setExpirationTime("1h").sign(privateKey);
  const principal = await authenticate(request(token), "user", verifier);
  assert.ok(principal.kind === "user" && principal.userId === USER);

  // An HS256 token signed with the public key's bytes must not pass as the JWKS key.
  const confused = await hs256(
    { sub: USER, role: "authenticated" },
    new TextEncoder().encode(JSON.stringify(jwk)),
  );
  await rejects(authenticate(request(confused), "user", verifier), 401, "UNAUTHORIZED");
});

Deno.test("a deployment without JWT_SECRET refuses HS256 tokens", async () => {
  const config = await loadConfig(
    new Map([
      ["SUPABASE_DB_URL", "postgres://postgres@127.0.0.1:5432/postgres"],
      ["SUPABASE_URL", "https://example.supabase.co"],
      ["EDGE_SERVICE_JWT", "x.y.z"],
    ]),
  );
  assert.equal(config.jwtSecret, null);
  const warnings: string[] = [];
  const verifier = createTokenVerifier(config, {
    debug() {},
    info() {},
    warn: (event) => warnings.push(event),
    error() {},
  });
  const token = await hs256({ sub: USER, role: "authenticated" });
  await rejects(authenticate(request(token), "user", verifier), 401, "UNAUTHORIZED");
  assert.deepEqual(warnings, ["auth.hs256_refused"]);
});
