/**
 * Mints the JWTs the local stack hands out, shaped like the ones Supabase Auth and the Supabase
 * CLI issue, so the orchestrator verifies exactly what it would see in production. Used by
 * `deno task token`, `deno task start` and the tests.
 */
import { SignJWT } from "jose";
import { LOCAL_SUPABASE_URL } from "../supabase/functions/_shared/config.ts";

/**
 * Mints a legacy service_role JWT, as the Supabase CLI's local service key (HS256 with
 * `JWT_SECRET`). Only the local stack and tests mint: the functions never do.
 */
export async function mintServiceJwt(secret: Uint8Array, issuer = "supabase-demo") {
  return await new SignJWT({ role: "service_role" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(issuer)
    .setIssuedAt()
    .setExpirationTime("10y")
    .sign(secret);
}

/** The local stack's demo learner: `deno task start` seeds it, `deno task token` defaults to it. */
export const DEMO_USER_ID = "00000000-0000-4000-8000-000000000001";
export const DEMO_USER_EMAIL = "demo@wisely.local";
/** The demo learner's password for `signInWithPassword` (reset to this on every start). */
export const DEMO_USER_PASSWORD = "wisely-demo";

export interface MintUserJwtOptions {
  /** HS256 secret (`JWT_SECRET`). */
  secret: Uint8Array;
  /** The user's id, the `sub` claim. */
  userId: string;
  /** The `email` claim. Default: `""`, as Supabase Auth sets for users without one. */
  email?: string;
  /**
   * Lifetime: a span jose understands (`"1h"`, `"-5m"` for an already expired token) or a
   * number of seconds from now. Default: `"1h"`, Supabase Auth's default `jwt_expiry`.
   */
  expiresIn?: string | number;
  /** The `iss` claim. Default: `${LOCAL_SUPABASE_URL}/auth/v1`, as the local Auth server. */
  issuer?: string;
  /** The `role` claim. Default: `"authenticated"`. */
  role?: string;
  /** Claims added last, so a test can override any of the above (e.g. `aud`). */
  extraClaims?: Record<string, unknown>;
}

/** Mints a user access token with the claims Supabase Auth puts in one. */
export async function mintUserJwt(options: MintUserJwtOptions): Promise<string> {
  const {
    secret,
    userId,
    email = "",
    expiresIn = "1h",
    issuer = `${LOCAL_SUPABASE_URL}/auth/v1`,
    role = "authenticated",
    extraClaims = {},
  } = options;
  const iat = Math.floor(Date.now() / 1000);
  // jose reads a number as an absolute NumericDate; ours is a lifetime, so add it to `iat`.
  const exp = typeof expiresIn === "number" ? iat + expiresIn : expiresIn;
  const jwt = new SignJWT({
    sub: userId,
    role,
    aud: "authenticated",
    email,
    phone: "",
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: {},
    aal: "aal1",
    amr: [{ method: "password", timestamp: iat }],
    session_id: crypto.randomUUID(),
    is_anonymous: false,
    iss: issuer,
    iat,
    ...extraClaims,
  }).setProtectedHeader({ alg: "HS256", typ: "JWT" });
  // An `exp` in extraClaims wins, like every other claim there.
  if (!("exp" in extraClaims)) jwt.setExpirationTime(exp);
  return await jwt.sign(secret);
}

/** Mints an anon key as the Supabase CLI's local one (`role: anon`, `iss: supabase-demo`). */
export async function mintAnonJwt(secret: Uint8Array): Promise<string> {
  return await new SignJWT({ role: "anon" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("supabase-demo")
    .setIssuedAt()
    .setExpirationTime("10y")
    .sign(secret);
}
