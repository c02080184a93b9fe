/**
 * POST /token?grant_type=… (internal/api/token.go): `password` (e-mail and password) and
 * `refresh_token`; `pkce` is read but no flow state ever exists (sign-ups are confirmed at
 * once), so any code is unknown. Other grants (id_token, web3: no provider is configured
 * locally) answer as an unknown grant does: 400 `invalid_credentials` "unsupported_grant_type".
 */
import { readStruct } from "../body.ts";
import { AUDIENCE, type AuthContext } from "../context.ts";
import { badRequest, notFound, unprocessable } from "../errors.ts";
import { sendJson, userAgentOf } from "../http.ts";
import { identitiesOf } from "../identities.ts";
import { verifyPassword, weakPasswordNotice } from "../passwords.ts";
import { refreshTokenGrant } from "../refresh.ts";
import { PasswordGrantParams, PKCEGrantParams, RefreshTokenGrantParams } from "../schemas.ts";
import { issueSession } from "../sessions.ts";
import { tokenResponseBody } from "../token_response.ts";
import { findUserByEmail, isBanned } from "../users.ts";

const INVALID_LOGIN = "Invalid login credentials";

async function passwordGrant(req: Request, ctx: AuthContext): Promise<Response> {
  const params = await readStruct(req, ctx.maxBodyBytes, PasswordGrantParams);
  if (params.email !== "" && params.phone !== "") {
    throw badRequest(
      "validation_failed",
      "Only an email address or phone number should be provided on login.",
    );
  }
  if (params.phone !== "") {
    throw unprocessable("phone_provider_disabled", "Phone logins are disabled");
  }
  if (params.email === "") throw badRequest("validation_failed", "missing email or phone");
  const user = await findUserByEmail(ctx.sql, params.email, AUDIENCE);
  if (!user?.encrypted_password) throw badRequest("invalid_credentials", INVALID_LOGIN);
  if (isBanned(user)) throw badRequest("user_banned", "User is banned");
  if (!(await verifyPassword(params.password, user.encrypted_password))) {
    throw badRequest("invalid_credentials", INVALID_LOGIN);
  }
  if (user.email_confirmed_at === null) {
    throw badRequest("email_not_confirmed", "Email not confirmed");
  }
  const now = new Date();
  const session = await issueSession(ctx.sql, user.id, "password", userAgentOf(req), now);
  const identities = await identitiesOf(ctx.sql, [user.id]);
  const body = await tokenResponseBody(
    ctx,
    { ...user, last_sign_in_at: now },
    identities,
    session,
    weakPasswordNotice(params.password),
  );
  return sendJson(body);
}

async function refreshGrant(req: Request, ctx: AuthContext): Promise<Response> {
  const params = await readStruct(req, ctx.maxBodyBytes, RefreshTokenGrantParams);
  const { user, identities, session } = await refreshTokenGrant(ctx, req, params.refresh_token);
  return sendJson(await tokenResponseBody(ctx, user, identities, session));
}

async function pkceGrant(req: Request, ctx: AuthContext): Promise<Response> {
  const params = await readStruct(req, ctx.maxBodyBytes, PKCEGrantParams);
  if (params.auth_code === "" || params.code_verifier === "") {
    throw badRequest(
      "validation_failed",
      "invalid request: both auth code and code verifier should be non-empty",
    );
  }
  throw notFound("flow_state_not_found", "invalid flow state, no valid flow state found");
}

export async function token(req: Request, ctx: AuthContext): Promise<Response> {
  switch (new URL(req.url).searchParams.get("grant_type")) {
    case "password":
      return await passwordGrant(req, ctx);
    case "refresh_token":
      return await refreshGrant(req, ctx);
    case "pkce":
      return await pkceGrant(req, ctx);
    default:
      throw badRequest("invalid_credentials", "unsupported_grant_type");
  }
}
