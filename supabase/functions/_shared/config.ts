/**
 * Configuration from environment variables (spec 3), validated once with errors that name the
 * variable. Local defaults (the well-known Supabase CLI secret and keys, the local gateway)
 * apply only when `WISELY_LOCAL_STACK=1`, which `deno task start` and the tests set: a
 * deployed function never falls back to them.
 *
 * A missing credential never stops a function from booting: a project with only the new keys
 * (no `JWT_SECRET`, no legacy keys) is the normal case. What a credential is missing for is
 * refused when a request needs it, with a log line saying why (auth.ts, the orchestrator's
 * agent calls, the reference agents). Only malformed values, and a missing database or project
 * URL outside the local stack, are errors here.
 *
 * A variable set to the empty string counts as unset and also turns its local default off, so
 * a local stack can run as a new-key project (`JWT_SECRET: ""`, see test/e2e/new_keys.test.ts).
 */
import { KeyEnvError, readApiKeys } from "./api_key_env.ts";
import { parseDatabaseUrl } from "./database_url.ts";

/** Supabase CLI's local JWT secret: public knowledge, so only ever a local default. */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
/** The Supabase CLI's local publishable key (`supabase start` prints it). */
export const LOCAL_PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
/** The Supabase CLI's local secret key. */
export const LOCAL_SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
export const LOCAL_SUPABASE_URL = "http://127.0.0.1:54321";
export const LOCAL_PORT = 54321;

export interface Config {
  /** True inside the local stack (`WISELY_LOCAL_STACK=1`). */
  local: boolean;
  /**
   * Postgres connection string: `WISELY_DB_URL` (the transaction pooler) when set, else
   * `SUPABASE_DB_URL`; null means the local stack's embedded PGlite.
   */
  dbUrl: string | null;
  /** The variable `dbUrl` came from. */
  dbUrlVariable: "WISELY_DB_URL" | "SUPABASE_DB_URL" | null;
  supabaseUrl: string | null;
  /** HS256 secret for legacy Supabase JWTs; null refuses HS256 tokens. */
  jwtSecret: Uint8Array | null;
  /** Inline JWKS (`SUPABASE_JWKS`) for ES256/RS256 tokens. */
  jwks: { keys: JsonWebKeyWithKid[] } | null;
  /** `sb_secret_…` keys: a request bearing one is the service principal. Default key first. */
  secretKeys: readonly string[];
  /** `sb_publishable_…` keys: the anon role. */
  publishableKeys: readonly string[];
  /**
   * The legacy service_role JWT (`SUPABASE_SERVICE_ROLE_KEY`), accepted as its exact string
   * (as Supabase's gateway does) even without `JWT_SECRET`; null when not set.
   */
  legacyServiceRoleKey: string | null;
  /** Where agents live: `${edgeBaseUrl}/functions/v1/agent-<name>`. */
  edgeBaseUrl: string;
  /**
   * The credential the orchestrator sends to agents (`apikey` and bearer): `EDGE_SERVICE_KEY`,
   * else the first secret key, else the legacy service_role key; null when there is none.
   */
  edgeServiceKey: string | null;
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

/** The variable's value, trimmed; undefined when unset or empty. */
function read(env: Env, name: string): string | undefined {
  return env.get(name)?.trim() || undefined;
}

function readHttpUrl(env: Env, name: string): string | null {
  const raw = read(env, name);
  if (!raw) return null;
  try {
    const url = new URL(raw);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
    return raw.replace(/\/+$/, "");
  } catch (cause) {
    throw new ConfigError(name, "must be an absolute http(s) URL.", { cause });
  }
}

function readDatabaseUrl(env: Env, local: boolean): Pick<Config, "dbUrl" | "dbUrlVariable"> {
  for (const name of ["WISELY_DB_URL", "SUPABASE_DB_URL"] as const) {
    const raw = read(env, name);
    if (!raw) continue;
    try {
      parseDatabaseUrl(raw);
    } catch (cause) {
      // The message never repeats the URL: it may hold a password.
      const reason = cause instanceof Error ? cause.message : "is not valid";
      throw new ConfigError(name, `the connection string ${reason}.`, { cause });
    }
    return { dbUrl: raw, dbUrlVariable: name };
  }
  if (!local) {
    throw new ConfigError(
      "SUPABASE_DB_URL",
      "is required outside the local stack (or WISELY_DB_URL, the transaction pooler).",
    );
  }
  return { dbUrl: null, dbUrlVariable: null };
}

function readJwks(env: Env): Config["jwks"] {
  const raw = read(env, "SUPABASE_JWKS");
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

function readJwtSecret(env: Env, local: boolean): Uint8Array | null {
  const raw = env.get("JWT_SECRET");
  // Set but empty: unset, with no local default either.
  const text = raw === undefined ? (local ? LOCAL_JWT_SECRET : undefined) : raw || undefined;
  if (text === undefined) return null;
  if (text.length < 32) {
    throw new ConfigError("JWT_SECRET", "must be at least 32 characters long.");
  }
  return new TextEncoder().encode(text);
}

function readKeys(env: Env, local: boolean) {
  try {
    return {
      secretKeys: readApiKeys(env, {
        plural: "SUPABASE_SECRET_KEYS",
        singular: "SUPABASE_SECRET_KEY",
        fallback: local ? LOCAL_SECRET_KEY : undefined,
      }),
      publishableKeys: readApiKeys(env, {
        plural: "SUPABASE_PUBLISHABLE_KEYS",
        singular: "SUPABASE_PUBLISHABLE_KEY",
        fallback: local ? LOCAL_PUBLISHABLE_KEY : undefined,
      }),
    };
  } catch (error) {
    if (error instanceof KeyEnvError) {
      throw new ConfigError(error.variable, error.message, { cause: error });
    }
    throw error;
  }
}

function readPort(env: Env): number {
  const raw = read(env, "PORT");
  if (!raw) return LOCAL_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError("PORT", "must be an integer from 0 to 65535.");
  }
  return port;
}

function readConfig(env: Env): Config {
  const local = env.get("WISELY_LOCAL_STACK") === "1";
  const database = readDatabaseUrl(env, local);
  const supabaseUrl = readHttpUrl(env, "SUPABASE_URL") ?? (local ? LOCAL_SUPABASE_URL : null);
  const port = readPort(env);
  const edgeBaseUrl = readHttpUrl(env, "EDGE_BASE_URL") ??
    (local ? `http://127.0.0.1:${port}` : supabaseUrl);
  if (!edgeBaseUrl) {
    throw new ConfigError("EDGE_BASE_URL", "is required when SUPABASE_URL is not set.");
  }
  const { secretKeys, publishableKeys } = readKeys(env, local);
  const legacyServiceRoleKey = read(env, "SUPABASE_SERVICE_ROLE_KEY") ?? null;
  // EDGE_SERVICE_JWT is the deprecated name of EDGE_SERVICE_KEY.
  const edgeServiceKey = read(env, "EDGE_SERVICE_KEY") ?? read(env, "EDGE_SERVICE_JWT") ??
    secretKeys[0] ?? legacyServiceRoleKey;

  const faultInjection = env.get("WISELY_AGENT_FAULTS") === "1";
  if (faultInjection && !local) {
    throw new ConfigError("WISELY_AGENT_FAULTS", "is only allowed in the local stack.");
  }
  return {
    local,
    ...database,
    supabaseUrl,
    jwtSecret: readJwtSecret(env, local),
    jwks: readJwks(env),
    secretKeys,
    publishableKeys,
    legacyServiceRoleKey,
    edgeBaseUrl,
    edgeServiceKey,
    port,
    agentFaultInjection: faultInjection,
  };
}

/**
 * Reads and validates the configuration. Rejects with a `ConfigError` naming the bad variable;
 * never for a credential that is merely missing.
 */
export function loadConfig(env: Env = Deno.env): Promise<Config> {
  try {
    return Promise.resolve(readConfig(env));
  } catch (error) {
    return Promise.reject(error);
  }
}
