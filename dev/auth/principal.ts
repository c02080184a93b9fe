/**
 * Who calls: GoTrue's requireAuthentication (a user's bearer, whose user and session must
 * exist) and requireAdminCredentials (a bearer whose role is `service_role`: a secret key or the
 * legacy service_role JWT), with GoTrue's codes and messages.
 *
 * One local leniency, for tokens signed with `JWT_SECRET` only (`deno task token`, tests):
 * their `session_id` names no session of this Auth, so it is ignored and the token acts as a
 * session-less one (GoTrue would answer 403 `session_not_found`). Tokens this Auth issued
 * (ES256) whose session is gone — signed out, refreshed away — are refused as GoTrue does.
 */
import type { JWTPayload } from "jose";
import { type BearerClaims, verifyBearer } from "./access_tokens.ts";
import type { AuthContext } from "./context.ts";
import { AuthError, badRequest, forbidden } from "./errors.ts";
import { findSession, type SessionRow } from "./sessions.ts";
import { findUserById, isBanned, type UserRow } from "./users.ts";
import { NIL_UUID, parseUuid } from "./validate.ts";

const BEARER = /^bearer (\S+)$/i;
/** GoTrue's JWT.AdminRoles default. */
const ADMIN_ROLES = ["service_role", "supabase_admin"];

export interface Authenticated {
  user: UserRow;
  /** Null for a token without a (known, see above) session. */
  session: SessionRow | null;
  claims: JWTPayload;
}

function bearerToken(req: Request): string {
  const match = BEARER.exec(req.headers.get("authorization") ?? "");
  if (!match) {
    throw new AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token");
  }
  return match[1];
}

async function sessionOf(
  ctx: AuthContext,
  { claims, source }: BearerClaims,
): Promise<SessionRow | null> {
  const raw = claims.session_id;
  if (raw === undefined || raw === null || raw === "" || raw === NIL_UUID) return null;
  const sessionId = typeof raw === "string" ? parseUuid(raw) : null;
  if (sessionId === null) {
    throw forbidden("bad_jwt", "invalid claim: session_id claim must be a UUID");
  }
  const session = await findSession(ctx.sql, sessionId);
  if (session === null && source !== "hs256") {
    throw forbidden("session_not_found", "Session from session_id claim in JWT does not exist");
  }
  return session;
}

/** The signed-in user behind the request's bearer. */
export async function requireAuthentication(
  req: Request,
  ctx: AuthContext,
): Promise<Authenticated> {
  const verified = await verifyBearer(ctx, bearerToken(req));
  const { sub } = verified.claims;
  if (sub === undefined || sub === "") {
    throw forbidden("bad_jwt", "invalid claim: missing sub claim");
  }
  const userId = parseUuid(sub);
  if (userId === null) throw badRequest("bad_jwt", "invalid claim: sub claim must be a UUID");
  const user = await findUserById(ctx.sql, userId);
  if (user === null) {
    throw forbidden("user_not_found", "User from sub claim in JWT does not exist");
  }
  const session = await sessionOf(ctx, verified);
  if (isBanned(user)) throw forbidden("user_banned", "User is banned");
  return { user, session, claims: verified.claims };
}

/** Returns when the bearer has an admin role; 401/403 otherwise. */
export async function requireAdmin(req: Request, ctx: AuthContext): Promise<void> {
  const { claims } = await verifyBearer(ctx, bearerToken(req));
  if (typeof claims.role !== "string" || !ADMIN_ROLES.includes(claims.role)) {
    throw forbidden("not_admin", "User not allowed");
  }
}
