/**
 * The local Auth at /auth/v1 (issue 7) as a frontend and a server use it: the real
 * `@supabase/supabase-js` against a served stack, on PGlite and on Postgres. Sign-up, sign-in,
 * refresh-token rotation, user, sign-out scopes, anonymous users, the admin API, the tokens'
 * acceptance by the orchestrator; and the answers to bad input, in GoTrue's shapes.
 */
import assert from "node:assert/strict";
import {
  AuthApiError,
  AuthSessionMissingError,
  AuthWeakPasswordError,
  type SupabaseClient,
} from "@supabase/supabase-js";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { LOCAL_PUBLISHABLE_KEY, LOCAL_SERVICE_ROLE_KEY } from "../../dev/keys.ts";
import { ensureLocalUser, startLocalAuth } from "../../dev/auth/mod.ts";
import { migrate } from "../../dev/migrate.ts";
import { startTestStack, testBackends, type TestStack } from "../support/stack.ts";
import { closeClient, frontendClient, serverClient } from "../support/supabase_clients.ts";

const PASSWORD = "correct horse 42";
const ROOT = new URL("../../", import.meta.url);

const newEmail = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}@example.test`;

/** A raw request to the stack's Auth, with the publishable key unless told otherwise. */
function authFetch(stack: TestStack, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("apikey")) headers.set("apikey", LOCAL_PUBLISHABLE_KEY);
  return fetch(`${stack.url}/auth/v1${path}`, { ...init, headers });
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return await response.json();
}

function assertAuthApiError(error: unknown, status: number, code: string): void {
  assert.ok(error instanceof AuthApiError, `expected AuthApiError, got ${error}`);
  assert.equal(error.status, status, error.message);
  assert.equal(error.code, code, error.message);
}

/** A new browser client, closed when the test ends. */
type Fresh = (client?: SupabaseClient) => SupabaseClient;

async function signedUp(fresh: Fresh, name: string) {
  const client = fresh();
  const email = newEmail(name);
  const { data, error } = await client.auth.signUp({ email, password: PASSWORD });
  assert.equal(error, null);
  return { client, email, session: data.session!, user: data.user! };
}

async function status(client: SupabaseClient) {
  const { data, error } = await client.functions.invoke("orchestrator/status", { method: "GET" });
  return { data, error };
}

async function signUpAndTokens(stack: TestStack, t: Deno.TestContext, fresh: Fresh) {
  await t.step("sign-up answers a confirmed session with GoTrue's user", async () => {
    const client = fresh();
    const email = newEmail("ada");
    const { data, error } = await client.auth.signUp({
      email,
      password: PASSWORD,
      options: { data: { name: "Ada" } },
    });
    assert.equal(error, null);
    const { session, user } = data;
    assert.ok(session && user);
    assert.equal(session.token_type, "bearer");
    assert.equal(session.expires_in, 3600);
    assert.equal(session.expires_at, JSON.parse(atob(session.access_token.split(".")[1])).exp);
    assert.match(session.refresh_token, /^[a-z0-9]{12}$/);
    assert.equal(user.email, email);
    assert.equal(user.aud, "authenticated");
    assert.equal(user.role, "authenticated");
    assert.equal(user.is_anonymous, false);
    assert.ok(user.email_confirmed_at && user.confirmed_at && user.last_sign_in_at);
    assert.deepEqual(user.app_metadata, { provider: "email", providers: ["email"] });
    assert.deepEqual(user.user_metadata, { name: "Ada", email_verified: true });
    assert.equal(user.identities?.length, 1);
    assert.equal(user.identities![0].provider, "email");
    assert.equal(user.identities![0].identity_data?.email, email);
    const [row] = await stack.sql`select encrypted_password from auth.users where id = ${user.id}`;
    assert.match(row.encrypted_password, /^\$2a\$10\$.{53}$/, "bcrypt, as Supabase Auth hashes");
  });

  await t.step(
    "the access token is ES256 with Supabase Auth's claims, verified by the JWKS",
    async () => {
      const { session, user } = await signedUp(fresh, "claims");
      const jwks = await json(await fetch(`${stack.url}/auth/v1/.well-known/jwks.json`));
      const keySet = createLocalJWKSet(jwks as { keys: JsonWebKey[] });
      const { payload, protectedHeader } = await jwtVerify(session.access_token, keySet, {
        issuer: `${stack.url}/auth/v1`,
        audience: "authenticated",
      });
      assert.equal(protectedHeader.alg, "ES256");
      assert.equal(protectedHeader.kid, stack.auth.jwks.keys[0].kid);
      assert.equal(payload.sub, user.id);
      assert.equal(payload.role, "authenticated");
      assert.equal(payload.email, user.email);
      assert.equal(payload.phone, "");
      assert.deepEqual(payload.app_metadata, { provider: "email", providers: ["email"] });
      assert.equal(payload.aal, "aal1");
      assert.deepEqual((payload.amr as { method: string }[]).map((entry) => entry.method), [
        "password",
      ]);
      assert.equal(payload.is_anonymous, false);
      assert.equal(payload.exp! - payload.iat!, 3600);
      const [sessionRow] = await stack.sql`
      select user_id from auth.sessions where id = ${String(payload.session_id)}
    `;
      assert.equal(sessionRow.user_id, user.id);
    },
  );

  await t.step("auth-js getClaims() verifies the token against the served JWKS", async () => {
    const { client, user } = await signedUp(fresh, "jwks");
    const { data, error } = await client.auth.getClaims();
    assert.equal(error, null);
    assert.equal(data!.claims.sub, user.id);
    assert.equal(data!.header.alg, "ES256");
  });

  await t.step("the orchestrator accepts the issued token (functions.invoke)", async () => {
    const { client, user } = await signedUp(fresh, "orch");
    const { data, error } = await status(client);
    assert.equal(error, null);
    assert.equal(data.user_id, user.id);
  });

  await t.step("a taken e-mail, a weak password, a bad address: GoTrue's errors", async () => {
    const { email } = await signedUp(fresh, "taken");
    const client = fresh();
    const again = await client.auth.signUp({ email, password: PASSWORD });
    assertAuthApiError(again.error, 422, "user_already_exists");
    const weak = await client.auth.signUp({ email: newEmail("weak"), password: "12345" });
    assert.ok(weak.error instanceof AuthWeakPasswordError);
    assert.equal(weak.error.code, "weak_password");
    assert.equal(weak.error.status, 422);
    assert.deepEqual(weak.error.reasons, ["length"]);
    const bad = await client.auth.signUp({ email: "not an address", password: PASSWORD });
    assertAuthApiError(bad.error, 400, "validation_failed");
    assert.match(bad.error!.message, /Unable to validate email address/);
  });
}

async function signInAndRefresh(stack: TestStack, t: Deno.TestContext, fresh: Fresh) {
  const { email } = await signedUp(fresh, "bob");

  await t.step("sign-in with password; a wrong one is invalid_credentials", async () => {
    const client = fresh();
    const wrong = await client.auth.signInWithPassword({ email, password: "wrong password" });
    assertAuthApiError(wrong.error, 400, "invalid_credentials");
    assert.equal(wrong.error!.message, "Invalid login credentials");
    const nobody = await client.auth.signInWithPassword({
      email: newEmail("x"),
      password: "xyz123",
    });
    assertAuthApiError(nobody.error, 400, "invalid_credentials");
    const { data, error } = await client.auth.signInWithPassword({ email, password: PASSWORD });
    assert.equal(error, null);
    assert.equal(data.user.email, email);
    assert.equal((await status(client)).error, null);
  });

  await t.step(
    "refresh tokens rotate; a used one is refused once its reuse window passed",
    async () => {
      const client = fresh();
      const first = (await client.auth.signInWithPassword({ email, password: PASSWORD })).data
        .session!;
      const second = (await client.auth.refreshSession()).data.session!;
      assert.notEqual(second.refresh_token, first.refresh_token);
      const [used] = await stack.sql`
      select revoked from auth.refresh_tokens where token = ${first.refresh_token}
    `;
      assert.equal(used.revoked, true, "the used token is revoked");
      const third = (await client.auth.refreshSession()).data.session!;
      assert.notEqual(third.refresh_token, second.refresh_token);
      // GoTrue tolerates reuse for refresh_token_reuse_interval (10 s) after a rotation; age the
      // revocation instead of waiting.
      await stack.sql`
      update auth.refresh_tokens set updated_at = now() - interval '1 minute'
      where token = ${first.refresh_token}
    `;
      const replay = await fresh().auth.refreshSession({
        refresh_token: first.refresh_token,
      });
      assertAuthApiError(replay.error, 400, "refresh_token_already_used");
      const [{ active }] = await stack.sql`
      select count(*)::int as active from auth.refresh_tokens t
      join auth.refresh_tokens f on f.session_id = t.session_id
      where f.token = ${first.refresh_token} and not t.revoked
    `;
      assert.equal(active, 0, "reuse revokes the whole session's tokens");
    },
  );

  await t.step("the parent of the active token gets the active token again", async () => {
    const client = fresh();
    const first = (await client.auth.signInWithPassword({ email, password: PASSWORD })).data
      .session!;
    const second = (await client.auth.refreshSession()).data.session!;
    const lost = await fresh().auth.refreshSession({
      refresh_token: first.refresh_token,
    });
    assert.equal(lost.error, null);
    assert.equal(lost.data.session!.refresh_token, second.refresh_token);
  });

  await t.step("unknown and malformed refresh tokens", async () => {
    const client = fresh();
    const unknown = await client.auth.refreshSession({ refresh_token: "abcdefghijkl" });
    assertAuthApiError(unknown.error, 400, "refresh_token_not_found");
    const malformed = await client.auth.refreshSession({ refresh_token: "nope" });
    assertAuthApiError(malformed.error, 400, "validation_failed");
  });
}

async function userAndSignOut(stack: TestStack, t: Deno.TestContext, fresh: Fresh) {
  await t.step("getUser and updateUser: metadata, password, e-mail", async () => {
    const { client, email, user } = await signedUp(fresh, "cy");
    const got = await client.auth.getUser();
    assert.equal(got.error, null);
    assert.equal(got.data.user!.id, user.id);
    const updated = await client.auth.updateUser({ data: { theme: "dark" } });
    assert.equal(updated.error, null);
    assert.equal(updated.data.user!.user_metadata.theme, "dark");
    const same = await client.auth.updateUser({ password: PASSWORD });
    assertAuthApiError(same.error, 422, "same_password");
    assert.equal((await client.auth.updateUser({ password: "a new password" })).error, null);
    const other = fresh();
    const old = await other.auth.signInWithPassword({ email, password: PASSWORD });
    assertAuthApiError(old.error, 400, "invalid_credentials");
    const renamed = newEmail("cy-renamed");
    const moved = await client.auth.updateUser({ email: renamed });
    assert.equal(moved.error, null);
    assert.equal(moved.data.user!.email, renamed);
    const back = await other.auth.signInWithPassword({
      email: renamed,
      password: "a new password",
    });
    assert.equal(back.error, null);
  });

  await t.step("signOut: others, local, global", async () => {
    const { email } = await signedUp(fresh, "dee");
    const devices = await Promise.all([1, 2, 3].map(async () => {
      const client = fresh();
      const { data } = await client.auth.signInWithPassword({ email, password: PASSWORD });
      return { client, session: data.session! };
    }));
    const [a, b, c] = devices;
    assert.equal((await a.client.auth.signOut({ scope: "others" })).error, null);
    assert.equal((await a.client.auth.getUser()).error, null, "this device stays signed in");
    for (const device of [b, c]) {
      const refreshed = await fresh().auth.refreshSession({
        refresh_token: device.session.refresh_token,
      });
      assertAuthApiError(refreshed.error, 400, "refresh_token_not_found");
    }
    assert.equal((await a.client.auth.signOut({ scope: "local" })).error, null);
    const gone = await fresh().auth.getUser(a.session.access_token);
    assert.ok(gone.error instanceof AuthSessionMissingError, "session_not_found after logout");
    const raw = await authFetch(stack, "/user", {
      headers: { authorization: `Bearer ${a.session.access_token}` },
    });
    assert.equal(raw.status, 403);
    assert.equal((await json(raw)).error_code, "session_not_found");

    const d = devices[0].client;
    const e = fresh();
    await d.auth.signInWithPassword({ email, password: PASSWORD });
    const eSession = (await e.auth.signInWithPassword({ email, password: PASSWORD })).data.session!;
    assert.equal((await d.auth.signOut()).error, null);
    const after = await fresh().auth.refreshSession({
      refresh_token: eSession.refresh_token,
    });
    assertAuthApiError(after.error, 400, "refresh_token_not_found");
  });
}

async function anonymous(stack: TestStack, t: Deno.TestContext, fresh: Fresh) {
  await t.step(
    "anonymous sign-in, then an e-mail and password make the user permanent",
    async () => {
      const client = fresh();
      const { data, error } = await client.auth.signInAnonymously();
      assert.equal(error, null);
      const user = data.user!;
      assert.equal(user.is_anonymous, true);
      assert.deepEqual(user.identities, []);
      assert.equal(user.email, "");
      const claims = JSON.parse(atob(data.session!.access_token.split(".")[1]));
      assert.equal(claims.is_anonymous, true);
      assert.equal(claims.amr[0].method, "anonymous");
      assert.equal((await status(client)).data.user_id, user.id);
      const [row] = await stack
        .sql`select encrypted_password from auth.users where id = ${user.id}`;
      assert.equal(row.encrypted_password, "", "no password is hashed for anonymous users");

      const passwordOnly = await client.auth.updateUser({ password: PASSWORD });
      assertAuthApiError(passwordOnly.error, 422, "validation_failed");
      const email = newEmail("anon");
      const converted = await client.auth.updateUser({ email, password: PASSWORD });
      assert.equal(converted.error, null);
      assert.equal(converted.data.user!.is_anonymous, false);
      assert.equal(converted.data.user!.identities![0].provider, "email");
      const again = await fresh().auth.signInWithPassword({ email, password: PASSWORD });
      assert.equal(again.error, null);
      assert.equal(again.data.user!.id, user.id);
    },
  );
}

async function admin(stack: TestStack, t: Deno.TestContext, fresh: Fresh) {
  const server = fresh(serverClient(stack));

  await t.step("createUser with an id, listUsers with pagination, get and update", async () => {
    const id = crypto.randomUUID();
    const email = newEmail("eve");
    const created = await server.auth.admin.createUser({
      id,
      email,
      password: PASSWORD,
      email_confirm: true,
      user_metadata: { name: "Eve" },
      app_metadata: { plan: "pro" },
    });
    assert.equal(created.error, null);
    assert.equal(created.data.user!.id, id);
    assert.deepEqual(created.data.user!.app_metadata, {
      provider: "email",
      providers: ["email"],
      plan: "pro",
    });
    const signIn = await fresh().auth.signInWithPassword({ email, password: PASSWORD });
    assert.equal(signIn.error, null, "email_confirm lets the user sign in at once");
    const taken = await server.auth.admin.createUser({ email, password: PASSWORD });
    assertAuthApiError(taken.error, 422, "email_exists");

    const [{ total }] = await stack.sql`select count(*)::int as total from auth.users`;
    const page = await server.auth.admin.listUsers({ page: 1, perPage: 1 });
    assert.equal(page.error, null);
    assert.equal(page.data.users.length, 1);
    assert.equal(page.data.users[0].id, id, "newest first");
    assert.equal((page.data as { total?: number }).total, total);
    assert.equal((page.data as { nextPage?: number | null }).nextPage, 2);
    const raw = await authFetch(stack, "/admin/users?page=1&per_page=1", {
      headers: { apikey: stack.keys.secret[0], authorization: `Bearer ${stack.keys.secret[0]}` },
    });
    assert.equal(raw.headers.get("x-total-count"), String(total));
    assert.equal(
      raw.headers.get("link"),
      `</admin/users?page=2&per_page=1>; rel="next", </admin/users?page=${total}&per_page=1>; ` +
        'rel="last"',
    );
    await raw.body?.cancel();

    const got = await server.auth.admin.getUserById(id);
    assert.equal(got.data.user!.email, email);
    const updated = await server.auth.admin.updateUserById(id, {
      user_metadata: { name: null, city: "Oslo" },
      ban_duration: "24h",
    });
    assert.equal(updated.error, null);
    assert.deepEqual(updated.data.user!.user_metadata, { city: "Oslo", email_verified: true });
    assert.ok(updated.data.user!.banned_until);
    const banned = await fresh().auth.signInWithPassword({ email, password: PASSWORD });
    assertAuthApiError(banned.error, 400, "user_banned");
  });

  await t.step("deleteUser removes the learner's rows, sessions and identities", async () => {
    const { client, user, session } = await signedUp(fresh, "fay");
    const intent = await client.functions.invoke("orchestrator/intent.sync", {
      body: {
        topic: "Rust ownership",
        depth: "informed",
        end_goal: "Write a safe CLI tool",
        time_per_day_min: 30,
        user_tz: "Europe/Berlin",
      },
    });
    assert.equal(intent.error, null);
    const [{ before }] = await stack.sql`
      select count(*)::int as before from wisely.intents where user_id = ${user.id}
    `;
    assert.equal(before, 1);
    const deleted = await server.auth.admin.deleteUser(user.id);
    assert.equal(deleted.error, null);
    assert.equal(deleted.data.user!.id, user.id);
    const [left] = await stack.sql`
      select (select count(*) from wisely.intents where user_id = ${user.id})::int as intents,
        (select count(*) from auth.sessions where user_id = ${user.id})::int as sessions,
        (select count(*) from auth.identities where user_id = ${user.id})::int as identities,
        (select count(*) from auth.users where id = ${user.id})::int as users
    `;
    assert.deepEqual({ ...left }, { intents: 0, sessions: 0, identities: 0, users: 0 });
    const raw = await authFetch(stack, "/user", {
      headers: { authorization: `Bearer ${session.access_token}` },
    });
    assert.equal(raw.status, 403);
    assert.equal((await json(raw)).error_code, "user_not_found");
    const missing = await server.auth.admin.getUserById(user.id);
    assertAuthApiError(missing.error, 404, "user_not_found");
  });

  await t.step("admin routes refuse the publishable key and user tokens (not_admin)", async () => {
    const browser = fresh();
    const listed = await browser.auth.admin.listUsers();
    assertAuthApiError(listed.error, 403, "not_admin");
    const { session } = await signedUp(fresh, "gus");
    const asUser = await authFetch(stack, "/admin/users", {
      headers: { authorization: `Bearer ${session.access_token}` },
    });
    assert.equal(asUser.status, 403);
    assert.equal((await json(asUser)).error_code, "not_admin");
    const legacy = fresh(serverClient(stack, LOCAL_SERVICE_ROLE_KEY));
    assert.equal((await legacy.auth.admin.listUsers({ perPage: 1 })).error, null);
  });
}

for (const backend of testBackends()) {
  Deno.test(`auth (${backend}): supabase-js against the local Auth`, async (t) => {
    const stack = await startTestStack(backend);
    const clients: SupabaseClient[] = [];
    const fresh: Fresh = (client = frontendClient(stack)) => {
      clients.push(client);
      return client;
    };
    try {
      await signUpAndTokens(stack, t, fresh);
      await signInAndRefresh(stack, t, fresh);
      await userAndSignOut(stack, t, fresh);
      await anonymous(stack, t, fresh);
      await admin(stack, t, fresh);
    } finally {
      await Promise.all(clients.map(closeClient));
      await stack.stop();
    }
  });

  Deno.test(`auth (${backend}): bad input gets Auth's own errors, never a 500`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      await badInput(stack, t);
    } finally {
      await stack.stop();
    }
  });

  Deno.test(`auth (${backend}): stored key, re-applied bootstrap, deno task token`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      await persistence(stack, t);
    } finally {
      await stack.stop();
    }
  });
}

async function badInput(stack: TestStack, t: Deno.TestContext) {
  await t.step("no key, a wrong key: the gateway's 401; ?apikey= is a key too", async () => {
    const none = await fetch(`${stack.url}/auth/v1/settings`);
    assert.equal(none.status, 401);
    assert.deepEqual(await json(none), {
      message: "No API key found in request",
      hint: "No `apikey` request header or url param was found.",
    });
    const wrong = await authFetch(stack, "/settings", { headers: { apikey: "sb_publishable_x" } });
    assert.equal(wrong.status, 401);
    assert.equal((await json(wrong)).message, "Invalid API key");
    const query = await fetch(`${stack.url}/auth/v1/health?apikey=${LOCAL_PUBLISHABLE_KEY}`);
    assert.equal(query.status, 200);
    assert.equal((await json(query)).name, "GoTrue");
  });

  await t.step("malformed JSON is bad_json, in both API versions' shapes", async () => {
    const legacy = await authFetch(stack, "/signup", { method: "POST", body: "{nope" });
    assert.equal(legacy.status, 400);
    assert.equal(legacy.headers.get("x-sb-error-code"), "bad_json");
    const legacyBody = await json(legacy);
    assert.equal(legacyBody.code, 400);
    assert.equal(legacyBody.error_code, "bad_json");
    assert.match(String(legacyBody.msg), /^Could not parse request body as JSON/);
    const current = await authFetch(stack, "/signup", {
      method: "POST",
      body: "{nope",
      headers: { "x-supabase-api-version": "2024-01-01" },
    });
    assert.equal(current.headers.get("x-supabase-api-version"), "2024-01-01");
    const currentBody = await json(current);
    assert.equal(currentBody.code, "bad_json");
    assert.match(String(currentBody.message), /^Could not parse request body as JSON/);
    const typed = await authFetch(stack, "/signup", { method: "POST", body: '{"email": 5}' });
    assert.equal(
      (await json(typed)).msg,
      "Could not parse request body as JSON: json: cannot unmarshal number into Go struct " +
        "field SignupParams.email of type string",
    );
  });

  await t.step("an unknown grant, an oversized body, unknown paths and methods", async () => {
    const grant = await authFetch(stack, "/token?grant_type=magic", { method: "POST", body: "{}" });
    assert.equal(grant.status, 400);
    assert.deepEqual(await json(grant), {
      code: 400,
      error_code: "invalid_credentials",
      msg: "unsupported_grant_type",
    });
    const big = await authFetch(stack, "/signup", {
      method: "POST",
      body: JSON.stringify({ email: "a@b.co", password: "x".repeat(70 * 1024) }),
    });
    assert.equal(big.status, 413);
    assert.equal((await json(big)).error_code, "request_entity_too_large");
    const unknown = await authFetch(stack, "/nothing-here");
    assert.equal(unknown.status, 404);
    assert.equal(await unknown.text(), "404 page not found\n");
    const method = await authFetch(stack, "/signup", { method: "GET" });
    assert.equal(method.status, 405);
    await method.body?.cancel();
  });

  await t.step("preflights and every answer carry CORS headers for auth-js", async () => {
    const preflight = await fetch(`${stack.url}/auth/v1/user`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:3000",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "authorization, apikey, x-supabase-api-version",
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
    assert.match(preflight.headers.get("access-control-allow-methods")!, /PUT/);
    assert.match(preflight.headers.get("access-control-allow-headers")!, /x-supabase-api-version/);
    await preflight.body?.cancel();
    const refused = await fetch(`${stack.url}/auth/v1/user`);
    assert.equal(refused.headers.get("access-control-allow-origin"), "*");
    assert.match(refused.headers.get("access-control-expose-headers")!, /x-total-count/);
    await refused.body?.cancel();
  });

  await t.step(
    "bearers: a tampered token is bad_jwt; an HS256 token for a real user works",
    async () => {
      const none = await authFetch(stack, "/user");
      assert.equal(none.status, 401);
      assert.equal((await json(none)).error_code, "no_authorization");
      const userId = await stack.createUser();
      const legacy = await stack.userToken(userId);
      const ok = await authFetch(stack, "/user", {
        headers: { authorization: `Bearer ${legacy}` },
      });
      assert.equal(ok.status, 200, "JWT_SECRET tokens (deno task token) are accepted");
      assert.equal((await json(ok)).id, userId);
      const ghost = await stack.userToken(crypto.randomUUID());
      const gone = await authFetch(stack, "/user", {
        headers: { authorization: `Bearer ${ghost}` },
      });
      assert.equal(gone.status, 403);
      assert.equal((await json(gone)).error_code, "user_not_found");
      const tampered = `${legacy.slice(0, -4)}AAAA`;
      const bad = await authFetch(stack, "/user", {
        headers: { authorization: `Bearer ${tampered}` },
      });
      assert.equal(bad.status, 403);
      assert.equal((await json(bad)).error_code, "bad_jwt");
    },
  );

  await t.step("garbage in every body answers 4xx", async () => {
    const bodies = [
      "",
      "null",
      "[]",
      '"x"',
      "1e999",
      '{"email":[]}',
      '{"password":{}}',
      '{"data":[1]}',
      '{"refresh_token":7}',
      "\u0000",
      '{"email":"a@b.co","password":"x"}',
    ];
    const targets: [string, string][] = [
      ["POST", "/signup"],
      ["POST", "/token?grant_type=password"],
      ["POST", "/token?grant_type=refresh_token"],
      ["POST", "/token?grant_type=pkce"],
      ["PUT", "/user"],
      ["POST", "/admin/users"],
      ["PUT", `/admin/users/${crypto.randomUUID()}`],
      ["DELETE", "/admin/users/not-a-uuid"],
    ];
    for (const [method, path] of targets) {
      for (const body of bodies) {
        const response = await authFetch(stack, path, {
          method,
          body,
          headers: { authorization: `Bearer ${stack.keys.secret[0]}` },
        });
        await response.body?.cancel();
        assert.ok(
          response.status >= 400 && response.status < 500 || response.status === 200,
          `${method} ${path} ${JSON.stringify(body)}: ${response.status}`,
        );
      }
    }
  });

  await t.step("JWKS (no key needed) lists public fields only; health and settings", async () => {
    const response = await fetch(`${stack.url}/auth/v1/.well-known/jwks.json`);
    assert.equal(response.status, 200);
    const { keys } = await json(response) as { keys: Record<string, unknown>[] };
    assert.equal(keys.length, 1);
    assert.equal(keys[0].d, undefined, "no private part");
    assert.deepEqual(
      { kty: keys[0].kty, crv: keys[0].crv, alg: keys[0].alg, use: keys[0].use },
      { kty: "EC", crv: "P-256", alg: "ES256", use: "sig" },
    );
    const settings = await json(await authFetch(stack, "/settings"));
    assert.equal(settings.mailer_autoconfirm, true);
    assert.equal((settings.external as Record<string, boolean>).anonymous_users, true);
  });
}

async function persistence(stack: TestStack, t: Deno.TestContext) {
  await t.step(
    "the signing key is stored: a second Auth on the database signs with it",
    async () => {
      const again = await startLocalAuth({
        sql: stack.sql,
        url: stack.url,
        keys: stack.keys,
        jwtSecret: stack.config.jwtSecret,
      });
      assert.deepEqual(again.jwks, stack.auth.jwks);
      const [{ keys }] = await stack.sql`select count(*)::int as keys from local_auth.signing_keys`;
      assert.equal(keys, 1);
    },
  );

  await t.step("the bootstrap re-applies over existing users and sessions", async () => {
    const client = frontendClient(stack);
    try {
      const email = newEmail("hal");
      assert.equal((await client.auth.signUp({ email, password: PASSWORD })).error, null);
      await migrate(stack.sql, { bootstrap: true });
      const { data, error } = await client.auth.getUser();
      assert.equal(error, null);
      assert.equal(data.user!.email, email);
    } finally {
      await closeClient(client);
    }
  });

  await t.step("ensureLocalUser completes a seeded row so it can sign in", async () => {
    const id = crypto.randomUUID();
    const email = newEmail("demo");
    // As deno task start seeds its demo learner: a bare row.
    await stack.sql`
      insert into auth.users (id, aud, role, email)
      values (${id}, 'authenticated', 'authenticated', ${email})
    `;
    await ensureLocalUser(stack.sql, { id, email, password: PASSWORD });
    await ensureLocalUser(stack.sql, { id, email, password: PASSWORD }); // idempotent
    const client = frontendClient(stack);
    try {
      const { data, error } = await client.auth.signInWithPassword({ email, password: PASSWORD });
      assert.equal(error, null);
      assert.equal(data.user.id, id);
      assert.equal(data.user.identities?.length, 1);
    } finally {
      await closeClient(client);
    }
  });

  await t.step("deno task token USER_UUID creates the user first; the token works", async () => {
    const userId = crypto.randomUUID();
    const run = async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "dev/token.ts", userId],
        cwd: ROOT,
        env: { SUPABASE_URL: stack.url },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      return {
        code: output.code,
        stdout: decoder.decode(output.stdout),
        stderr: decoder.decode(output.stderr),
      };
    };
    const first = await run();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, "stdout is the token alone");
    assert.match(first.stderr, new RegExp(`created user ${userId}`));
    assert.equal(decodeProtectedHeader(first.stdout.trim()).alg, "HS256");
    const response = await fetch(`${stack.functionsUrl}/orchestrator/status`, {
      headers: { authorization: `Bearer ${first.stdout.trim()}` },
    });
    assert.equal(response.status, 200);
    assert.equal((await json(response)).user_id, userId);
    const second = await run();
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stderr, "", "an existing user is not created again");
  });

  await t.step(
    "deno task token for a new user without a stack: exit 1, a reason, no token",
    async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const closedPort = listener.addr.port;
      listener.close();
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "dev/token.ts", crypto.randomUUID()],
        cwd: ROOT,
        env: { SUPABASE_URL: `http://127.0.0.1:${closedPort}` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(output.code, 1);
      assert.equal(new TextDecoder().decode(output.stdout), "");
      assert.match(new TextDecoder().decode(output.stderr), /Cannot reach the local stack's Auth/);
    },
  );
}
