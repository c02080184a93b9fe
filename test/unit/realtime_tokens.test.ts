/**
 * Token confirmation for the local Realtime: API keys by classification, JWTs with the
 * orchestrator's verifier, and every failure sorted into the case Realtime words its own way
 * (join reason, channel shutdown text, handshake 401).
 */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { createTokenVerifier } from "../../supabase/functions/_shared/auth.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import {
  LOCAL_ANON_KEY,
  LOCAL_API_KEYS,
  LOCAL_PUBLISHABLE_KEY,
  LOCAL_SECRET_KEY,
} from "../../dev/keys.ts";
import {
  connectFailureMessage,
  createTokenConfirmer,
  joinFailureReason,
  shutdownReason,
  type TokenFailure,
} from "../../dev/realtime/tokens.ts";

const secret = new TextEncoder().encode("super-secret-jwt-token-with-at-least-32-characters-long");
const USER = "6f1c1f1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f";

async function confirmer() {
  const config = await loadConfig(new Map([["WISELY_LOCAL_STACK", "1"]]));
  return createTokenConfirmer(createTokenVerifier(config), LOCAL_API_KEYS);
}

function sign(claims: Record<string, unknown>, key = secret) {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
}

async function failure(token: string): Promise<TokenFailure> {
  const result = await (await confirmer()).confirm(token);
  assert.ok(!result.ok, "the token was accepted");
  return result.failure;
}

Deno.test("API keys: publishable and legacy anon are anon, secret is the service role", async () => {
  const confirm = await confirmer();
  for (
    const [key, role] of [
      [LOCAL_PUBLISHABLE_KEY, "anon"],
      [LOCAL_ANON_KEY, "anon"],
      [LOCAL_SECRET_KEY, "service_role"],
    ]
  ) {
    const result = await confirm.confirm(key);
    assert.ok(result.ok);
    assert.equal(result.token.role, role);
    assert.equal(result.token.claims.role, role);
  }
  const publishable = await confirm.confirm(LOCAL_PUBLISHABLE_KEY);
  assert.ok(publishable.ok && publishable.token.exp === null, "an opaque key does not expire");
});

Deno.test("a user's JWT: role, claims, exp", async () => {
  const exp = Math.floor(Date.now() / 1000) + 60;
  const token = await sign({ sub: USER, role: "authenticated", aud: "authenticated", exp });
  const result = await (await confirmer()).confirm(token);
  assert.ok(result.ok);
  assert.equal(result.token.role, "authenticated");
  assert.equal(result.token.claims.sub, USER);
  assert.equal(result.token.exp, exp);
});

Deno.test("an expired token says how long ago, as Realtime does", async () => {
  const exp = Math.floor(Date.now() / 1000) - 30;
  const f = await failure(await sign({ sub: USER, role: "authenticated", exp }));
  assert.equal(f.kind, "expired");
  assert.ok(f.kind === "expired" && f.secondsAgo >= 30 && f.secondsAgo < 40);
  assert.match(joinFailureReason(f), /^InvalidJWTToken: Token has expired \d+ seconds ago$/);
  assert.match(shutdownReason(f), /^Token has expired \d+ seconds ago$/);
  assert.equal(connectFailureMessage(f), "Token has expired");
});

Deno.test("a forged signature, a non-JWT, missing claims", async () => {
  const exp = Math.floor(Date.now() / 1000) + 60;
  const forged = await failure(
    await sign({ role: "anon", exp }, new TextEncoder().encode("x".repeat(40))),
  );
  assert.equal(joinFailureReason(forged), "JwtSignatureError: Failed to validate JWT signature");
  assert.equal(shutdownReason(forged), ":signature_error");
  for (const token of ["", "nope", "sb_publishable_unknown", "a.b.c"]) {
    const malformed = await failure(token);
    assert.equal(
      joinFailureReason(malformed),
      "MalformedJWT: The token provided is not a valid JWT",
    );
  }
  const noExp = await failure(await sign({ role: "anon" }));
  assert.equal(
    joinFailureReason(noExp),
    "InvalidJWTToken: Fields `role` and `exp` are required in JWT",
  );
  const noRole = await failure(await sign({ sub: USER, exp }));
  assert.equal(connectFailureMessage(noRole), "Fields `role` and `exp` are required in JWT");
});

Deno.test("other refusals of the verifier keep its sentence", async () => {
  const exp = Math.floor(Date.now() / 1000) + 60;
  const f = await failure(await sign({ sub: USER, role: "authenticated", aud: "other", exp }));
  assert.equal(f.kind, "invalid");
  assert.match(joinFailureReason(f), /^InvalidJWTToken: The token is meant for another audience/);
});
