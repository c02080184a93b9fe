/**
 * The refresh-token grant as Supabase Auth runs it (internal/tokens/service.go, refresh tokens
 * v1): the used token is revoked and a child issued in one transaction, with the rows locked so
 * concurrent refreshes of one token line up. A revoked token is refused with
 * `refresh_token_already_used` (and its whole session's tokens revoked) unless it is the parent
 * of the session's active token (the client lost the answer: the active token is handed out
 * again) or was revoked less than the reuse interval ago (GoTrue's
 * `refresh_token_reuse_interval`, the CLI's default 10 s).
 */
import type postgres from "postgres";
import type { AuthContext } from "./context.ts";
import { type AuthError, badRequest } from "./errors.ts";
import { userAgentOf } from "./http.ts";
import { identitiesOf, type IdentityRow } from "./identities.ts";
import { amrOf, type IssuedSession, newRefreshToken } from "./sessions.ts";
import { findUserById, isBanned, type UserRow } from "./users.ts";

const LEGACY_REFRESH_TOKEN = /^[a-z0-9]{12}$/;

interface TokenRow {
  id: string;
  token: string;
  revoked: boolean;
  updated_at: Date;
  user_id: string;
  session_id: string | null;
  not_after: Date | null;
  session_exists: boolean;
}

export interface Refreshed {
  user: UserRow;
  identities: IdentityRow[];
  session: IssuedSession;
}

type Outcome = { error: AuthError } | { refreshed: Refreshed };

const fail = (code: string, message: string): Outcome => ({ error: badRequest(code, message) });

async function lockToken(tx: postgres.TransactionSql, token: string): Promise<TokenRow | null> {
  const [row] = await tx<TokenRow[]>`
    select t.id::text as id, t.token, t.revoked, t.updated_at, t.user_id, t.session_id,
      s.not_after, s.id is not null as session_exists
    from auth.refresh_tokens t left join auth.sessions s on s.id = t.session_id
    where t.token = ${token}
    for update of t
  `;
  return row ?? null;
}

/** What a revoked token gets: the active token again, a new rotation, or a refusal. */
type Reuse = { active: string } | { rotate: true } | { refuse: Outcome };

async function reuseOfRevoked(
  tx: postgres.TransactionSql,
  ctx: AuthContext,
  row: TokenRow,
  now: Date,
): Promise<Reuse> {
  const [active] = await tx<{ token: string; parent: string | null }[]>`
    select token, parent from auth.refresh_tokens
    where session_id = ${row.session_id} and revoked = false
    order by id desc limit 1
  `;
  if (active && active.parent === row.token) return { active: active.token };
  const reuseUntil = row.updated_at.getTime() + ctx.refreshTokenReuseInterval * 1000;
  if (now.getTime() <= reuseUntil) return { rotate: true };
  // Reuse outside the interval looks like a stolen token: the whole session's chain goes.
  await tx`
    update auth.refresh_tokens set revoked = true, updated_at = ${now}
    where session_id = ${row.session_id} and revoked = false
  `;
  return { refuse: fail("refresh_token_already_used", "Invalid Refresh Token: Already Used") };
}

/** Revokes `row` and issues its child in the same session. */
async function rotate(tx: postgres.TransactionSql, row: TokenRow, now: Date): Promise<string> {
  const child = newRefreshToken();
  await tx`
    with revoked as (
      update auth.refresh_tokens set revoked = true, updated_at = ${now} where id = ${row.id}
    ), issued as (
      insert into auth.refresh_tokens (
        instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id
      ) values (
        ${"00000000-0000-0000-0000-000000000000"}, ${child}, ${row.user_id}, false, ${now},
        ${now}, ${row.token}, ${row.session_id}
      )
    )
    update auth.users set last_sign_in_at = ${now} where id = ${row.user_id}
  `;
  return child;
}

async function refreshLocked(
  tx: postgres.TransactionSql,
  ctx: AuthContext,
  token: string,
  req: Request,
  now: Date,
): Promise<Outcome> {
  const row = await lockToken(tx, token);
  const user = row ? await findUserById(tx, row.user_id) : null;
  if (!row || !user) {
    return fail("refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
  }
  if (isBanned(user, now)) return fail("user_banned", "Invalid Refresh Token: User Banned");
  if (!row.session_exists || row.session_id === null) {
    await tx`delete from auth.refresh_tokens where id = ${row.id}`;
    return fail("session_not_found", "Invalid Refresh Token: No Valid Session Found");
  }
  if (row.not_after !== null && row.not_after.getTime() <= now.getTime()) {
    return fail("session_expired", "Invalid Refresh Token: Session Expired");
  }
  const reuse: Reuse = row.revoked ? await reuseOfRevoked(tx, ctx, row, now) : { rotate: true };
  if ("refuse" in reuse) return reuse.refuse;
  const rotated = "rotate" in reuse;
  const issued = "active" in reuse ? reuse.active : await rotate(tx, row, now);
  await tx`
    update auth.sessions
    set refreshed_at = ${now}, updated_at = ${now}, user_agent = ${userAgentOf(req)}
    where id = ${row.session_id}
  `;
  const amr = await amrOf(tx, row.session_id);
  const identities = await identitiesOf(tx, [user.id]);
  return {
    refreshed: {
      user: rotated ? { ...user, last_sign_in_at: now } : user,
      identities,
      session: { sessionId: row.session_id, refreshToken: issued, amr },
    },
  };
}

/** Exchanges a refresh token for a new session state, or throws GoTrue's 400. */
export async function refreshTokenGrant(
  ctx: AuthContext,
  req: Request,
  token: string,
): Promise<Refreshed> {
  if (!LEGACY_REFRESH_TOKEN.test(token)) {
    throw badRequest("validation_failed", "Refresh token is not valid");
  }
  const now = new Date();
  // A refusal that revoked tokens is committed before it is reported (GoTrue's
  // NewCommitWithError), so the outcome leaves the transaction as a value.
  const outcome = await ctx.sql.begin((tx) => refreshLocked(tx, ctx, token, req, now));
  if ("error" in outcome) throw outcome.error;
  return outcome.refreshed;
}
