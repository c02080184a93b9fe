/** What every Auth route works with: the database, the keys, the configuration. */
import type postgres from "postgres";
import type { ApiKeySet } from "../keys.ts";
import type { SigningKey } from "./signing_key.ts";

export interface AuthContext {
  sql: postgres.Sql;
  /** `${url}/auth/v1`: the `iss` of every access token. */
  issuer: string;
  keys: ApiKeySet;
  /** Legacy HS256 secret; null refuses HS256 bearers. */
  jwtSecret: Uint8Array | null;
  signingKey: SigningKey;
  /** Access token lifetime, seconds. */
  jwtExpiry: number;
  /** Seconds a rotated refresh token may still be used (GoTrue's reuse interval). */
  refreshTokenReuseInterval: number;
  /** Bodies past this many bytes are refused with 413. */
  maxBodyBytes: number;
}

/** The audience and role of every user Auth creates (GoTrue's JWT_AUD and default group). */
export const AUDIENCE = "authenticated";
export const USER_ROLE = "authenticated";
