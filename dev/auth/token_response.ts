/**
 * GoTrue's AccessTokenResponse: `{access_token, token_type: "bearer", expires_in, expires_at,
 * refresh_token, user, weak_password?}`, what sign-up, sign-in and refresh answer.
 */
import { signAccessToken } from "./access_tokens.ts";
import type { AuthContext } from "./context.ts";
import type { IdentityRow } from "./identities.ts";
import type { IssuedSession } from "./sessions.ts";
import { serializeUser, type UserRow } from "./users.ts";

export interface WeakPasswordNotice {
  message: string;
  reasons: string[];
}

export async function tokenResponseBody(
  ctx: AuthContext,
  user: UserRow,
  identities: IdentityRow[],
  session: IssuedSession,
  weakPassword: WeakPasswordNotice | null = null,
): Promise<Record<string, unknown>> {
  const now = new Date();
  const { token, expiresAt } = await signAccessToken(
    ctx,
    user,
    session.sessionId,
    session.amr,
    now,
  );
  return {
    access_token: token,
    token_type: "bearer",
    expires_in: expiresAt - Math.floor(now.getTime() / 1000),
    expires_at: expiresAt,
    refresh_token: session.refreshToken,
    user: serializeUser(user, identities),
    ...(weakPassword ? { weak_password: weakPassword } : {}),
  };
}
