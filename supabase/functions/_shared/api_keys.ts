/**
 * Project API keys as credentials (spec 5.1). The new keys are opaque strings, not JWTs: a
 * secret key (`sb_secret_…`) is the service principal, a publishable key (`sb_publishable_…`)
 * is the anon role. The legacy service_role JWT (`SUPABASE_SERVICE_ROLE_KEY`) is matched as its
 * exact string too, as Supabase's gateway does, so a legacy project needs no `JWT_SECRET` for
 * its own service key. Every comparison is constant-time against every configured key.
 *
 * Classification by prefix (`sb_secret_`, `sb_publishable_`, `eyJ`) is `@supabase/server`'s
 * (`classifyApiKey`): it says what kind of credential a refused value looked like without
 * echoing it.
 */
import type { JWTPayload } from "jose";
import type { Config } from "./config.ts";
import { unauthorized } from "./errors.ts";
import type { Logger } from "./log.ts";
import { matchesAnyKey } from "./timing_safe_equal.ts";

/** What a matched key grants. */
export interface KeyCredential {
  role: "anon" | "service_role";
  claims: JWTPayload;
  source: "secret_key" | "publishable_key" | "legacy_service_role_key";
}

/** The shape of a credential by its public prefix, never by its value. */
export type KeyShape = "secret" | "publishable" | "legacy_jwt" | "unrecognized";

export function keyShape(value: string): KeyShape {
  if (value.startsWith("sb_secret_")) return "secret";
  if (value.startsWith("sb_publishable_")) return "publishable";
  if (value.startsWith("eyJ")) return "legacy_jwt";
  return "unrecognized";
}

export type KeyMatcher = (token: string) => KeyCredential | null;

/**
 * Matches a presented token against the configured keys. Null: not one of them, and not shaped
 * like a new API key either (the caller verifies it as a JWT). An `sb_` value that matches no
 * key is a 401, with one log line per isolate when the deployment has no keys of that kind.
 */
export function createKeyMatcher(config: Config, log?: Logger): KeyMatcher {
  const secret = [...config.secretKeys];
  const publishable = [...config.publishableKeys];
  const legacy = config.legacyServiceRoleKey === null ? [] : [config.legacyServiceRoleKey];
  const warned = new Set<string>();
  const warnOnce = (event: string, reason: string) => {
    if (warned.has(event)) return;
    warned.add(event);
    log?.warn(event, { reason });
  };

  return (token) => {
    // All three sets are compared whatever matches, so the time says nothing about which did.
    const isSecret = matchesAnyKey(token, secret);
    const isPublishable = matchesAnyKey(token, publishable);
    const isLegacy = matchesAnyKey(token, legacy);
    if (isSecret) return serviceKey("secret_key");
    if (isLegacy) return serviceKey("legacy_service_role_key");
    if (isPublishable) {
      return { role: "anon", claims: { role: "anon" }, source: "publishable_key" };
    }
    if (!token.startsWith("sb_")) return null;
    if (keyShape(token) === "secret" && secret.length === 0) {
      warnOnce("auth.secret_keys_missing", "neither SUPABASE_SECRET_KEYS nor SUPABASE_SECRET_KEY");
      throw unauthorized("This deployment has no secret keys configured.");
    }
    throw unauthorized("The API key is not one of this project's keys.");
  };
}

function serviceKey(source: KeyCredential["source"]): KeyCredential {
  return { role: "service_role", claims: { role: "service_role" }, source };
}
