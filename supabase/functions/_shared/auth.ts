/**
 * Credential verification and principal resolution (spec 5.1).
 *
 * A request's credentials are its bearer (`Authorization: Bearer …`) and its `apikey` header.
 * Project API keys (a secret key: the service principal; a publishable key: anon) are matched in
 * constant time against the configured keys (api_keys.ts); anything else must be a JWT.
 *
 * JWTs are verified locally: HS256 with `JWT_SECRET` (legacy Supabase keys), ES256/RS256 with
 * the project's JWKS. The algorithm family decides the key source and the key source fixes the
 * accepted algorithms, so an RS256 public key can never be used as an HS256 secret. Keys come
 * only from configuration (`jku`, `x5u`, `jwk` headers are ignored); the compact syntax is
 * checked strictly first; exp is required and exp/nbf have no clock tolerance; a user token's
 * `aud`, when present, must be "authenticated". test/unit/jwt_attacks.test.ts is the attack set.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { z } from "zod";
import { createKeyMatcher, type KeyCredential, keyShape } from "./api_keys.ts";
import type { Config } from "./config.ts";
import type { UserClaims } from "./db.ts";
import { ApiError, forbidden, invalidRequest, unauthorized } from "./errors.ts";
import type { Logger } from "./log.ts";
import { withVerifiedTokenCache } from "./verified_tokens.ts";

const ASYMMETRIC_ALGORITHMS = ["ES256", "RS256"];
const UUID = z.uuid();
const TOKEN_MAX_LENGTH = 8192;
/** The audience Supabase Auth puts in every user access token. */
const USER_AUDIENCE = "authenticated";

/** A JWS in compact serialisation: three base64url segments, no padding, a signature. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * True when `segment` is the one canonical base64url spelling of its bytes (RFC 7515 §2,
 * RFC 4648 §3.5): no length that cannot occur, no non-zero bits after the last byte. Decoders
 * accept the other spellings, which would make one signed token valid under several strings.
 */
function isCanonicalBase64url(segment: string): boolean {
  const rest = segment.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const last = BASE64URL_ALPHABET.indexOf(segment[segment.length - 1]);
  return (last & (rest === 2 ? 0b1111 : 0b11)) === 0;
}

/** Strict syntax of a compact JWS, checked before any decoding. */
function isCompactJws(token: string): boolean {
  return COMPACT_JWS.test(token) && token.split(".").every(isCanonicalBase64url);
}

/**
 * RFC 7519 §4.1.3: a token whose `aud` is present but does not name us MUST be rejected.
 * Supabase Auth issues user tokens with `aud: "authenticated"`; a user token minted for another
 * audience (`anon`, another service) is refused. A token without `aud` is accepted, as
 * PostgREST and the Supabase gateway accept it.
 */
function audienceAccepts(aud: unknown): boolean {
  if (aud === undefined) return true;
  if (typeof aud === "string") return aud === USER_AUDIENCE;
  return Array.isArray(aud) && aud.every((a) => typeof a === "string") &&
    aud.includes(USER_AUDIENCE);
}

const RoleSchema = z.enum(["anon", "authenticated", "service_role"]);
export type Role = z.infer<typeof RoleSchema>;

export interface VerifiedToken {
  role: Role;
  claims: JWTPayload;
  /** What the credential was. Default "jwt". */
  source?: "jwt" | KeyCredential["source"];
}

export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

/** Loopback hosts, where plain-text http never leaves the machine. */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Where the project's JWKS is discovered: `${SUPABASE_URL}/auth/v1/.well-known/jwks.json`, over
 * https, or http on a loopback host only (`@supabase/server`'s rule: a JWKS fetched over a
 * plain-text hop could be swapped for an attacker's keys). Null: no discovery.
 */
export function jwksDiscoveryUrl(supabaseUrl: string | null): URL | null {
  if (!supabaseUrl) return null;
  const url = new URL(`${supabaseUrl.replace(/\/+$/, "")}/auth/v1/.well-known/jwks.json`);
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname))) {
    return url;
  }
  return null;
}

function jwksFor(config: Config, log?: Logger) {
  if (config.jwks) return createLocalJWKSet(config.jwks);
  const url = jwksDiscoveryUrl(config.supabaseUrl);
  if (url) return createRemoteJWKSet(url, { timeoutDuration: 3000, cooldownDuration: 30_000 });
  if (config.supabaseUrl) {
    log?.warn("auth.jwks_discovery_refused", { reason: "SUPABASE_URL is plain http" });
  }
  return null;
}

/** Verifies a JWT (never cached here): strict syntax, the key source its `alg` names, claims. */
function createJwtVerify(config: Config, log?: Logger): (token: string) => Promise<VerifiedToken> {
  const jwks = jwksFor(config, log);
  let hs256Warned = false;
  return async (token) => {
    if (!isCompactJws(token)) throw unauthorized("The bearer token is not a JWT.");
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (cause) {
      throw unauthorized("The bearer token is not a JWT.", cause);
    }
    let payload: JWTPayload;
    try {
      if (alg === "HS256") {
        if (!config.jwtSecret) {
          if (!hs256Warned) log?.warn("auth.hs256_refused", { reason: "JWT_SECRET is not set" });
          hs256Warned = true;
          throw unauthorized("This deployment does not accept HS256 tokens.");
        }
        ({ payload } = await jwtVerify(token, config.jwtSecret, {
          algorithms: ["HS256"],
          requiredClaims: ["exp"],
        }));
      } else if (alg && ASYMMETRIC_ALGORITHMS.includes(alg)) {
        if (!jwks) {
          log?.warn("auth.jwks_missing", { reason: "neither SUPABASE_JWKS nor SUPABASE_URL" });
          throw unauthorized("This deployment cannot verify asymmetric tokens.");
        }
        ({ payload } = await jwtVerify(token, jwks, {
          algorithms: ASYMMETRIC_ALGORITHMS,
          requiredClaims: ["exp"],
        }));
      } else {
        throw unauthorized("The token's signing algorithm is not accepted.");
      }
    } catch (cause) {
      if (cause instanceof ApiError) throw cause;
      throw unauthorized(describeJoseError(cause), cause);
    }
    const role = RoleSchema.safeParse(payload.role);
    if (!role.success) throw unauthorized("The token has no recognised role.");
    if (role.data === "authenticated" && !audienceAccepts(payload.aud)) {
      throw unauthorized("The token is meant for another audience.");
    }
    return { role: role.data, claims: payload, source: "jwt" };
  };
}

/**
 * Builds the verifier for a configuration: API keys first (constant time, never cached), then
 * JWTs (cached once verified). The remote JWKS is fetched lazily and cached.
 */
export function createTokenVerifier(config: Config, log?: Logger): TokenVerifier {
  const matchKey = createKeyMatcher(config, log);
  const verifyJwt = withVerifiedTokenCache(
    createJwtVerify(config, log),
    (verified) => verified.claims.exp,
  );
  return {
    verify: (token) => {
      // Before any comparison or decoding: a huge header costs nothing.
      if (token.length > TOKEN_MAX_LENGTH) {
        return Promise.reject(unauthorized("The bearer token is too large."));
      }
      try {
        const key = matchKey(token);
        return key ? Promise.resolve(key) : verifyJwt(token);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "The token has expired.";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return "The token's claims are not valid.";
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return "The token's signature is not valid.";
  }
  return "The bearer token is not valid.";
}

/** Who a request acts for. */
export type Principal =
  | {
    kind: "user";
    userId: string;
    /** Claims the database transaction runs with. */
    claims: UserClaims;
    /**
     * True when the service principal acts for the user through `X-User-ID`. Set here, never
     * read from a token: a user token keeps whatever claims its issuer put in (`acting_role`
     * too), so this, not `claims.acting_role`, says whether a server made the call.
     */
    viaServiceRole: boolean;
  }
  | { kind: "service"; claims: JWTPayload };

export type AuthRequirement = "none" | "user" | "service";

/** The bearer, or null without an Authorization header; 401 for any other scheme. */
function bearerToken(req: Request): string | null {
  const header = req.headers.get("authorization");
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) throw unauthorized("The Authorization header must be `Bearer <token>`.");
  return match[1];
}

/**
 * The credential a request acts with. The bearer decides when it is a user or the service
 * principal; a secret key in `apikey` makes the service principal when there is no bearer, or
 * when the bearer only says anon (a publishable key, the anon key, the same key: supabase-js
 * server clients send their key in both headers). A bearer that fails verification is a 401
 * whatever `apikey` says.
 */
async function credentialOf(req: Request, verifier: TokenVerifier): Promise<VerifiedToken> {
  const bearer = bearerToken(req);
  const apikey = req.headers.get("apikey")?.trim() || null;
  if (bearer === null) {
    if (apikey === null) throw unauthorized("The Authorization header is missing.");
    return await apiKeyCredential(apikey, verifier);
  }
  const verified = await verifier.verify(bearer);
  if (verified.role !== "anon" || apikey === null || apikey === bearer) return verified;
  // A bad apikey next to a valid anon bearer: the anon refusal says it better.
  const elevated = await verifier.verify(apikey).catch(() => null);
  return elevated?.role === "service_role" ? elevated : verified;
}

/** The credential an `apikey` header alone gives: a project key (or legacy key), never a user. */
async function apiKeyCredential(apikey: string, verifier: TokenVerifier) {
  const credential = await verifier.verify(apikey).catch((error) => {
    if (keyShape(apikey) !== "unrecognized") throw error;
    throw unauthorized("The apikey header is not one of this project's keys.", error);
  });
  if (credential.role === "authenticated") {
    throw unauthorized("The apikey header must carry a project API key, not a user's token.");
  }
  return credential;
}

function anonRefusal(token: VerifiedToken, req: Request): ApiError {
  if (token.source === "publishable_key") {
    return unauthorized("Sign in: a publishable key alone cannot call this route.");
  }
  const apikey = req.headers.get("apikey");
  if (apikey !== null && keyShape(apikey.trim()) === "publishable") {
    return unauthorized("Sign in: a publishable key alone cannot call this route.");
  }
  return unauthorized("Sign in: the anon key cannot call this route.");
}

/**
 * Resolves the principal for a route's requirement:
 * - `user`: an authenticated user (sub is the user; a differing X-User-ID is 403) or the
 *   service principal acting for the UUID in X-User-ID (required, else 400). anon → 401.
 * - `service`: the service principal only (403 for users, 401 for anon).
 */
export async function authenticate(
  req: Request,
  requirement: Exclude<AuthRequirement, "none">,
  verifier: TokenVerifier,
): Promise<Principal> {
  const credential = await credentialOf(req, verifier);
  const { role, claims } = credential;
  const headerUserId = req.headers.get("x-user-id")?.trim() || null;

  if (role === "anon") throw anonRefusal(credential, req);

  if (requirement === "service") {
    if (role !== "service_role") throw forbidden("This route needs the service role.");
    return { kind: "service", claims };
  }

  if (role === "authenticated") {
    const sub = UUID.safeParse(claims.sub);
    if (!sub.success) throw unauthorized("The token has no valid `sub` claim.");
    // One spelling per user: ids are compared, locked on and logged as text elsewhere.
    const userId = sub.data.toLowerCase();
    if (headerUserId !== null && headerUserId.toLowerCase() !== userId) {
      throw forbidden("X-User-ID does not match the signed-in user.");
    }
    return {
      kind: "user",
      userId,
      claims: { ...claims, sub: userId, role: "authenticated" },
      viaServiceRole: false,
    };
  }
  return actingFor(headerUserId);
}

/** The service principal acting for the user named by X-User-ID (spec 5.1). */
function actingFor(headerUserId: string | null): Principal {
  if (headerUserId === null) {
    throw invalidRequest("The service role must name the user in X-User-ID.", [
      { path: ["headers", "x-user-id"], message: "Required" },
    ]);
  }
  const parsedUserId = UUID.safeParse(headerUserId);
  if (!parsedUserId.success) {
    throw invalidRequest("X-User-ID must be a UUID.", [
      { path: ["headers", "x-user-id"], message: "Invalid UUID" },
    ]);
  }
  const userId = parsedUserId.data.toLowerCase();
  return {
    kind: "user",
    userId,
    claims: { sub: userId, role: "authenticated", acting_role: "service_role" },
    viaServiceRole: true,
  };
}
