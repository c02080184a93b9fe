/**
 * Creating a user through the admin API (internal/api/admin.go adminUserCreate): an e-mail or a
 * phone, a password (a random one when none is given, as GoTrue does) or a bcrypt hash, an
 * optional `id`, metadata, confirmations and a ban.
 */
import type postgres from "postgres";
import bcrypt from "bcryptjs";
import { AUDIENCE, USER_ROLE } from "./context.ts";
import { parseGoDuration } from "./duration.ts";
import { badRequest, unprocessable } from "./errors.ts";
import { emailIdentityData, upsertIdentity } from "./identities.ts";
import { hashPassword } from "./passwords.ts";
import type { AdminUserInput } from "./schemas.ts";
import { insertUser, mergeMetadata, type NewUser } from "./users.ts";
import { NIL_UUID, parseUuid, validateEmail, validatePhone } from "./validate.ts";

type JsonMap = Record<string, unknown>;

/** Milliseconds of `ban_duration`, "none" lifting a ban; undefined when not given. */
export function banDurationMs(text: string): number | undefined {
  if (text === "") return undefined;
  if (text === "none") return 0;
  const ms = parseGoDuration(text);
  if (ms === null) {
    throw badRequest(
      "validation_failed",
      `invalid format for ban duration: time: invalid duration ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

async function passwordHashOf(params: AdminUserInput): Promise<string> {
  if (params.password !== undefined && params.password_hash !== "") {
    throw badRequest("validation_failed", "Only a password or a password hash should be provided");
  }
  if (params.password_hash !== "") {
    // GoTrue accepts bcrypt (and argon2/scrypt) hashes; the local Auth only bcrypt.
    try {
      bcrypt.getRounds(params.password_hash);
    } catch (cause) {
      throw badRequest("validation_failed", "password_hash must be a bcrypt hash", { cause });
    }
    return params.password_hash;
  }
  const password = params.password || crypto.randomUUID() + crypto.randomUUID();
  if (new TextEncoder().encode(password).byteLength > 72) {
    throw badRequest("validation_failed", "bcrypt: password length exceeds 72 bytes");
  }
  return await hashPassword(password);
}

function userIdOf(params: AdminUserInput): string {
  if (params.id === "") return crypto.randomUUID();
  const id = parseUuid(params.id);
  if (id === null) throw badRequest("validation_failed", "ID must conform to the uuid v4 format");
  if (id === NIL_UUID) throw badRequest("validation_failed", "ID cannot be a nil uuid");
  return id;
}

/** Everything checked before the transaction; the new row, ready to insert. */
export async function newAdminUser(
  sql: postgres.Sql,
  params: AdminUserInput,
  now: Date,
): Promise<NewUser> {
  const aud = params.aud || AUDIENCE;
  if (params.email === "" && params.phone === "") {
    throw badRequest("validation_failed", "Cannot create a user without either an email or phone");
  }
  const providers: string[] = [];
  const email = params.email === "" ? null : validateEmail(params.email);
  if (email !== null) {
    const [taken] = await sql`
      select 1 from auth.users
      where lower(email) = ${email} and aud = ${aud} and is_sso_user = false
    `;
    if (taken) {
      throw unprocessable(
        "email_exists",
        "A user with this email address has already been registered",
      );
    }
    providers.push("email");
  }
  const phone = params.phone === "" ? null : validatePhone(params.phone);
  if (phone !== null) {
    const [taken] = await sql`select 1 from auth.users where phone = ${phone} and aud = ${aud}`;
    if (taken) {
      throw unprocessable("phone_exists", "Phone number already registered by another user");
    }
    providers.push("phone");
  }
  const banMs = banDurationMs(params.ban_duration);
  const id = userIdOf(params);
  let userMetadata: JsonMap = params.user_metadata ?? {};
  if (params.email_confirm) userMetadata = mergeMetadata(userMetadata, { email_verified: true });
  return {
    id,
    aud,
    role: params.role || USER_ROLE,
    email,
    phone,
    encryptedPassword: await passwordHashOf(params),
    appMetadata: mergeMetadata(
      { provider: providers[0], providers },
      params.app_metadata ?? {},
    ),
    userMetadata,
    isAnonymous: false,
    emailConfirmedAt: params.email_confirm ? now : null,
    phoneConfirmedAt: params.phone_confirm ? now : null,
    bannedUntil: banMs ? new Date(now.getTime() + banMs) : null,
    now,
  };
}

/** Inserts the user and its identities. */
export async function insertAdminUser(tx: postgres.TransactionSql, user: NewUser): Promise<void> {
  await insertUser(tx, user);
  if (user.email !== null) {
    await upsertIdentity(
      tx,
      user.id,
      "email",
      emailIdentityData(user.id, user.email, false),
      user.now,
    );
  }
  if (user.phone !== null) {
    const data = { sub: user.id, phone: user.phone, email_verified: false, phone_verified: false };
    await upsertIdentity(tx, user.id, "phone", data, user.now);
  }
}
