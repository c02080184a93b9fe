/**
 * The JWT attack set (issue 4, item 6): forged, malformed, misdirected and expired tokens
 * against the real request pipeline (`createApp` with the real verifier), in memory, no
 * database. Every attack must be a 401 (403 where spec 5.1 says) with exactly the spec's body
 * `{error, code}`, `WWW-Authenticate: Bearer` on 401, CORS, and never a 500. The same attacks
 * against the orchestrator's own `status` route never reach the database.
 *
 * Rules this file pins down (see auth.ts):
 * - `alg` must be exactly HS256 (with JWT_SECRET) or ES256/RS256 (with the JWKS); the key
 *   source follows the algorithm, so a JWKS public key is never an HMAC secret.
 * - exp required; exp and nbf checked with no clock tolerance (jose's default; RFC 7519
 *   §4.1.4/4.1.5). A future iat is accepted (RFC 7519 §4.1.6: informational; jose checks it only
 *   with maxTokenAge); a non-numeric iat is refused.
 * - role authenticated: an `aud` that is present must name "authenticated" (RFC 7519 §4.1.3:
 *   MUST reject when we are not in it); a missing aud is accepted, as PostgREST and the
 *   Supabase gateway accept it. `sub` must be a UUID (normalised to lower case).
 * - Compact JWS syntax is checked strictly before decoding: three unpadded, canonical base64url
 *   segments, so one signed token has one spelling.
 * - `jku`, `x5u`, `x5c` and `jwk` headers are ignored: keys come only from configuration.
 */
import assert from "node:assert/strict";
import { exportJWK, exportSPKI, SignJWT } from "jose";
import { createTokenVerifier } from "../../supabase/functions/_shared/auth.ts";
import { type Config, loadConfig } from "../../supabase/functions/_shared/config.ts";
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import { type App, createApp, json } from "../../supabase/functions/_shared/http/app.ts";
import { silentLogger } from "../../supabase/functions/_shared/log.ts";
import { createOrchestrator } from "../../supabase/functions/orchestrator/app.ts";

const USER = "6f1c1f1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f";
const OTHER = "0b7d0c9a-1111-4222-8333-444455556666";
const SECRET_TEXT = "super-secret-jwt-token-with-at-least-32-characters-long";
const secret = new TextEncoder().encode(SECRET_TEXT);
const encoder = new TextEncoder();
const now = () => Math.floor(Date.now() / 1000);

// --- encoding and raw signing (jose refuses to sign several of the headers below) ----------

function b64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}
const b64json = (value: unknown) =>
  b64url(encoder.encode(typeof value === "string" ? value : JSON.stringify(value)));

type RawKey =
  | { alg: "HS"; key: Uint8Array<ArrayBuffer>; hash?: "SHA-256" | "SHA-384" | "SHA-512" }
  | { alg: "ES256"; key: CryptoKey }
  | { alg: "RS256"; key: CryptoKey };

async function signature(input: string, key: RawKey): Promise<string> {
  const data = encoder.encode(input);
  if (key.alg === "HS") {
    const hmac = await crypto.subtle.importKey(
      "raw",
      key.key,
      { name: "HMAC", hash: key.hash ?? "SHA-256" },
      false,
      ["sign"],
    );
    return b64url(new Uint8Array(await crypto.subtle.sign("HMAC", hmac, data)));
  }
  const algorithm = key.alg === "ES256"
    ? { name: "ECDSA", hash: "SHA-256" }
    : { name: "RSASSA-PKCS1-v1_5" };
  return b64url(new Uint8Array(await crypto.subtle.sign(algorithm, key.key, data)));
}

/** A compact JWS with any header and payload text, correctly signed with `key`. */
async function rawJwt(
  header: Record<string, unknown> | string,
  payload: Record<string, unknown> | string,
  key: RawKey = { alg: "HS", key: secret },
): Promise<string> {
  const input = `${b64json(header)}.${b64json(payload)}`;
  return `${input}.${await signature(input, key)}`;
}

function userClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: USER,
    role: "authenticated",
    aud: "authenticated",
    iat: now(),
    exp: now() + 3600,
    ...extra,
  };
}
const hsHeader = { alg: "HS256", typ: "JWT" };
const hs = (claims = userClaims(), header: Record<string, unknown> = hsHeader) =>
  rawJwt(header, claims);

// --- keys and configurations ---------------------------------------------------------------

const es = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
  "sign",
  "verify",
]);
const rs = await crypto.subtle.generateKey(
  {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  true,
  ["sign", "verify"],
);
/** The attacker's own key pair, never in any JWKS. */
const evil = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
  "sign",
  "verify",
]);
const esJwk = { ...(await exportJWK(es.publicKey)), kid: "es-1", alg: "ES256", use: "sig" };
const rsJwk = { ...(await exportJWK(rs.publicKey)), kid: "rs-1", alg: "RS256", use: "sig" };
const evilJwk = await exportJWK(evil.publicKey);
/** An EC key whose JWKS entry says ES384: an ES256 token naming it must not verify. */
const mislabelled = await crypto.subtle.generateKey(
  { name: "ECDSA", namedCurve: "P-256" },
  true,
  ["sign", "verify"],
);
const mislabelledJwk = {
  ...(await exportJWK(mislabelled.publicKey)),
  kid: "es-384-label",
  alg: "ES384",
};
/** An EC key published for encryption only. */
const encOnly = await crypto.subtle.generateKey(
  { name: "ECDSA", namedCurve: "P-256" },
  true,
  ["sign", "verify"],
);
const encOnlyJwk = { ...(await exportJWK(encOnly.publicKey)), kid: "es-enc", use: "enc" };
const JWKS = { keys: [esJwk, rsJwk, mislabelledJwk, encOnlyJwk] };

const localConfig = await loadConfig(new Map([["WISELY_LOCAL_STACK", "1"]]));
const configs: Record<string, Config> = {
  /** JWT_SECRET only: no JWKS, no SUPABASE_URL to discover one from. */
  secretOnly: { ...localConfig, supabaseUrl: null, jwks: null },
  /** A deployment with asymmetric keys only (no JWT_SECRET). */
  jwksOnly: await loadConfig(
    new Map([
      ["SUPABASE_DB_URL", "postgres://postgres@127.0.0.1:1/postgres"],
      ["SUPABASE_JWKS", JSON.stringify(JWKS)],
      ["EDGE_BASE_URL", "http://127.0.0.1:1"],
      ["EDGE_SERVICE_JWT", "x.y.z"],
    ]),
  ),
  /** Both, as a project migrating from the legacy secret to signing keys. */
  both: { ...localConfig, jwks: JWKS },
};
assert.equal(configs.jwksOnly.jwtSecret, null);

function appFor(config: Config): App {
  return createApp({
    functionName: "orchestrator",
    verifier: createTokenVerifier(config, silentLogger),
    log: silentLogger,
    routes: [
      {
        method: "GET",
        path: "whoami",
        auth: "user",
        handle: ({ principal }) => Promise.resolve(json({ user: principal.userId })),
      },
      {
        method: "GET",
        path: "svc",
        auth: "service",
        handle: () => Promise.resolve(json({ service: true })),
      },
    ],
  });
}
const apps = Object.fromEntries(Object.entries(configs).map(([k, c]) => [k, appFor(c)]));

// --- requests and the response contract ----------------------------------------------------

type Auth = string | null | { headers: [string, string][] };

function request(route: string, auth: Auth, extra: [string, string][] = []): Request {
  const headers = new Headers();
  if (typeof auth === "string") headers.set("authorization", auth);
  else if (auth !== null) { for (const [name, value] of auth.headers) headers.append(name, value); }
  for (const [name, value] of extra) headers.append(name, value);
  return new Request(`http://local/functions/v1/orchestrator/${route}`, { headers });
}

const SENTENCE = /^[A-Z`][^\n]*[.]$/;

/** The spec's error body, exactly, for `status`/`code`; nothing from jose leaks. */
async function assertRejected(response: Response, status: number, code: string, label: string) {
  const text = await response.text();
  assert.equal(response.status, status, `${label}: ${response.status} ${text}`);
  assert.equal(response.headers.get("access-control-allow-origin"), "*", label);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json; charset=utf-8$/);
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body).sort(), ["code", "error"], `${label}: ${text}`);
  assert.equal(body.code, code, label);
  assert.match(body.error, SENTENCE, label);
  assert.doesNotMatch(body.error, /JWS|JWT[A-Z]|jose|claim timestamp|Error:|\bat\s/, label);
  if (status === 401) assert.equal(response.headers.get("www-authenticate"), "Bearer", label);
}

async function assertAccepted(response: Response, user: string, label: string) {
  const text = await response.text();
  assert.equal(response.status, 200, `${label}: ${text}`);
  assert.deepEqual(JSON.parse(text), { user }, label);
}

interface Attack {
  name: string;
  /** The Authorization header (or headers) to send. */
  auth: () => Auth | Promise<Auth>;
  /** Which verifier configurations to try it on. Default: all. */
  on?: (keyof typeof configs)[];
  status?: 401 | 403;
  route?: "whoami" | "svc";
  headers?: [string, string][];
}

const bearer = async (token: Promise<string> | string) => `Bearer ${await token}`;
const ALL = Object.keys(configs) as (keyof typeof configs)[];
const WITH_SECRET: (keyof typeof configs)[] = ["secretOnly", "both"];
const WITH_JWKS: (keyof typeof configs)[] = ["jwksOnly", "both"];

function mutateSegment(token: string, index: number, fn: (segment: string) => string): string {
  const parts = token.split(".");
  parts[index] = fn(parts[index]);
  return parts.join(".");
}

/** Same bytes, another spelling: set the unused low bits of the last base64url character. */
function nonCanonical(segment: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(segment[segment.length - 1]);
  const spare = segment.length % 4 === 2 ? 0b1111 : 0b11;
  return segment.slice(0, -1) + alphabet[last | spare];
}

/**
 * A server standing in for the attacker's key host: it records every path fetched, to prove
 * that jku/x5u URLs are never fetched. Started by each test that sends the attacks.
 */
const fetched: string[] = [];
let trapUrl = "http://127.0.0.1:9";
async function withTrap(fn: () => Promise<void>): Promise<void> {
  const trap = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    fetched.push(new URL(req.url).pathname);
    return Response.json({ keys: [{ ...evilJwk, kid: "evil", alg: "ES256" }] });
  });
  trapUrl = `http://127.0.0.1:${trap.addr.port}`;
  try {
    await fn();
    assert.deepEqual(fetched, [], "jku/x5u/x5c URLs must never be fetched");
  } finally {
    await trap.shutdown();
  }
}

const ATTACKS: Attack[] = [
  // alg none, every casing, with and without a signature, claiming the service role too.
  ...["none", "None", "NONE", "nOnE", "none "].flatMap((alg): Attack[] => [
    {
      name: `alg ${JSON.stringify(alg)}, empty signature`,
      auth: () => bearer(`${b64json({ alg, typ: "JWT" })}.${b64json(userClaims())}.`),
    },
    {
      name: `alg ${JSON.stringify(alg)}, garbage signature`,
      auth: () => bearer(`${b64json({ alg })}.${b64json(userClaims())}.AAAA`),
    },
    {
      name: `alg ${JSON.stringify(alg)}, HMAC-signed, service role`,
      auth: () => bearer(hs({ role: "service_role", exp: now() + 60 }, { alg })),
      route: "svc",
    },
  ]),
  // Other algorithms, even signed with the real secret.
  ...["HS384", "HS512", "hs256", "Hs256", "ES256K", "EdDSA", "PS256", "RS512", "ES384", ""].map(
    (alg): Attack => ({
      name: `alg ${JSON.stringify(alg)}`,
      auth: () =>
        bearer(
          rawJwt({ alg }, userClaims(), {
            alg: "HS",
            key: secret,
            hash: alg === "HS384" ? "SHA-384" : alg === "HS512" ? "SHA-512" : "SHA-256",
          }),
        ),
    }),
  ),
  { name: "no alg", auth: () => bearer(hs(userClaims(), { typ: "JWT" })) },
  { name: "alg array", auth: () => bearer(hs(userClaims(), { alg: ["HS256"] })) },
  { name: "alg null", auth: () => bearer(hs(userClaims(), { alg: null })) },

  // HS/RS confusion: HMAC keyed with the public key in every encoding an attacker could use.
  ...(
    [
      ["RSA SPKI PEM", async () => encoder.encode(await exportSPKI(rs.publicKey))],
      [
        "RSA SPKI DER",
        async () => new Uint8Array(await crypto.subtle.exportKey("spki", rs.publicKey)),
      ],
      ["EC SPKI PEM", async () => encoder.encode(await exportSPKI(es.publicKey))],
      [
        "EC raw point",
        async () => new Uint8Array(await crypto.subtle.exportKey("raw", es.publicKey)),
      ],
      ["RSA JWK JSON", () => encoder.encode(JSON.stringify(rsJwk))],
      ["JWKS JSON", () => encoder.encode(JSON.stringify(JWKS))],
      ["RSA modulus n", () => encoder.encode(rsJwk.n!)],
    ] as [string, () => Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>>][]
  ).flatMap(([label, keyBytes]): Attack[] => [
    {
      name: `HS256 keyed with the ${label}`,
      auth: async () =>
        bearer(rawJwt(hsHeader, userClaims(), { alg: "HS", key: await keyBytes() })),
    },
    {
      name: `HS256 keyed with the ${label}, kid of the RSA key`,
      auth: async () =>
        bearer(
          rawJwt({ alg: "HS256", kid: "rs-1" }, userClaims(), {
            alg: "HS",
            key: await keyBytes(),
          }),
        ),
    },
  ]),

  // Asymmetric tokens where no JWKS is configured (and no SUPABASE_URL to fetch one from).
  {
    name: "ES256 token, only JWT_SECRET configured",
    on: ["secretOnly"],
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", kid: "es-1" }, userClaims(), { alg: "ES256", key: es.privateKey }),
      ),
  },
  {
    name: "RS256 token, only JWT_SECRET configured",
    on: ["secretOnly"],
    auth: () =>
      bearer(
        rawJwt({ alg: "RS256", kid: "rs-1" }, userClaims(), { alg: "RS256", key: rs.privateKey }),
      ),
  },
  {
    name: "HS256 token, only a JWKS configured",
    on: ["jwksOnly"],
    auth: () => bearer(hs()),
  },

  // Lifetime.
  { name: "expired a second ago", auth: () => bearer(hs(userClaims({ exp: now() - 1 }))) },
  { name: "exp is now", auth: () => bearer(hs(userClaims({ exp: now() }))) },
  { name: "expired long ago", auth: () => bearer(hs(userClaims({ exp: 1 }))) },
  { name: "no exp", auth: () => bearer(hs(userClaims({ exp: undefined }))) },
  { name: "exp as a string", auth: () => bearer(hs(userClaims({ exp: String(now() + 3600) }))) },
  { name: "exp null", auth: () => bearer(hs(userClaims({ exp: null }))) },
  { name: "nbf in a minute", auth: () => bearer(hs(userClaims({ nbf: now() + 60 }))) },
  { name: "nbf far in the future", auth: () => bearer(hs(userClaims({ nbf: 32503680000 }))) },
  { name: "nbf as a string", auth: () => bearer(hs(userClaims({ nbf: "0" }))) },
  { name: "iat as a string", auth: () => bearer(hs(userClaims({ iat: "yesterday" }))) },
  {
    name: "expired ES256",
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", kid: "es-1" }, userClaims({ exp: now() - 5 }), {
          alg: "ES256",
          key: es.privateKey,
        }),
      ),
  },

  // Audience.
  { name: 'aud "anon"', auth: () => bearer(hs(userClaims({ aud: "anon" }))) },
  { name: 'aud ["anon"]', auth: () => bearer(hs(userClaims({ aud: ["anon"] }))) },
  { name: 'aud "Authenticated"', auth: () => bearer(hs(userClaims({ aud: "Authenticated" }))) },
  { name: 'aud ""', auth: () => bearer(hs(userClaims({ aud: "" }))) },
  { name: "aud []", auth: () => bearer(hs(userClaims({ aud: [] }))) },
  { name: "aud 1", auth: () => bearer(hs(userClaims({ aud: 1 }))) },
  { name: "aud null", auth: () => bearer(hs(userClaims({ aud: null }))) },
  { name: "aud object", auth: () => bearer(hs(userClaims({ aud: { 0: "authenticated" } }))) },
  {
    name: 'aud ["authenticated", 1]',
    auth: () => bearer(hs(userClaims({ aud: ["authenticated", 1] }))),
  },

  // Role.
  ...[
    "supabase_admin",
    "postgres",
    "supabase_auth_admin",
    "",
    "AUTHENTICATED",
    "Service_Role",
    "service_role ",
    "admin",
  ].map((role): Attack => ({
    name: `role ${JSON.stringify(role)}`,
    auth: () => bearer(hs(userClaims({ role }))),
  })),
  { name: "role missing", auth: () => bearer(hs(userClaims({ role: undefined }))) },
  { name: "role null", auth: () => bearer(hs(userClaims({ role: null }))) },
  { name: "role array", auth: () => bearer(hs(userClaims({ role: ["authenticated"] }))) },
  { name: "role anon", auth: () => bearer(hs({ role: "anon", exp: now() + 60 })) },
  {
    name: "role anon on a service route",
    auth: () => bearer(hs({ role: "anon", exp: now() + 60 })),
    route: "svc",
  },
  {
    name: "role supabase_admin on a service route",
    route: "svc",
    auth: () => bearer(hs({ role: "supabase_admin", exp: now() + 60 })),
  },

  // Subject.
  { name: "authenticated without sub", auth: () => bearer(hs(userClaims({ sub: undefined }))) },
  ...[
    "user-1",
    "",
    `{${USER}}`,
    `${USER} `,
    USER.replaceAll("-", ""),
    `urn:uuid:${USER}`,
    `${USER}\u0000`,
    "6f1c1f1e-8a4b-4c1d-9e2f-0a1b2c3d4e5g",
  ].map((sub): Attack => ({
    name: `sub ${JSON.stringify(sub)}`,
    auth: () => bearer(hs(userClaims({ sub }))),
  })),
  { name: "sub a number", auth: () => bearer(hs(userClaims({ sub: 12345 }))) },
  { name: "sub an array", auth: () => bearer(hs(userClaims({ sub: [USER] }))) },

  // Truncation.
  { name: "header only", auth: async () => bearer((await hs()).split(".")[0]) },
  {
    name: "no signature segment",
    auth: async () => bearer((await hs()).split(".").slice(0, 2).join(".")),
  },
  { name: "empty signature", auth: async () => bearer(mutateSegment(await hs(), 2, () => "")) },
  { name: "signature cut short", auth: async () => bearer((await hs()).slice(0, -2)) },
  { name: "signature cut by one", auth: async () => bearer((await hs()).slice(0, -1)) },
  {
    name: "header cut",
    auth: async () => bearer(mutateSegment(await hs(), 0, (s) => s.slice(0, 10))),
  },
  {
    name: "payload cut",
    auth: async () => bearer(mutateSegment(await hs(), 1, (s) => s.slice(0, -7))),
  },
  { name: "empty header", auth: async () => bearer(mutateSegment(await hs(), 0, () => "")) },
  { name: "empty payload", auth: async () => bearer(mutateSegment(await hs(), 1, () => "")) },
  { name: "two dots", auth: () => bearer("..") },

  // Size.
  {
    name: "a validly signed token over 8 KiB",
    auth: () => bearer(hs(userClaims({ pad: "x".repeat(8 * 1024) }))),
  },
  {
    name: "a validly signed token with an 8 KiB header",
    auth: () => bearer(hs(userClaims(), { ...hsHeader, pad: "x".repeat(8 * 1024) })),
  },
  { name: "a 1 MiB Authorization header", auth: () => `Bearer ${"A".repeat(1024 * 1024)}` },
  {
    name: "a 1 MiB Authorization header of dots",
    auth: () => `Bearer ${".".repeat(1024 * 1024)}`,
  },

  // Extra segments.
  { name: "four segments", auth: async () => bearer(`${await hs()}.AAAA`) },
  { name: "trailing dot", auth: async () => bearer(`${await hs()}.`) },
  {
    name: "five segments (JWE shape)",
    auth: async () => {
      const [h, p, s] = (await hs()).split(".");
      return bearer(`${h}.${p}.${s}.${p}.${s}`);
    },
  },
  { name: "leading dot", auth: async () => bearer(`.${await hs()}`) },

  // Base64 spelling tricks on a validly signed token.
  ...[0, 1, 2].flatMap((segment): Attack[] => [
    {
      name: `segment ${segment} padded with "="`,
      auth: async () => bearer(mutateSegment(await hs(), segment, (s) => s + "=")),
    },
    {
      name: `segment ${segment} padded with "=="`,
      auth: async () => bearer(mutateSegment(await hs(), segment, (s) => s + "==")),
    },
    {
      name: `segment ${segment} in the standard alphabet`,
      auth: async () => {
        // Find a token whose segment holds "-" or "_" so the re-spelling differs.
        for (let i = 0; i < 64; i++) {
          const filler = "?>~".repeat(i % 5);
          const token = await hs(userClaims({ jti: String(i), nonce: filler }), {
            ...hsHeader,
            x: filler,
          });
          const part = token.split(".")[segment];
          if (/[-_]/.test(part)) {
            return bearer(
              mutateSegment(token, segment, (s) => s.replaceAll("-", "+").replaceAll("_", "/")),
            );
          }
        }
        throw new Error("no token with - or _ found");
      },
    },
  ]),
  {
    name: "signature with non-zero trailing bits (same bytes, other spelling)",
    auth: async () => {
      for (;;) {
        const token = await hs(userClaims({ jti: crypto.randomUUID() }));
        const sig = token.split(".")[2];
        if (nonCanonical(sig) !== sig) return bearer(mutateSegment(token, 2, nonCanonical));
      }
    },
  },
  {
    name: "header with non-zero trailing bits",
    auth: async () => {
      for (let i = 0;; i++) {
        const header = { ...hsHeader, x: "y".repeat(i % 3) };
        const token = await hs(userClaims(), header);
        const h = token.split(".")[0];
        if (h.length % 4 !== 0 && nonCanonical(h) !== h) {
          return bearer(mutateSegment(token, 0, nonCanonical));
        }
      }
    },
  },
  {
    name: "whitespace inside the token",
    auth: async () => bearer(mutateSegment(await hs(), 1, (s) => `${s.slice(0, 4)} ${s.slice(4)}`)),
  },
  { name: "percent-encoded token", auth: async () => bearer(encodeURIComponent(`${await hs()}=`)) },

  // Keys: kid, alg and use in the JWKS.
  {
    name: "kid naming no key (attacker's key)",
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", kid: "nope" }, userClaims(), { alg: "ES256", key: evil.privateKey }),
      ),
  },
  {
    name: "kid of the real key, signed by the attacker's key",
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", kid: "es-1" }, userClaims(), { alg: "ES256", key: evil.privateKey }),
      ),
  },
  {
    name: "no kid, signed by the attacker's key",
    on: WITH_JWKS,
    auth: () =>
      bearer(rawJwt({ alg: "ES256" }, userClaims(), { alg: "ES256", key: evil.privateKey })),
  },
  {
    name: "ES256 token naming the RSA key",
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", kid: "rs-1" }, userClaims(), { alg: "ES256", key: es.privateKey }),
      ),
  },
  {
    name: "RS256 token naming the EC key",
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "RS256", kid: "es-1" }, userClaims(), { alg: "RS256", key: rs.privateKey }),
      ),
  },
  {
    name: 'ES256 token naming a JWKS key labelled "alg": "ES384"',
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", kid: "es-384-label" }, userClaims(), {
          alg: "ES256",
          key: mislabelled.privateKey,
        }),
      ),
  },
  {
    name: 'ES256 token naming a JWKS key with "use": "enc"',
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", kid: "es-enc" }, userClaims(), {
          alg: "ES256",
          key: encOnly.privateKey,
        }),
      ),
  },
  {
    name: "kid path traversal",
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", kid: "../../../../etc/passwd" }, userClaims(), {
          alg: "ES256",
          key: evil.privateKey,
        }),
      ),
  },

  // Headers that name keys elsewhere: never fetched, never trusted.
  ...["jku", "x5u"].map((name): Attack => ({
    name: `${name} pointing at the attacker's JWKS`,
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", kid: "evil", [name]: `${trapUrl}/${name}.json` }, userClaims(), {
          alg: "ES256",
          key: evil.privateKey,
        }),
      ),
  })),
  {
    name: "embedded jwk of the attacker's key",
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", jwk: evilJwk }, userClaims(), {
          alg: "ES256",
          key: evil.privateKey,
        }),
      ),
  },
  {
    name: "x5c chain of garbage",
    on: WITH_JWKS,
    auth: () =>
      bearer(
        rawJwt({ alg: "ES256", x5c: ["MIIB"] }, userClaims(), {
          alg: "ES256",
          key: evil.privateKey,
        }),
      ),
  },
  {
    name: "jku on an HS256 token signed with a guessed secret",
    auth: () =>
      bearer(
        rawJwt({ alg: "HS256", jku: `${trapUrl}/hs.json` }, userClaims(), {
          alg: "HS",
          key: encoder.encode("guessed-secret-guessed-secret-guessed"),
        }),
      ),
  },

  // crit: extensions we do not understand make the token invalid (RFC 7515 §4.1.11).
  { name: 'crit ["exp"]', auth: () => bearer(hs(userClaims(), { ...hsHeader, crit: ["exp"] })) },
  {
    name: 'crit ["x-wisely"] with the parameter',
    auth: () => bearer(hs(userClaims(), { ...hsHeader, crit: ["x-wisely"], "x-wisely": 1 })),
  },
  { name: "crit []", auth: () => bearer(hs(userClaims(), { ...hsHeader, crit: [] })) },
  { name: 'crit "b64"', auth: () => bearer(hs(userClaims(), { ...hsHeader, crit: "b64" })) },
  {
    name: 'crit ["b64"] without b64',
    auth: () => bearer(hs(userClaims(), { ...hsHeader, crit: ["b64"] })),
  },
  {
    name: "unencoded payload (b64 false)",
    auth: () => bearer(hs(userClaims(), { ...hsHeader, crit: ["b64"], b64: false })),
  },

  // Structure: header and payload that are not JSON objects, validly signed.
  ...["not json", "[]", "null", '"HS256"', '{"alg":"HS256"', "{}"].map((header): Attack => ({
    name: `header ${JSON.stringify(header)}`,
    auth: () => bearer(rawJwt(header, userClaims())),
  })),
  ...["not json", "[]", "null", "1", '"sub"', `{"sub":"${USER}"`, "\uFEFF{}"].map(
    (payload): Attack => ({
      name: `payload ${JSON.stringify(payload)}`,
      auth: () => bearer(rawJwt(hsHeader, payload)),
    }),
  ),
  // The Authorization header itself.
  { name: "no Authorization header", auth: () => null },
  { name: "empty Authorization header", auth: () => "" },
  { name: '"Bearer" alone', auth: () => "Bearer" },
  { name: '"Bearer " and spaces', auth: () => "Bearer    " },
  { name: "Basic scheme", auth: () => `Basic ${btoa("user:pass")}` },
  { name: "Token scheme", auth: async () => `Token ${await hs()}` },
  { name: "no scheme", auth: async () => await hs() },
  { name: "Bearer with two tokens", auth: async () => `Bearer ${await hs()} ${await hs()}` },
  {
    name: "two Authorization headers, both valid",
    auth: async () => ({
      headers: [["authorization", await bearer(hs())], ["authorization", await bearer(hs())]],
    }),
  },
  {
    name: "two Authorization headers, valid and forged",
    auth: async () => ({
      headers: [["authorization", await bearer(hs())], ["authorization", "Bearer a.b.c"]],
    }),
  },

  // 403s: authenticated, but not allowed.
  {
    name: "X-User-ID naming another user",
    status: 403,
    on: WITH_SECRET,
    auth: () => bearer(hs()),
    headers: [["x-user-id", OTHER]],
  },
  {
    name: "a user on a service-only route",
    status: 403,
    on: WITH_SECRET,
    route: "svc",
    auth: () => bearer(hs()),
  },
];

let attackCount = 0;

Deno.test("JWT attacks are refused with the spec's body, never a 500", async (t) => {
  await withTrap(async () => {
    for (const attack of ATTACKS) {
      await t.step(attack.name, async () => {
        for (const configName of attack.on ?? ALL) {
          const auth = await attack.auth();
          const response = await apps[configName].fetch(
            request(attack.route ?? "whoami", auth, attack.headers),
          );
          const status = attack.status ?? 401;
          await assertRejected(
            response,
            status,
            status === 401 ? "UNAUTHORIZED" : "FORBIDDEN",
            `${attack.name} [${configName}]`,
          );
          attackCount++;
        }
      });
    }
  });
  console.log(`jwt attacks: ${ATTACKS.length} attacks, ${attackCount} requests`);
});

Deno.test("controls: the same pipeline accepts the tokens Supabase Auth issues", async () => {
  await assertAccepted(
    await apps.secretOnly.fetch(request("whoami", await bearer(hs()))),
    USER,
    "HS256",
  );
  await assertAccepted(
    await apps.both.fetch(request("whoami", await bearer(hs()))),
    USER,
    "HS256 both",
  );
  await assertAccepted(
    await apps.both.fetch(request("whoami", `bearer   ${await hs()}  `)),
    USER,
    "scheme is case-insensitive, spaces tolerated",
  );
  for (const name of WITH_JWKS) {
    await assertAccepted(
      await apps[name].fetch(
        request(
          "whoami",
          await bearer(
            rawJwt({ alg: "ES256", kid: "es-1", typ: "JWT" }, userClaims(), {
              alg: "ES256",
              key: es.privateKey,
            }),
          ),
        ),
      ),
      USER,
      `ES256 [${name}]`,
    );
    await assertAccepted(
      await apps[name].fetch(
        request(
          "whoami",
          await bearer(
            rawJwt({ alg: "RS256", kid: "rs-1" }, userClaims(), {
              alg: "RS256",
              key: rs.privateKey,
            }),
          ),
        ),
      ),
      USER,
      `RS256 [${name}]`,
    );
  }
  // The jose signer, as the rest of the suite mints tokens.
  const minted = await new SignJWT(userClaims()).setProtectedHeader({ alg: "ES256", kid: "es-1" })
    .sign(es.privateKey);
  await assertAccepted(
    await apps.jwksOnly.fetch(request("whoami", `Bearer ${minted}`)),
    USER,
    "jose ES256",
  );
});

Deno.test("decisions: aud, iat, nbf, sub spelling and crit b64", async (t) => {
  const app = apps.secretOnly;
  const call = async (claims: Record<string, unknown>, header = hsHeader) =>
    await app.fetch(request("whoami", await bearer(hs(claims, header))));

  await t.step(
    "aud missing is accepted (RFC 7519 only rejects an aud that excludes us)",
    async () => {
      await assertAccepted(await call(userClaims({ aud: undefined })), USER, "no aud");
    },
  );
  await t.step("aud as an array naming authenticated is accepted", async () => {
    await assertAccepted(await call(userClaims({ aud: ["anon", "authenticated"] })), USER, "aud[]");
  });
  await t.step("a service_role token needs no aud (legacy service keys have none)", async () => {
    const response = await app.fetch(
      request(
        "svc",
        await bearer(hs({ role: "service_role", iss: "supabase-demo", exp: now() + 60 })),
      ),
    );
    assert.equal(response.status, 200, await response.text());
  });
  await t.step("iat in the future is accepted; exp bounds the token's life", async () => {
    await assertAccepted(await call(userClaims({ iat: now() + 3600 })), USER, "future iat");
  });
  await t.step("nbf in the past and iat missing are accepted", async () => {
    await assertAccepted(await call(userClaims({ nbf: now() - 1, iat: undefined })), USER, "nbf");
  });
  await t.step("an upper-case sub is the same user, in lower case", async () => {
    await assertAccepted(await call(userClaims({ sub: USER.toUpperCase() })), USER, "sub case");
    const response = await app.fetch(
      request("whoami", await bearer(hs(userClaims({ sub: USER.toUpperCase() }))), [
        ["x-user-id", USER],
      ]),
    );
    await assertAccepted(response, USER, "sub case with X-User-ID");
  });
  await t.step('crit ["b64"] with b64 true is RFC 7797\'s default encoding: accepted', async () => {
    await assertAccepted(
      await call(userClaims(), { ...hsHeader, crit: ["b64"], b64: true } as typeof hsHeader),
      USER,
      "crit b64 true",
    );
  });
  await t.step("a signed payload with a duplicate role: JSON.parse's last value", async () => {
    // Only a holder of the secret can produce it and Supabase Auth never does; what matters
    // here is that the outcome is a clean 200/401/403, and that a user route sees a user.
    const token = await rawJwt(
      hsHeader,
      `{"role":"service_role","sub":"${USER}","aud":"authenticated","exp":${
        now() + 60
      },"role":"authenticated"}`,
    );
    await assertAccepted(await app.fetch(request("whoami", `Bearer ${token}`)), USER, "dup role");
    await assertRejected(
      await app.fetch(request("svc", `Bearer ${token}`)),
      403,
      "FORBIDDEN",
      "dup role on svc",
    );
  });
});

Deno.test("a remote JWKS: unknown kids, jku and outages are 401s, never a hang or a 500", async () => {
  const hits: string[] = [];
  let mode: "serve" | "fail" | "hang" = "serve";
  const hang = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    hits.push(new URL(req.url).pathname);
    if (mode === "fail") return new Response("boom", { status: 500 });
    if (mode === "hang") await hang.promise;
    return Response.json(JWKS);
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const remote = appFor({ ...localConfig, supabaseUrl: base, jwks: null });
    const esToken = (header: Record<string, unknown>, key = es.privateKey) =>
      rawJwt(header, userClaims(), { alg: "ES256", key });

    await assertAccepted(
      await remote.fetch(request("whoami", await bearer(esToken({ alg: "ES256", kid: "es-1" })))),
      USER,
      "remote ES256",
    );
    await assertRejected(
      await remote.fetch(
        request(
          "whoami",
          await bearer(
            esToken(
              { alg: "ES256", kid: "evil", jku: `${base}/evil/jwks.json`, x5u: `${base}/evil/x5u` },
              evil.privateKey,
            ),
          ),
        ),
      ),
      401,
      "UNAUTHORIZED",
      "remote jku",
    );
    assert.ok(hits.every((path) => path === "/auth/v1/.well-known/jwks.json"), hits.join());

    // A JWKS endpoint that fails or hangs: 401 within jose's 3 s timeout, never a 500.
    const failing = appFor({ ...localConfig, supabaseUrl: base, jwks: null });
    mode = "fail";
    await assertRejected(
      await failing.fetch(request("whoami", await bearer(esToken({ alg: "ES256", kid: "es-1" })))),
      401,
      "UNAUTHORIZED",
      "JWKS 500",
    );
    const hanging = appFor({ ...localConfig, supabaseUrl: base, jwks: null });
    mode = "hang";
    const started = performance.now();
    await assertRejected(
      await hanging.fetch(request("whoami", await bearer(esToken({ alg: "ES256", kid: "es-1" })))),
      401,
      "UNAUTHORIZED",
      "JWKS hang",
    );
    assert.ok(performance.now() - started < 5000, "the JWKS fetch must time out");
  } finally {
    hang.resolve();
    await server.shutdown();
  }
  // Nothing listening at all.
  const closed = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(),
  );
  const closedUrl = `http://127.0.0.1:${closed.addr.port}`;
  await closed.shutdown();
  const unreachable = appFor({ ...localConfig, supabaseUrl: closedUrl, jwks: null });
  await assertRejected(
    await unreachable.fetch(
      request(
        "whoami",
        await bearer(
          rawJwt({ alg: "ES256", kid: "es-1" }, userClaims(), { alg: "ES256", key: es.privateKey }),
        ),
      ),
    ),
    401,
    "UNAUTHORIZED",
    "JWKS unreachable",
  );
});

Deno.test("the orchestrator's own routes reject every attack before touching the database", async () => {
  let touched = 0;
  const sql = new Proxy(function () {}, {
    apply() {
      touched++;
      throw new Error("the database was reached");
    },
    get(_target, property) {
      if (property === "then") return undefined;
      touched++;
      throw new Error(`the database was reached (${String(property)})`);
    },
  }) as unknown as Sql;
  const orchestrator = createOrchestrator({ config: configs.both, sql, log: silentLogger });
  touched = 0;
  let count = 0;
  await withTrap(async () => {
    for (const attack of ATTACKS) {
      if ((attack.status ?? 401) !== 401) continue;
      if (attack.on && !attack.on.includes("both")) continue;
      for (const route of ["status", "day.run", "intent.sync", "day.done"]) {
        const method = route === "status" ? "GET" : "POST";
        const headers = new Headers({ "content-type": "application/json" });
        const auth = await attack.auth();
        if (typeof auth === "string") headers.set("authorization", auth);
        else if (auth !== null) { for (const [n, v] of auth.headers) headers.append(n, v); }
        const response = await orchestrator.fetch(
          new Request(`http://local/orchestrator/${route}`, {
            method,
            headers,
            body: method === "POST" ? '{"week":1,"day":1}' : undefined,
          }),
        );
        await assertRejected(response, 401, "UNAUTHORIZED", `${attack.name} → ${route}`);
        count++;
      }
    }
  });
  assert.equal(touched, 0, "no rejected request may reach the database");
  console.log(`jwt attacks against orchestrator routes: ${count} requests`);
});
