/**
 * Learners for tests and benchmarks: `auth.users` rows inserted in bulk as the superuser, each
 * with an access token signed with the local stack's JWT secret and the claims the orchestrator
 * runs `asUser` with.
 */
import type postgres from "postgres";
import { decodeJwt } from "jose";
import { mintServiceJwt, mintUserJwt } from "../../dev/jwt.ts";
import { LOCAL_JWT_SECRET } from "../../supabase/functions/_shared/config.ts";
import type { UserClaims } from "../../supabase/functions/_shared/db.ts";

/** The local stack's JWT secret (what a stack started without `JWT_SECRET` uses). */
export const LOCAL_SECRET = new TextEncoder().encode(LOCAL_JWT_SECRET);

export interface TestUser {
  id: string;
  token: string;
  /** The token's payload: what the orchestrator runs `asUser` with. */
  claims: UserClaims;
}

export interface CreateUsersOptions {
  /** `iss` of the tokens: the stack's `${supabaseUrl}/auth/v1`. */
  issuer: string;
  /** Token lifetime. @default "6h" (a benchmark's whole run) */
  expiresIn?: string;
}

/** Inserts `ids` into auth.users, in statements of at most 5,000 rows. */
export async function insertUsers(sql: postgres.Sql, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 5000) {
    const chunk = ids.slice(i, i + 5000);
    await sql`
      insert into auth.users (id, aud, role, email)
      select id, 'authenticated', 'authenticated', id::text || '@example.test'
      from unnest(${chunk}::uuid[]) as id
    `;
  }
}

/** `n` new users with tokens signed with the local secret. */
export async function createUsers(
  sql: postgres.Sql,
  n: number,
  options: CreateUsersOptions,
): Promise<TestUser[]> {
  const ids = Array.from({ length: n }, () => crypto.randomUUID());
  await insertUsers(sql, ids);
  return await Promise.all(ids.map(async (id) => {
    const token = await mintUserJwt({
      secret: LOCAL_SECRET,
      userId: id,
      email: `${id}@example.test`,
      issuer: options.issuer,
      expiresIn: options.expiresIn ?? "6h",
    });
    // A minted token's payload is ours: sub and role are set above.
    const claims = { ...decodeJwt(token), sub: id, role: "authenticated" } as UserClaims;
    return { id, token, claims };
  }));
}

/** A service-role token signed with the local secret. */
export function localServiceToken(): Promise<string> {
  return mintServiceJwt(LOCAL_SECRET);
}
