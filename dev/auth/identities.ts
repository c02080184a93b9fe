/**
 * `auth.identities`: how a user signs in (`email` for e-mail and password; anonymous users have
 * none), serialized as GoTrue does (`identity_id` is the row id, `id` the provider's id).
 */
import type postgres from "postgres";
import { jsonb } from "../../supabase/functions/_shared/db.ts";

type Queryable = postgres.Sql | postgres.TransactionSql;
type JsonMap = Record<string, unknown>;

export interface IdentityRow {
  id: string;
  provider_id: string;
  user_id: string;
  identity_data: JsonMap;
  provider: string;
  last_sign_in_at: Date | null;
  created_at: Date | null;
  updated_at: Date | null;
  email: string | null;
}

/** Every identity of the given users, oldest first. */
export async function identitiesOf(sql: Queryable, userIds: string[]): Promise<IdentityRow[]> {
  if (userIds.length === 0) return [];
  return await sql<IdentityRow[]>`
    select * from auth.identities where user_id = any(${userIds}::uuid[])
    order by created_at, id
  `;
}

/** The identity data GoTrue stores for an e-mail identity (provider.Claims as a map). */
export function emailIdentityData(
  userId: string,
  email: string,
  emailVerified: boolean,
  extra: JsonMap = {},
): JsonMap {
  const data: JsonMap = {
    sub: userId,
    email,
    email_verified: emailVerified,
    phone_verified: false,
  };
  // Sign-up data fills keys the claims do not have, as signup.go does.
  for (const [key, value] of Object.entries(extra)) if (!(key in data)) data[key] = value;
  return data;
}

/**
 * Creates the user's `provider` identity, or merges `data` into the one it has (GoTrue's
 * createNewIdentity / UpdateIdentityData).
 */
export async function upsertIdentity(
  tx: Queryable,
  userId: string,
  provider: string,
  data: JsonMap,
  now: Date,
): Promise<void> {
  await tx`
    insert into auth.identities (
      provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at
    ) values (${userId}, ${userId}, ${jsonb(tx, data)}, ${provider}, ${now}, ${now}, ${now})
    on conflict (provider_id, provider) do update
      set identity_data = auth.identities.identity_data || excluded.identity_data,
          updated_at = excluded.updated_at
  `;
}

/** The providers of a user's identities, for `app_metadata.providers`. */
export async function providersOf(tx: Queryable, userId: string): Promise<string[]> {
  const rows = await tx<{ provider: string }[]>`
    select distinct provider from auth.identities where user_id = ${userId} order by provider
  `;
  return rows.map((row) => row.provider);
}

const iso = (date: Date | null) => date?.toISOString();

export function serializeIdentity(identity: IdentityRow): JsonMap {
  const entries: [string, unknown][] = [
    ["identity_id", identity.id],
    ["id", identity.provider_id],
    ["user_id", identity.user_id],
    ["identity_data", identity.identity_data],
    ["provider", identity.provider],
    ["last_sign_in_at", iso(identity.last_sign_in_at)],
    ["created_at", iso(identity.created_at) ?? new Date(0).toISOString()],
    ["updated_at", iso(identity.updated_at) ?? new Date(0).toISOString()],
    ["email", identity.email || undefined],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}
