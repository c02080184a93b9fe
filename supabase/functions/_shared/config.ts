/**
 * Configuration from environment variables (spec 3), validated once with errors that name the
 * variable. Local defaults (the well-known Supabase CLI secret, the local gateway) apply only
 * when `WISELY_LOCAL_STACK=1`, which `deno task start` and the tests set: a deployed function
 * never falls back to them.
 */
import { SignJWT } from "jose";

/** Supabase CLI's local JWT secret: public knowledge, so only ever a local default. */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
export const LOCAL_SUPABASE_URL = "http://127.0.0.1:54321";
export const LOCAL_PORT = 54321;

export interface Config {
  /** True inside the local stack (`WISELY_LOCAL_STACK=1`). */
  local: boolean;
  /** Postgres connection string; null means the local stack's embedded PGlite. */
  dbUrl: string | null;
  supabaseUrl: string | null;
  /** HS256 secret for legacy Supabase JWTs; null refuses HS256 tokens. */
  jwtSecret: Uint8Array | null;
  /** Inline JWKS (`SUPABASE_JWKS`) for ES256/RS256 tokens. */
  jwks: { keys: JsonWebKeyWithKid[] } | null;
  /** Where agents live: `${edgeBaseUrl}/functions/v1/agent-<name>`. */
  edgeBaseUrl: string;
  /** Bearer the orchestrator sends to agents. */
  edgeServiceJwt: string;
  port: number;
  /** Reference agents accept fault-injection headers only when this is true (local only). */
  agentFaultInjection: boolean;
}

export interface JsonWebKeyWithKid extends JsonWebKey {
  kid?: string;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string, options?: ErrorOptions) {
    super(`${variable}: ${message}`, options);
    this.name = "ConfigError";
  }
}

/** A read-only view of the environment, so tests can pass a plain map. */
export type Env = { get(name: string): string | undefined };

function readUrl(env: Env, name: string): string | null {
  const raw = env.get(name)?.trim();
  if (!raw) return null;
  try {
    const url = new URL(raw);
    if (name !== "SUPABASE_DB_URL" && url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error("not http(s)");
    }
    return raw.replace(/\/+$/, "");
  } catch (cause) {
    throw new ConfigError(name, "must be an absolute URL.", { cause });
  }
}

function readJwks(env: Env): Config["jwks"] {
  const raw = env.get("SUPABASE_JWKS")?.trim();
  if (!raw) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (cause) {
    throw new ConfigError("SUPABASE_JWKS", "must be a JSON Web Key Set.", { cause });
  }
  if (
    typeof parsed !== "object" || parsed === null || !("keys" in parsed) ||
    !Array.isArray(parsed.keys) || parsed.keys.some((k) => typeof k !== "object" || k === null)
  ) {
    throw new ConfigError("SUPABASE_JWKS", "must be a JSON object with a `keys` array.");
  }
  return { keys: parsed.keys };
}

function readPort(env: Env): number {
  const raw = env.get("PORT")?.trim();
  if (!raw) return LOCAL_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError("PORT", "must be an integer from 0 to 65535.");
  }
  return port;
}

/** Mints a service_role JWT, as the Supabase CLI's local service key. */
export async function mintServiceJwt(secret: Uint8Array, issuer = "supabase-demo") {
  return await new SignJWT({ role: "service_role" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(issuer)
    .setIssuedAt()
    .setExpirationTime("10y")
    .sign(secret);
}

/** Reads and validates the configuration. Throws `ConfigError` naming the bad variable. */
export async function loadConfig(env: Env = Deno.env): Promise<Config> {
  const local = env.get("WISELY_LOCAL_STACK") === "1";
  const dbUrl = readUrl(env, "SUPABASE_DB_URL");
  if (!dbUrl && !local) {
    throw new ConfigError("SUPABASE_DB_URL", "is required outside the local stack.");
  }
  const supabaseUrl = readUrl(env, "SUPABASE_URL") ?? (local ? LOCAL_SUPABASE_URL : null);
  const port = readPort(env);

  const secretText = env.get("JWT_SECRET") ?? (local ? LOCAL_JWT_SECRET : undefined);
  if (secretText !== undefined && secretText.length < 32) {
    throw new ConfigError("JWT_SECRET", "must be at least 32 characters long.");
  }
  const jwtSecret = secretText === undefined ? null : new TextEncoder().encode(secretText);

  const edgeBaseUrl = readUrl(env, "EDGE_BASE_URL") ??
    (local ? `http://127.0.0.1:${port}` : supabaseUrl);
  if (!edgeBaseUrl) {
    throw new ConfigError("EDGE_BASE_URL", "is required when SUPABASE_URL is not set.");
  }

  // Hosted functions get the legacy service key by default; it is a service_role JWT.
  let edgeServiceJwt = env.get("EDGE_SERVICE_JWT")?.trim() ||
    env.get("SUPABASE_SERVICE_ROLE_KEY")?.trim() || null;
  if (!edgeServiceJwt) {
    if (!local || !jwtSecret) {
      throw new ConfigError("EDGE_SERVICE_JWT", "is required outside the local stack.");
    }
    edgeServiceJwt = await mintServiceJwt(jwtSecret);
  }

  const faultInjection = env.get("WISELY_AGENT_FAULTS") === "1";
  if (faultInjection && !local) {
    throw new ConfigError("WISELY_AGENT_FAULTS", "is only allowed in the local stack.");
  }

  return {
    local,
    dbUrl,
    supabaseUrl,
    jwtSecret,
    jwks: readJwks(env),
    edgeBaseUrl,
    edgeServiceJwt,
    port,
    agentFaultInjection: faultInjection,
  };
}
