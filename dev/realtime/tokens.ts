/**
 * Access tokens as Supabase Realtime confirms them (RealtimeWeb.ChannelsAuthorization,
 * RealtimeWeb.JwtVerification): the connection's `apikey` is the tenant token; a join's
 * `access_token` replaces it unless it is an `sb_` key. Verification itself is the
 * orchestrator's verifier (HS256 with the JWT secret, ES256 against the local Auth's JWKS);
 * this module adds API keys and sorts failures into the cases Realtime words differently.
 */
import { decodeJwt, errors as joseErrors } from "jose";
import type { Role, TokenVerifier } from "../../supabase/functions/_shared/auth.ts";
import { type ApiKeySet, classifyApiKey } from "../keys.ts";

/** A confirmed token: who the channel acts as, and until when. */
export interface ConfirmedToken {
  token: string;
  role: Role;
  /** What `request.jwt.claims` is set to for RLS checks. */
  claims: Record<string, unknown>;
  /** `exp` in epoch seconds; null for an API key, which does not expire. */
  exp: number | null;
}

export type TokenFailure =
  | { kind: "expired"; secondsAgo: number }
  | { kind: "missing_claims" }
  | { kind: "malformed" }
  | { kind: "signature" }
  | { kind: "invalid"; message: string };

export type TokenResult = { ok: true; token: ConfirmedToken } | {
  ok: false;
  failure: TokenFailure;
};

export interface TokenConfirmer {
  confirm(token: string): Promise<TokenResult>;
}

function unverifiedClaims(token: string): Record<string, unknown> | null {
  try {
    return decodeJwt(token);
  } catch {
    return null;
  }
}

function apiKeyToken(token: string, role: Role): ConfirmedToken {
  // Legacy keys are JWTs matched as exact strings: their claims are known, not forged.
  const claims = unverifiedClaims(token) ?? { role };
  const exp = typeof claims.exp === "number" ? claims.exp : null;
  return { token, role, claims: { ...claims, role }, exp };
}

function classifyFailure(token: string, error: unknown): TokenFailure {
  const cause = error instanceof Error ? error.cause : undefined;
  const claims = unverifiedClaims(token);
  if (claims === null) return { kind: "malformed" };
  if (cause instanceof joseErrors.JWSSignatureVerificationFailed) return { kind: "signature" };
  if (!("role" in claims) || !("exp" in claims)) return { kind: "missing_claims" };
  if (cause instanceof joseErrors.JWTExpired && typeof claims.exp === "number") {
    return { kind: "expired", secondsAgo: Math.floor(Date.now() / 1000) - claims.exp };
  }
  if (cause instanceof joseErrors.JWSInvalid || cause instanceof joseErrors.JWTInvalid) {
    return { kind: "malformed" };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "invalid", message };
}

/** Confirms API keys by classification and JWTs with `verifier`. Never throws. */
export function createTokenConfirmer(verifier: TokenVerifier, keys: ApiKeySet): TokenConfirmer {
  return {
    async confirm(token) {
      const keyRole = classifyApiKey(token, keys);
      if (keyRole !== null) return { ok: true, token: apiKeyToken(token, keyRole) };
      try {
        const { role, claims } = await verifier.verify(token);
        const exp = typeof claims.exp === "number" ? claims.exp : null;
        return { ok: true, token: { token, role, claims: { ...claims }, exp } };
      } catch (error) {
        return { ok: false, failure: classifyFailure(token, error) };
      }
    },
  };
}

/** The reason a refused join carries (RealtimeChannel.join's error clauses). */
export function joinFailureReason(failure: TokenFailure): string {
  switch (failure.kind) {
    case "expired":
      return `InvalidJWTToken: Token has expired ${failure.secondsAgo} seconds ago`;
    case "missing_claims":
      return "InvalidJWTToken: Fields `role` and `exp` are required in JWT";
    case "malformed":
      return "MalformedJWT: The token provided is not a valid JWT";
    case "signature":
      return "JwtSignatureError: Failed to validate JWT signature";
    case "invalid":
      return `InvalidJWTToken: ${failure.message}`;
  }
}

/**
 * The `system` message text when a joined channel's token stops being valid (an
 * `access_token` update or the periodic confirmation), as RealtimeChannel's shutdown_response
 * words it: no error code, and `inspect/1` of the atom for a bad signature.
 */
export function shutdownReason(failure: TokenFailure): string {
  switch (failure.kind) {
    case "expired":
      return `Token has expired ${failure.secondsAgo} seconds ago`;
    case "missing_claims":
      return "Fields `role` and `exp` are required in JWT";
    case "malformed":
      return "The token provided is not a valid JWT";
    case "signature":
      return ":signature_error";
    case "invalid":
      return failure.message;
  }
}

/** The 401 body text when the connection's `apikey` is refused (UserSocket.handle_error). */
export function connectFailureMessage(failure: TokenFailure): string {
  switch (failure.kind) {
    case "expired":
      return "Token has expired";
    case "missing_claims":
      return "Fields `role` and `exp` are required in JWT";
    case "malformed":
      return "The token provided is not a valid JWT";
    case "signature":
      return "Failed to validate JWT signature";
    case "invalid":
      return failure.message;
  }
}
