/**
 * The local stack's Auth (spec 4): Supabase Auth's (GoTrue's) REST API at `/auth/v1`, as
 * `@supabase/auth-js` 2.x calls it, over the stack's own database (`auth.users`,
 * `auth.identities`, `auth.sessions`, `auth.refresh_tokens`, `auth.mfa_amr_claims`).
 *
 * - Every request passes the gateway's API-key check first (api_key.ts), as on Supabase.
 * - Sign-up (e-mail and password, confirmed at once; or anonymous), the password and
 *   refresh-token grants (rotating refresh tokens), `user`, `logout`, the admin users API with
 *   a secret key, `health`, `settings` and the JWKS (routes/).
 * - Access tokens are ES256 with the key stored in `local_auth.signing_keys` (signing_key.ts);
 *   HS256 tokens signed with `JWT_SECRET` are accepted as bearers too (principal.ts).
 * - Errors in GoTrue's shape for the request's API version (errors.ts); CORS on every answer.
 */
import type postgres from "postgres";
import type { FetchHandler } from "../gateway.ts";
import type { ApiKeySet } from "../keys.ts";
import type { JsonWebKeyWithKid } from "../../supabase/functions/_shared/config.ts";
import { checkApiKey } from "./api_key.ts";
import type { AuthContext } from "./context.ts";
import { authPreflight, withAuthCors } from "./cors.ts";
import { errorResponse } from "./errors.ts";
import { authSubpath, route } from "./router.ts";
import { loadSigningKey } from "./signing_key.ts";

export { ensureLocalUser, type LocalUser } from "./seed.ts";

export interface LocalAuthOptions {
  /** The stack's admin pool (bootstrapped and migrated). */
  sql: postgres.Sql;
  /** The stack's base URL (`http://127.0.0.1:PORT`); tokens name `${url}/auth/v1` as `iss`. */
  url: string;
  /** API keys accepted in `apikey` (and, for the admin API, as the bearer). */
  keys: ApiKeySet;
  /** Legacy HS256 secret (`JWT_SECRET`); tokens signed with it are accepted too. */
  jwtSecret: Uint8Array | null;
  /** Access token lifetime in seconds. @default 3600 (supabase/config.toml `jwt_expiry`) */
  jwtExpiry?: number;
  /**
   * Seconds a rotated refresh token may still be exchanged (GoTrue's
   * `refresh_token_reuse_interval`). @default 10 (the Supabase CLI's default)
   */
  refreshTokenReuseInterval?: number;
  /** Request bodies past this many bytes get 413. @default 65536 */
  maxBodyBytes?: number;
}

export interface LocalAuth extends FetchHandler {
  /** The public signing keys, as served at `/auth/v1/.well-known/jwks.json`. */
  readonly jwks: { keys: JsonWebKeyWithKid[] };
}

/** Loads (or creates, on a new database) the signing key and returns the Auth service. */
export async function startLocalAuth(options: LocalAuthOptions): Promise<LocalAuth> {
  const signingKey = await loadSigningKey(options.sql);
  const ctx: AuthContext = {
    sql: options.sql,
    issuer: `${options.url.replace(/\/+$/, "")}/auth/v1`,
    keys: options.keys,
    jwtSecret: options.jwtSecret,
    signingKey,
    jwtExpiry: options.jwtExpiry ?? 3600,
    refreshTokenReuseInterval: options.refreshTokenReuseInterval ?? 10,
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
  };

  async function fetch(req: Request): Promise<Response> {
    try {
      if (req.method === "OPTIONS") return authPreflight(req);
      const url = new URL(req.url);
      const path = authSubpath(url.pathname);
      const refused = checkApiKey(req, url, path, ctx.keys);
      return withAuthCors(refused ?? await route(req, path, ctx));
    } catch (error) {
      // route() answers its own errors; this is for anything before it.
      return withAuthCors(errorResponse(error, req));
    }
  }

  return { jwks: { keys: [signingKey.publicJwk] }, fetch };
}
