/**
 * `auth.users` rows and the user object GoTrue answers with (internal/models/user.go's JSON:
 * same fields, same order, `email`/`phone` as "" when unset, timestamps omitted when null).
 */
import type postgres from "postgres";
import { jsonb } from "../../supabase/functions/_shared/db.ts";
import { identitiesOf, type IdentityRow, serializeIdentity } from "./identities.ts";

type Queryable = postgres.Sql | postgres.TransactionSql;
type JsonMap = Record<string, unknown>;

export interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  encrypted_password: string | null;
  email_confirmed_at: Date | null;
  invited_at: Date | null;
  phone: string | null;
  phone_confirmed_at: Date | null;
  confirmation_sent_at: Date | null;
  confirmed_at: Date | null;
  recovery_sent_at: Date | null;
  email_change: string | null;
  email_change_sent_at: Date | null;
  phone_change: string | null;
  phone_change_sent_at: Date | null;
  reauthentication_sent_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: JsonMap | null;
  raw_user_meta_data: JsonMap | null;
  created_at: Date | null;
  updated_at: Date | null;
  banned_until: Date | null;
  deleted_at: Date | null;
  is_anonymous: boolean;
}

export async function findUserById(sql: Queryable, id: string): Promise<UserRow | null> {
  const [row] = await sql<UserRow[]>`select * from auth.users where id = ${id}`;
  return row ?? null;
}

/** GoTrue's FindUserByEmailAndAudience: case-insensitive, SSO users excluded. */
export async function findUserByEmail(
  sql: Queryable,
  email: string,
  aud: string,
): Promise<UserRow | null> {
  const [row] = await sql<UserRow[]>`
    select * from auth.users
    where lower(email) = lower(${email}) and aud = ${aud} and is_sso_user = false
    limit 1
  `;
  return row ?? null;
}

export interface NewUser {
  id: string;
  aud: string;
  role: string;
  email: string | null;
  phone: string | null;
  encryptedPassword: string;
  appMetadata: JsonMap;
  userMetadata: JsonMap;
  isAnonymous: boolean;
  emailConfirmedAt: Date | null;
  phoneConfirmedAt: Date | null;
  bannedUntil: Date | null;
  /** Set when the user signs in as they are created. @default null */
  lastSignInAt?: Date | null;
  /** Creation time; also `updated_at`. */
  now: Date;
}

/** The insert of `user`, returning the row: a query to run, or to nest in a CTE. */
export function insertUserQuery(tx: Queryable, user: NewUser) {
  return tx<UserRow[]>`
    insert into auth.users (
      instance_id, id, aud, role, email, phone, encrypted_password, raw_app_meta_data,
      raw_user_meta_data, is_anonymous, email_confirmed_at, phone_confirmed_at, banned_until,
      last_sign_in_at, created_at, updated_at
    ) values (
      ${"00000000-0000-0000-0000-000000000000"}, ${user.id}, ${user.aud}, ${user.role},
      ${user.email}, ${user.phone}, ${user.encryptedPassword}, ${jsonb(tx, user.appMetadata)},
      ${jsonb(tx, user.userMetadata)}, ${user.isAnonymous}, ${user.emailConfirmedAt},
      ${user.phoneConfirmedAt}, ${user.bannedUntil}, ${user.lastSignInAt ?? null}, ${user.now},
      ${user.now}
    )
    returning *
  `;
}

export async function insertUser(tx: Queryable, user: NewUser): Promise<UserRow> {
  const [row] = await insertUserQuery(tx, user);
  return row;
}

/** GoTrue's metadata merge: keys set to `null` are removed, others replaced. */
export function mergeMetadata(current: JsonMap | null, updates: JsonMap): JsonMap {
  const merged: JsonMap = { ...(current ?? {}) };
  for (const [key, value] of Object.entries(updates)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

const iso = (date: Date | null) => date?.toISOString();

/** Fields with a value, in order; `undefined` ones are dropped as Go's `omitempty` does. */
function compact(entries: [string, unknown][]): JsonMap {
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

/** The user object of GoTrue's responses. */
export function serializeUser(user: UserRow, identities: IdentityRow[]): JsonMap {
  return compact([
    ["id", user.id],
    ["aud", user.aud ?? ""],
    ["role", user.role ?? ""],
    ["email", user.email ?? ""],
    ["email_confirmed_at", iso(user.email_confirmed_at)],
    ["invited_at", iso(user.invited_at)],
    ["phone", user.phone ?? ""],
    ["phone_confirmed_at", iso(user.phone_confirmed_at)],
    ["confirmation_sent_at", iso(user.confirmation_sent_at)],
    ["confirmed_at", iso(user.confirmed_at)],
    ["recovery_sent_at", iso(user.recovery_sent_at)],
    ["new_email", user.email_change || undefined],
    ["email_change_sent_at", iso(user.email_change_sent_at)],
    ["new_phone", user.phone_change || undefined],
    ["phone_change_sent_at", iso(user.phone_change_sent_at)],
    ["reauthentication_sent_at", iso(user.reauthentication_sent_at)],
    ["last_sign_in_at", iso(user.last_sign_in_at)],
    ["app_metadata", user.raw_app_meta_data ?? {}],
    ["user_metadata", user.raw_user_meta_data ?? {}],
    ["identities", identities.map(serializeIdentity)],
    ["created_at", iso(user.created_at) ?? new Date(0).toISOString()],
    ["updated_at", iso(user.updated_at) ?? new Date(0).toISOString()],
    ["banned_until", iso(user.banned_until)],
    ["deleted_at", iso(user.deleted_at)],
    ["is_anonymous", user.is_anonymous],
  ]);
}

/** The user, reloaded with its identities, as a response body. */
export async function userResponseBody(sql: Queryable, id: string): Promise<JsonMap | null> {
  const user = await findUserById(sql, id);
  if (!user) return null;
  return serializeUser(user, await identitiesOf(sql, [user.id]));
}

/** True when `banned_until` is still ahead. */
export function isBanned(user: UserRow, now = new Date()): boolean {
  return user.banned_until !== null && user.banned_until.getTime() > now.getTime();
}
