/**
 * `ensureLocalUser`: makes a user who can sign in with e-mail and password (confirmed, with an
 * e-mail identity), creating or completing the row; for `deno task start`'s demo learner, whose
 * row may predate the local Auth. Idempotent.
 */
import type postgres from "postgres";
import { jsonb } from "../../supabase/functions/_shared/db.ts";
import { AUDIENCE, USER_ROLE } from "./context.ts";
import { emailIdentityData, upsertIdentity } from "./identities.ts";
import { checkPasswordStrength, hashPassword } from "./passwords.ts";
import { parseUuid, validateEmail } from "./validate.ts";

export interface LocalUser {
  id: string;
  email: string;
  /** At least 6 characters. */
  password: string;
}

export async function ensureLocalUser(sql: postgres.Sql, user: LocalUser): Promise<void> {
  const id = parseUuid(user.id);
  if (id === null) throw new Error(`ensureLocalUser: ${user.id} is not a UUID.`);
  const email = validateEmail(user.email);
  checkPasswordStrength(user.password);
  const hash = await hashPassword(user.password);
  const now = new Date();
  const appMetadata = { provider: "email", providers: ["email"] };
  await sql.begin(async (tx) => {
    await tx`
      insert into auth.users (
        instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
        raw_app_meta_data, raw_user_meta_data, created_at, updated_at
      ) values (
        ${"00000000-0000-0000-0000-000000000000"}, ${id}, ${AUDIENCE}, ${USER_ROLE}, ${email},
        ${hash}, ${now}, ${jsonb(tx, appMetadata)}, ${jsonb(tx, { email_verified: true })},
        ${now}, ${now}
      )
      on conflict (id) do update set
        email = excluded.email,
        encrypted_password = excluded.encrypted_password,
        email_confirmed_at = coalesce(auth.users.email_confirmed_at, excluded.email_confirmed_at),
        raw_app_meta_data = coalesce(auth.users.raw_app_meta_data, '{}'::jsonb)
          || excluded.raw_app_meta_data,
        updated_at = excluded.updated_at
    `;
    await upsertIdentity(tx, id, "email", emailIdentityData(id, email, true), now);
  });
}
