/**
 * POST /signup (internal/api/signup.go, anonymous.go): with an e-mail and a password a new user,
 * confirmed at once (the CLI's default `enable_confirmations = false`), and a session; with
 * neither e-mail nor phone an anonymous sign-in (no identity, no password, `is_anonymous`).
 */
import { readStruct } from "../body.ts";
import { AUDIENCE, type AuthContext, USER_ROLE } from "../context.ts";
import { badRequest, unprocessable } from "../errors.ts";
import { sendJson, userAgentOf } from "../http.ts";
import { emailIdentityData, identitiesOf, upsertIdentity } from "../identities.ts";
import { checkPasswordStrength, hashPassword } from "../passwords.ts";
import { type SignupInput, SignupParams } from "../schemas.ts";
import { insertUserWithSession, issueSession } from "../sessions.ts";
import { tokenResponseBody } from "../token_response.ts";
import { findUserByEmail, insertUser, mergeMetadata } from "../users.ts";
import { validateEmail } from "../validate.ts";
import { isUniqueViolation } from "../pg_errors.ts";

const userExists = () => unprocessable("user_already_exists", "User already registered");

async function anonymousSignup(req: Request, ctx: AuthContext, params: SignupInput) {
  // No password, no identity: one statement, so a thousand sign-ins take seconds.
  const { user, session } = await insertUserWithSession(
    ctx.sql,
    {
      id: crypto.randomUUID(),
      aud: AUDIENCE,
      role: USER_ROLE,
      email: null,
      phone: null,
      encryptedPassword: "",
      appMetadata: {},
      userMetadata: params.data ?? {},
      isAnonymous: true,
      emailConfirmedAt: null,
      phoneConfirmedAt: null,
      bannedUntil: null,
      now: new Date(),
    },
    "anonymous",
    userAgentOf(req),
  );
  return sendJson(await tokenResponseBody(ctx, user, [], session));
}

function validateSignup(params: SignupInput): string {
  if (params.password === "") {
    throw badRequest("validation_failed", "Signup requires a valid password");
  }
  checkPasswordStrength(params.password);
  if (params.email !== "" && params.phone !== "") {
    throw badRequest(
      "validation_failed",
      "Only an email address or phone number should be provided on signup.",
    );
  }
  if ((params.code_challenge === "") !== (params.code_challenge_method === "")) {
    throw badRequest(
      "validation_failed",
      "PKCE flow requires code_challenge_method and code_challenge",
    );
  }
  // The CLI's default `[auth.sms] enable_signup = false`.
  if (params.phone !== "") {
    throw badRequest("phone_provider_disabled", "Phone signups are disabled");
  }
  return validateEmail(params.email);
}

async function emailSignup(req: Request, ctx: AuthContext, params: SignupInput) {
  const email = validateSignup(params);
  // Checked before hashing too, so a repeated sign-up costs no bcrypt round.
  if (await findUserByEmail(ctx.sql, email, AUDIENCE)) throw userExists();
  const encryptedPassword = await hashPassword(params.password);
  const now = new Date();
  const id = crypto.randomUUID();
  const data = params.data ?? {};
  try {
    const result = await ctx.sql.begin(async (tx) => {
      if (await findUserByEmail(tx, email, AUDIENCE)) throw userExists();
      const user = await insertUser(tx, {
        id,
        aud: AUDIENCE,
        role: USER_ROLE,
        email,
        phone: null,
        encryptedPassword,
        appMetadata: { provider: "email", providers: ["email"] },
        // Confirming the address records it in the metadata (models.User.Confirm).
        userMetadata: mergeMetadata(data, { email_verified: true }),
        isAnonymous: false,
        emailConfirmedAt: now,
        phoneConfirmedAt: null,
        bannedUntil: null,
        now,
      });
      await upsertIdentity(tx, id, "email", emailIdentityData(id, email, false, data), now);
      const session = await issueSession(tx, id, "password", userAgentOf(req), now);
      const identities = await identitiesOf(tx, [id]);
      return { user: { ...user, last_sign_in_at: now }, identities, session };
    });
    return sendJson(await tokenResponseBody(ctx, result.user, result.identities, result.session));
  } catch (error) {
    // Two sign-ups with one address at once: the unique index decides.
    if (isUniqueViolation(error)) throw userExists();
    throw error;
  }
}

export async function signup(req: Request, ctx: AuthContext): Promise<Response> {
  const params = await readStruct(req, ctx.maxBodyBytes, SignupParams);
  if (params.email === "" && params.phone === "") return await anonymousSignup(req, ctx, params);
  return await emailSignup(req, ctx, params);
}
