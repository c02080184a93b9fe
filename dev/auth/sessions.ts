/**
 * Sessions as Supabase Auth keeps them: an `auth.sessions` row per sign-in, the way the user
 * signed in in `auth.mfa_amr_claims` (the token's `amr`), and a chain of `auth.refresh_tokens`
 * (each rotation revokes the used token and adds its child, `parent` naming it). Deleting the
 * session (sign-out) deletes its refresh tokens and claims by cascade.
 */
import type postgres from "postgres";
import { insertUserQuery, type NewUser, type UserRow } from "./users.ts";

type Queryable = postgres.Sql | postgres.TransactionSql;

/** An entry of the access token's `amr` claim. */
export interface AmrEntry {
  method: string;
  timestamp: number;
}

export interface IssuedSession {
  sessionId: string;
  refreshToken: string;
  amr: AmrEntry[];
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * A refresh token in GoTrue's v1 format: 12 characters of lower-case base32 (crypto.go
 * SecureAlphanumeric), which /token checks (`^[a-z0-9]{12}$`) before any lookup.
 */
export function newRefreshToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (byte) => BASE32[byte & 31]).join("");
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

interface SessionPlan {
  sessionId: string;
  refreshToken: string;
  userId: string;
  method: string;
  userAgent: string | null;
  now: Date;
}

function plan(userId: string, method: string, userAgent: string | null, now: Date): SessionPlan {
  return {
    sessionId: crypto.randomUUID(),
    refreshToken: newRefreshToken(),
    userId,
    method,
    userAgent,
    now,
  };
}

/** CTEs inserting a session, its AMR claim and its first refresh token (named `session`, …). */
function sessionInserts(tx: Queryable, p: SessionPlan) {
  return tx`
    session as (
      insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent)
      values (${p.sessionId}, ${p.userId}, ${p.now}, ${p.now}, 'aal1', ${p.userAgent})
      returning id
    ), claim as (
      insert into auth.mfa_amr_claims (
        id, session_id, created_at, updated_at, authentication_method
      )
      select ${crypto.randomUUID()}, id, ${p.now}, ${p.now}, ${p.method} from session
    ), token as (
      insert into auth.refresh_tokens (
        instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id
      )
      select ${"00000000-0000-0000-0000-000000000000"}, ${p.refreshToken}, ${p.userId}, false,
        ${p.now}, ${p.now}, null, id
      from session
    )
  `;
}

function issued(p: SessionPlan): IssuedSession {
  return {
    sessionId: p.sessionId,
    refreshToken: p.refreshToken,
    amr: [{ method: p.method, timestamp: seconds(p.now) }],
  };
}

/**
 * Starts a session for `userId` signed in by `method` (`password`, `anonymous`), and sets
 * `last_sign_in_at`: one statement, so atomic without a transaction. Data-modifying CTEs share
 * one snapshot and the foreign keys are checked at the statement's end.
 */
export async function issueSession(
  tx: Queryable,
  userId: string,
  method: string,
  userAgent: string | null,
  now: Date,
): Promise<IssuedSession> {
  const p = plan(userId, method, userAgent, now);
  await tx`
    with ${sessionInserts(tx, p)}
    update auth.users set last_sign_in_at = ${now}, updated_at = ${now} where id = ${userId}
  `;
  return issued(p);
}

/** Inserts a new user and its first session in one statement (anonymous sign-in). */
export async function insertUserWithSession(
  tx: Queryable,
  user: NewUser,
  method: string,
  userAgent: string | null,
): Promise<{ user: UserRow; session: IssuedSession }> {
  const p = plan(user.id, method, userAgent, user.now);
  const [row] = await tx<UserRow[]>`
    with new_user as (${insertUserQuery(tx, { ...user, lastSignInAt: user.now })}),
    ${sessionInserts(tx, p)}
    select * from new_user
  `;
  return { user: row, session: issued(p) };
}

/** The session's `amr`, most recent first (GoTrue's CalculateAALAndAMR). */
export async function amrOf(sql: Queryable, sessionId: string): Promise<AmrEntry[]> {
  const rows = await sql<{ authentication_method: string; updated_at: Date }[]>`
    select authentication_method, updated_at from auth.mfa_amr_claims
    where session_id = ${sessionId}
    order by updated_at desc
  `;
  return rows.map((row) => ({
    method: row.authentication_method,
    timestamp: seconds(row.updated_at),
  }));
}

export interface SessionRow {
  id: string;
  user_id: string;
  not_after: Date | null;
}

export async function findSession(sql: Queryable, id: string): Promise<SessionRow | null> {
  const [row] = await sql<SessionRow[]>`
    select id, user_id, not_after from auth.sessions where id = ${id}
  `;
  return row ?? null;
}

/** Sign-out scopes (internal/api/logout.go). */
export type LogoutScope = "global" | "local" | "others";

/**
 * Deletes the sessions `scope` names. Without a session (a token that names none) every session
 * of the user goes, as GoTrue does.
 */
export async function logout(
  sql: Queryable,
  userId: string,
  sessionId: string | null,
  scope: LogoutScope,
): Promise<void> {
  if (sessionId !== null && scope === "local") {
    await sql`delete from auth.sessions where id = ${sessionId}`;
  } else if (sessionId !== null && scope === "others") {
    await sql`delete from auth.sessions where id <> ${sessionId} and user_id = ${userId}`;
  } else {
    await sql`delete from auth.sessions where user_id = ${userId}`;
  }
}
