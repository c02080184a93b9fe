/**
 * JWT verification and principal resolution (spec 5.1).
 *
 * Tokens are verified locally: HS256 with `JWT_SECRET` (legacy Supabase keys), ES256/RS256 with
 * the project's JWKS. The algorithm family decides the key source and the key source fixes the
 * accepted algorithms, so an RS256 public key can never be used as an HS256 secret.
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
import type { Config } from "./config.ts";
import type { UserClaims } from "./db.ts";
import { ApiError, forbidden, invalidRequest, unauthorized } from "./errors.ts";
import type { Logger } from "./log.ts";

const ASYMMETRIC_ALGORITHMS = ["ES256", "RS256"];
const UUID = z.uuid();
const TOKEN_MAX_LENGTH = 8192;

export type Role = "anon" | "authenticated" | "service_role";

export interface VerifiedToken {
  role: Role;
  claims: JWTPayload;
}

export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

const RoleSchema = z.enum(["anon", "authenticated", "service_role"]);

/** Builds the verifier for a configuration. The remote JWKS is fetched lazily and cached. */
export function createTokenVerifier(config: Config, log?: Logger): TokenVerifier {
  const jwks = config.jwks
    ? createLocalJWKSet(config.jwks)
    : config.supabaseUrl
    ? createRemoteJWKSet(new URL(`${config.supabaseUrl}/auth/v1/.well-known/jwks.json`), {
      timeoutDuration: 3000,
      cooldownDuration: 30_000,
    })
    : null;

  return {
    async verify(token) {
      if (token.length > TOKEN_MAX_LENGTH) throw unauthorized("The bearer token is too large.");
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
            log?.warn("auth.hs256_refused", { reason: "JWT_SECRET is not set" });
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
      return { role: role.data, claims: payload };
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
    /** True when a service-role token acts for the user through `X-User-ID`. */
    viaServiceRole: boolean;
  }
  | { kind: "service"; claims: JWTPayload };

export type AuthRequirement = "none" | "user" | "service";

function bearerToken(req: Request): string {
  const header = req.headers.get("authorization");
  if (!header) throw unauthorized("The Authorization header is missing.");
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) throw unauthorized("The Authorization header must be `Bearer <token>`.");
  return match[1];
}

/**
 * Resolves the principal for a route's requirement:
 * - `user`: an authenticated user (sub is the user; a differing X-User-ID is 403) or the
 *   service role acting for the UUID in X-User-ID (required, else 400). anon → 401.
 * - `service`: the service role only (403 for users, 401 for anon).
 */
export async function authenticate(
  req: Request,
  requirement: Exclude<AuthRequirement, "none">,
  verifier: TokenVerifier,
): Promise<Principal> {
  const { role, claims } = await verifier.verify(bearerToken(req));
  const headerUserId = req.headers.get("x-user-id")?.trim() || null;

  if (role === "anon") throw unauthorized("Sign in: the anon key cannot call this route.");

  if (requirement === "service") {
    if (role !== "service_role") throw forbidden("This route needs the service role.");
    return { kind: "service", claims };
  }

  if (role === "authenticated") {
    const sub = UUID.safeParse(claims.sub);
    if (!sub.success) throw unauthorized("The token has no valid `sub` claim.");
    if (headerUserId !== null && headerUserId.toLowerCase() !== sub.data.toLowerCase()) {
      throw forbidden("X-User-ID does not match the signed-in user.");
    }
    return {
      kind: "user",
      userId: sub.data,
      claims: { ...claims, sub: sub.data, role: "authenticated" },
      viaServiceRole: false,
    };
  }

  // service_role acting for a user.
  if (headerUserId === null) {
    throw invalidRequest("The service role must name the user in X-User-ID.", [
      { path: ["headers", "x-user-id"], message: "Required" },
    ]);
  }
  const userId = UUID.safeParse(headerUserId);
  if (!userId.success) {
    throw invalidRequest("X-User-ID must be a UUID.", [
      { path: ["headers", "x-user-id"], message: "Invalid UUID" },
    ]);
  }
  return {
    kind: "user",
    userId: userId.data,
    claims: { sub: userId.data, role: "authenticated", acting_role: "service_role" },
    viaServiceRole: true,
  };
}
