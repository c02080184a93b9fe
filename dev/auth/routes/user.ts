/**
 * GET /user and PUT /user (internal/api/user.go) for the bearer's user. An e-mail change is
 * applied and confirmed at once (GoTrue would mail a confirmation link first; the local Auth
 * sends no mail), which is also how an anonymous user becomes a permanent one. Phone changes
 * need SMS, which the local Auth does not send.
 */
import { readStruct } from "../body.ts";
import { AUDIENCE, type AuthContext } from "../context.ts";
import { AuthError, badRequest, forbidden, unprocessable } from "../errors.ts";
import { sendJson } from "../http.ts";
import { checkPasswordStrength, hashPassword, verifyPassword } from "../passwords.ts";
import { type Authenticated, requireAuthentication } from "../principal.ts";
import { type UserUpdateInput, UserUpdateParams } from "../schemas.ts";
import { findUserByEmail, userResponseBody } from "../users.ts";
import { changeEmail, mergeUserMetadata, setPassword } from "../user_updates.ts";
import { validateEmail, validatePhone } from "../validate.ts";
import { isUniqueViolation } from "../pg_errors.ts";

const EMAIL_EXISTS = "A user with this email address has already been registered";

export async function getUser(req: Request, ctx: AuthContext): Promise<Response> {
  const { user, claims } = await requireAuthentication(req, ctx);
  const audiences = typeof claims.aud === "string" ? [claims.aud] : claims.aud ?? [];
  const requested = req.headers.get("x-jwt-aud") || audiences[0] || AUDIENCE;
  if (audiences.length === 0 || requested !== audiences[0]) {
    throw badRequest("validation_failed", "Token audience doesn't match request audience");
  }
  const body = await userResponseBody(ctx.sql, user.id);
  if (!body) throw forbidden("user_not_found", "User from sub claim in JWT does not exist");
  return sendJson(body);
}

/** GoTrue's checks before any change; returns the validated new e-mail ("" for none). */
async function validateUpdate(ctx: AuthContext, auth: Authenticated, params: UserUpdateInput) {
  const email = params.email === "" ? "" : validateEmail(params.email);
  if (params.phone !== "") {
    validatePhone(params.phone);
    throw unprocessable("phone_provider_disabled", "Phone changes need SMS, which is disabled");
  }
  if (params.password !== undefined) checkPasswordStrength(params.password);
  if (params.app_metadata !== undefined) {
    throw forbidden("not_admin", "Updating app_metadata requires admin privileges");
  }
  const { user } = auth;
  if (user.is_anonymous && params.password && email === "") {
    throw unprocessable(
      "validation_failed",
      "Updating password of an anonymous user without an email or phone is not allowed",
    );
  }
  if (email !== "" && email !== user.email) {
    const other = await findUserByEmail(ctx.sql, email, user.aud ?? AUDIENCE);
    if (other && other.id !== user.id) throw unprocessable("email_exists", EMAIL_EXISTS);
  }
  if (params.password && (await verifyPassword(params.password, user.encrypted_password))) {
    throw unprocessable("same_password", "New password should be different from the old password.");
  }
  return email;
}

export async function updateUser(req: Request, ctx: AuthContext): Promise<Response> {
  const auth = await requireAuthentication(req, ctx);
  const params = await readStruct(req, ctx.maxBodyBytes, UserUpdateParams);
  const email = await validateUpdate(ctx, auth, params);
  const hash = params.password ? await hashPassword(params.password) : null;
  const { user, session } = auth;
  const now = new Date();
  try {
    await ctx.sql.begin(async (tx) => {
      if (hash !== null) await setPassword(tx, user.id, hash, session?.id ?? null, now);
      if (params.data !== undefined) {
        await mergeUserMetadata(tx, user, "raw_user_meta_data", params.data, now);
      }
      if (email !== "" && email !== user.email) await changeEmail(tx, user, email, true, now);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw unprocessable("email_exists", EMAIL_EXISTS);
    throw error;
  }
  const body = await userResponseBody(ctx.sql, user.id);
  if (!body) throw new AuthError(404, "user_not_found", "User not found");
  return sendJson(body);
}
