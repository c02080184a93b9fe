/**
 * Access tokens as Supabase Auth issues them (internal/tokens/service.go): ES256 with the
 * local key's `kid`, claims in GoTrue's order (iss, sub, aud, exp, iat, email, phone,
 * app_metadata, user_metadata, role, aal, amr, session_id, is_anonymous). And reading a bearer
 * as GoTrue's parseJWTClaims does: ES256 by `kid` with the local key, HS256 with `JWT_SECRET`.
 */
import {
  decodeProtectedHeader,
  errors as joseErrors,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { classifyApiKey } from "../keys.ts";
import type { AuthContext } from "./context.ts";
import { forbidden } from "./errors.ts";
import type { AmrEntry } from "./sessions.ts";
import type { UserRow } from "./users.ts";

export interface SignedAccessToken {
  token: string;
  /** Unix seconds. */
  expiresAt: number;
}

/** Signs the access token of `user` in session `sessionId`. */
export async function signAccessToken(
  ctx: AuthContext,
  user: UserRow,
  sessionId: string,
  amr: AmrEntry[],
  now = new Date(),
): Promise<SignedAccessToken> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ctx.jwtExpiry;
  const token = await new SignJWT({
    iss: ctx.issuer,
    sub: user.id,
    aud: user.aud ?? "",
    exp,
    iat,
    email: user.email ?? "",
    phone: user.phone ?? "",
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    role: user.role ?? "",
    aal: "aal1",
    amr,
    session_id: sessionId,
    is_anonymous: user.is_anonymous,
  })
    .setProtectedHeader({ alg: "ES256", kid: ctx.signingKey.kid, typ: "JWT" })
    .sign(ctx.signingKey.privateKey);
  return { token, expiresAt: exp };
}

/** A verified bearer: its claims, and how it was verified. */
export interface BearerClaims {
  claims: JWTPayload;
  /**
   * `es256`: issued by this Auth; `hs256`: signed with `JWT_SECRET` (`deno task token`, legacy
   * keys); `api_key`: a project API key, which the gateway turns into its role's claims.
   */
  source: "es256" | "hs256" | "api_key";
}

function badJwt(reason: string): Error {
  return forbidden("bad_jwt", `invalid JWT: unable to parse or verify signature, ${reason}`);
}

/** golang-jwt's wording for why a token failed. */
function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "token has invalid claims: token is expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return `token has invalid claims: ${error.message}`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return "token signature is invalid: signature is invalid";
  }
  return `token is malformed: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * An API key as the bearer (supabase-js sends its key until a user signs in): the Supabase
 * gateway replaces it with its role's JWT, so Auth sees `role: anon` or `service_role`.
 */
function apiKeyClaims(ctx: AuthContext, bearer: string): BearerClaims | null {
  const role = classifyApiKey(bearer, ctx.keys);
  return role === null ? null : { claims: { role }, source: "api_key" };
}

/** Verifies a bearer token, or throws 403 `bad_jwt` as GoTrue does. */
export async function verifyBearer(ctx: AuthContext, bearer: string): Promise<BearerClaims> {
  const asKey = apiKeyClaims(ctx, bearer);
  if (asKey) return asKey;
  let header;
  try {
    header = decodeProtectedHeader(bearer);
  } catch (cause) {
    throw badJwt(describe(cause));
  }
  const { alg, kid } = header;
  try {
    if (alg === "ES256" && kid === ctx.signingKey.kid) {
      const { payload } = await jwtVerify(bearer, ctx.signingKey.publicKey, {
        algorithms: ["ES256"],
      });
      return { claims: payload, source: "es256" };
    }
    if (alg === "HS256" && ctx.jwtSecret) {
      const { payload } = await jwtVerify(bearer, ctx.jwtSecret, { algorithms: ["HS256"] });
      return { claims: payload, source: "hs256" };
    }
  } catch (cause) {
    throw badJwt(describe(cause));
  }
  throw badJwt(`unrecognized JWT kid ${kid ?? "<nil>"} for algorithm ${alg ?? "<nil>"}`);
}
