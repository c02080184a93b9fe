/**
 * What every benchmark sets up: a real Postgres (BENCH_DATABASE_URL or a throwaway cluster), the
 * schema, relaxed rate limits, users with tokens, and the reference agents' fault plans.
 */
import postgres from "postgres";
import { decodeJwt } from "jose";
import { migrate } from "../../dev/migrate.ts";
import { mintServiceJwt, mintUserJwt } from "../../dev/jwt.ts";
import { startPgCluster } from "../../dev/pg_cluster.ts";
import { LOCAL_JWT_SECRET } from "../../supabase/functions/_shared/config.ts";
import type { UserClaims } from "../../supabase/functions/_shared/db.ts";
import type { FaultStepInput } from "../../supabase/functions/_shared/agents/reference/fault_plan.ts";

export const SECRET = new TextEncoder().encode(LOCAL_JWT_SECRET);

export interface Database {
  url: string;
  /** Admin pool (superuser): setup and verification only, never measured. */
  admin: postgres.Sql;
  /** Set when we started the cluster ourselves. */
  cluster: { url: string; stop(): Promise<void> } | null;
  stop(): Promise<void>;
}

/** BENCH_DATABASE_URL if set, else a throwaway PostgreSQL cluster; migrated either way. */
export async function openDatabase(log: (line: string) => void): Promise<Database> {
  const given = Deno.env.get("BENCH_DATABASE_URL")?.trim();
  const cluster = given ? null : await startPgCluster();
  const url = given || cluster!.url;
  log(given ? `Postgres: BENCH_DATABASE_URL` : `Postgres: throwaway cluster at ${url}`);
  const admin = postgres(url, { max: 4, prepare: false, onnotice: () => {} });
  try {
    const { applied } = await migrate(admin, { bootstrap: true });
    log(`Migrations: ${applied.length} applied.`);
  } catch (error) {
    await admin.end();
    await cluster?.stop();
    throw error;
  }
  return {
    url,
    admin,
    cluster,
    async stop() {
      await admin.end({ timeout: 5 }).catch(() => {});
      await cluster?.stop();
    },
  };
}

/**
 * Lifts the per-user token buckets (spec 9) for a benchmark database: a benchmark drives one
 * user far harder than a person can. Every `rate.*` row gets a bucket nobody empties.
 */
export async function relaxRateLimits(admin: postgres.Sql): Promise<void> {
  const value = { burst: 1_000_000, refill_per_s: 1_000_000 };
  await admin`
    insert into wisely.settings (key, value, description)
    values ('rate.day_run', ${admin.json(value)}, 'relaxed by bench'),
           ('rate.default', ${admin.json(value)}, 'relaxed by bench')
    on conflict (key) do update set value = excluded.value, updated_at = now()
  `;
  await admin`
    update wisely.settings set value = ${admin.json(value)}, updated_at = now()
    where key like 'rate.%' and jsonb_typeof(value) = 'object' and value ? 'burst'
  `;
}

export interface BenchUser {
  id: string;
  token: string;
  /** The token's payload: what the orchestrator runs `asUser` with. */
  claims: UserClaims;
}

/** Inserts `n` users into auth.users in one statement (as test/support/db.ts createUser). */
export async function createUsers(
  admin: postgres.Sql,
  n: number,
  issuer: string,
): Promise<BenchUser[]> {
  const ids = Array.from({ length: n }, () => crypto.randomUUID());
  for (let i = 0; i < ids.length; i += 5000) {
    const chunk = ids.slice(i, i + 5000);
    await admin`
      insert into auth.users (id, aud, role, email)
      select id, 'authenticated', 'authenticated', id::text || '@example.test'
      from unnest(${chunk}::uuid[]) as id
    `;
  }
  return await Promise.all(ids.map(async (id) => {
    const token = await mintUserJwt({
      secret: SECRET,
      userId: id,
      email: `${id}@example.test`,
      issuer,
      expiresIn: "6h",
    });
    const claims = { ...decodeJwt(token), sub: id, role: "authenticated" } as UserClaims;
    return { id, token, claims };
  }));
}

export function serviceJwt(): Promise<string> {
  return mintServiceJwt(SECRET);
}

export type AgentName = "clo" | "alex" | "ta" | "socratic";
export const AGENTS: readonly AgentName[] = ["clo", "alex", "ta", "socratic"];

/** `PUT …/agent-<name>/_faults`: replaces the agent's fault plan (needs agentFaults: true). */
export async function setFaults(
  functionsUrl: string,
  jwt: string,
  agent: AgentName,
  steps: FaultStepInput[],
): Promise<{ steps: unknown[]; calls: number }> {
  const response = await fetch(`${functionsUrl}/agent-${agent}/_faults`, {
    method: "PUT",
    headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
    body: JSON.stringify({ steps }),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`PUT agent-${agent}/_faults answered ${response.status}: ${text}`);
  }
  return JSON.parse(text);
}

/** `GET …/agent-<name>/_faults`: the remaining steps and the calls since the last reset. */
export async function getFaults(
  functionsUrl: string,
  jwt: string,
  agent: AgentName,
): Promise<{ steps: unknown[]; calls: number }> {
  const response = await fetch(`${functionsUrl}/agent-${agent}/_faults`, {
    headers: { authorization: `Bearer ${jwt}` },
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`GET agent-${agent}/_faults answered ${response.status}: ${text}`);
  }
  return JSON.parse(text);
}

/** Sets the same steps on every agent. */
export async function setAllFaults(
  functionsUrl: string,
  jwt: string,
  steps: FaultStepInput[],
): Promise<void> {
  await Promise.all(AGENTS.map((agent) => setFaults(functionsUrl, jwt, agent, steps)));
}
