/**
 * PUT /admin/users/{id} (internal/api/admin.go adminUserUpdate): role, confirmations, a new
 * password (which signs the user out everywhere), e-mail and phone (with their identities),
 * metadata merges and a ban, in one transaction.
 */
import { banDurationMs } from "./admin_create.ts";
import type { AuthContext } from "./context.ts";
import { unprocessable } from "./errors.ts";
import { upsertIdentity } from "./identities.ts";
import { checkPasswordStrength, hashPassword } from "./passwords.ts";
import { isUniqueViolation } from "./pg_errors.ts";
import type { AdminUserInput } from "./schemas.ts";
import type { UserRow } from "./users.ts";
import { changeEmail, mergeUserMetadata, setBan, setPassword } from "./user_updates.ts";
import { validateEmail, validatePhone } from "./validate.ts";

export async function updateUserAsAdmin(
  ctx: AuthContext,
  user: UserRow,
  params: AdminUserInput,
): Promise<void> {
  const email = params.email === "" ? "" : validateEmail(params.email);
  const phone = params.phone === "" ? "" : validatePhone(params.phone);
  const banMs = banDurationMs(params.ban_duration);
  if (params.password !== undefined) checkPasswordStrength(params.password);
  const hash = params.password !== undefined ? await hashPassword(params.password) : null;
  const now = new Date();
  try {
    await ctx.sql.begin(async (tx) => {
      if (params.role !== "") {
        await tx`update auth.users set role = ${params.role} where id = ${user.id}`;
      }
      if (params.email_confirm) {
        await tx`update auth.users set email_confirmed_at = ${now} where id = ${user.id}`;
        user.email_confirmed_at = now;
        await mergeUserMetadata(tx, user, "raw_user_meta_data", { email_verified: true }, now);
      }
      if (params.phone_confirm) {
        await tx`update auth.users set phone_confirmed_at = ${now} where id = ${user.id}`;
      }
      if (hash !== null) await setPassword(tx, user.id, hash, null, now);
      if (email !== "") await changeEmail(tx, user, email, params.email_confirm, now);
      if (phone !== "") {
        const data = { sub: user.id, phone, phone_verified: params.phone_confirm };
        await upsertIdentity(tx, user.id, "phone", data, now);
        const anonymous = user.is_anonymous && !params.phone_confirm;
        await tx`
          update auth.users set phone = ${phone}, is_anonymous = ${anonymous} where id = ${user.id}
        `;
      }
      if (params.app_metadata !== undefined) {
        await mergeUserMetadata(tx, user, "raw_app_meta_data", params.app_metadata, now);
      }
      if (params.user_metadata !== undefined) {
        await mergeUserMetadata(tx, user, "raw_user_meta_data", params.user_metadata, now);
      }
      if (banMs !== undefined) await setBan(tx, user.id, banMs, now);
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw unprocessable(
      "email_exists",
      "A user with this email address or phone is already registered",
    );
  }
}
