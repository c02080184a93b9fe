/**
 * Changes to an existing user, shared by PUT /user and the admin API, each as GoTrue's model
 * methods make them (internal/models/user.go): a new password signs the user out of every
 * other session, a confirmed e-mail change updates the e-mail identity and makes an anonymous
 * user a permanent one, and `app_metadata.providers` follows the identities.
 */
import type postgres from "postgres";
import { jsonb } from "../../supabase/functions/_shared/db.ts";
import { emailIdentityData, providersOf, upsertIdentity } from "./identities.ts";
import { mergeMetadata, type UserRow } from "./users.ts";

type Tx = postgres.TransactionSql;
type JsonMap = Record<string, unknown>;

/** Stores a new password hash; sessions other than `keepSessionId` (all when null) end. */
export async function setPassword(
  tx: Tx,
  userId: string,
  encryptedPassword: string,
  keepSessionId: string | null,
  now: Date,
): Promise<void> {
  await tx`
    update auth.users
    set encrypted_password = ${encryptedPassword}, confirmation_token = '',
      confirmation_sent_at = null, recovery_token = '', recovery_sent_at = null,
      email_change_token_current = '', email_change_token_new = '', email_change_sent_at = null,
      reauthentication_token = '', reauthentication_sent_at = null, updated_at = ${now}
    where id = ${userId}
  `;
  if (keepSessionId === null) {
    await tx`delete from auth.sessions where user_id = ${userId}`;
  } else {
    await tx`delete from auth.sessions where user_id = ${userId} and id <> ${keepSessionId}`;
  }
}

/**
 * Merges `updates` into one of the metadata columns, keys set to null removed (GoTrue's
 * UpdateUserMetaData), in SQL so earlier changes in the transaction are kept.
 */
export async function mergeUserMetadata(
  tx: Tx,
  user: UserRow,
  column: "raw_user_meta_data" | "raw_app_meta_data",
  updates: JsonMap,
  now: Date,
): Promise<void> {
  const set = Object.fromEntries(Object.entries(updates).filter(([, value]) => value !== null));
  const removed = Object.keys(updates).filter((key) => updates[key] === null);
  const merged = tx`(coalesce(${tx(column)}, '{}'::jsonb) || ${
    jsonb(tx, set)
  }) - ${removed}::text[]`;
  await tx`update auth.users set ${
    tx(column)
  } = ${merged}, updated_at = ${now} where id = ${user.id}`;
  user[column] = mergeMetadata(user[column], updates);
}

/** `app_metadata.provider(s)` from the user's identities (UpdateAppMetaDataProviders). */
export async function syncProviders(tx: Tx, userId: string, now: Date): Promise<void> {
  const providers = await providersOf(tx, userId);
  const update: JsonMap = { providers };
  if (providers.length > 0) update.provider = providers[0];
  await tx`
    update auth.users
    set raw_app_meta_data = coalesce(raw_app_meta_data, '{}'::jsonb) || ${jsonb(tx, update)},
      updated_at = ${now}
    where id = ${userId}
  `;
}

/**
 * Sets the user's e-mail, confirmed when `confirmed` (the local Auth sends no mail, so changes
 * a user makes are confirmed at once), with its e-mail identity.
 */
export async function changeEmail(
  tx: Tx,
  user: UserRow,
  email: string,
  confirmed: boolean,
  now: Date,
): Promise<void> {
  await tx`
    update auth.users
    set email = ${email}, email_change = '', email_change_sent_at = null,
      email_confirmed_at = ${confirmed ? now : user.email_confirmed_at},
      is_anonymous = ${confirmed ? false : user.is_anonymous}, updated_at = ${now}
    where id = ${user.id}
  `;
  await upsertIdentity(tx, user.id, "email", emailIdentityData(user.id, email, confirmed), now);
  await syncProviders(tx, user.id, now);
}

/** Sets (duration > 0) or lifts (0) a ban. */
export async function setBan(tx: Tx, userId: string, durationMs: number, now: Date) {
  const until = durationMs === 0 ? null : new Date(now.getTime() + durationMs);
  await tx`update auth.users set banned_until = ${until}, updated_at = ${now} where id = ${userId}`;
}
