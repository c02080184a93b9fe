/**
 * Private channel authorization as Supabase Realtime does it (Realtime.Tenants.Authorization):
 * RLS policies on `realtime.messages` decide, evaluated in a transaction that is always rolled
 * back, as the token's role with its claims and `realtime.topic` set to the channel name.
 *
 * - read (at join, and again on a new access token): a probe row for the topic with
 *   `extension = 'broadcast'` is inserted as the admin, then selected as the user; read is
 *   allowed when the user's SELECT sees it.
 * - write (before a private channel's first client broadcast): the user inserts a row for the
 *   topic; allowed unless RLS refuses it (insufficient_privilege, 42501).
 */
import type postgres from "postgres";
import type { ConfirmedToken } from "./tokens.ts";

export interface AuthorizationContext {
  /** The channel name: the topic without `realtime:`. */
  topic: string;
  token: ConfirmedToken;
  /** The `x-*` headers of the connection request (`request.headers`, as Realtime sets). */
  headers: Record<string, string>;
}

/** Realtime's words for a refused read (at join, and when a new token loses the right). */
export function unauthorizedRead(name: string): string {
  return `You do not have permissions to read from this Channel topic: ${name}`;
}

export const UNABLE_TO_CONNECT = "Realtime was unable to connect to the project database";

export type PolicyResult =
  | { ok: true; allowed: boolean }
  /** `database`: Postgres answered with an error; `unavailable`: it could not be reached. */
  | { ok: false; reason: "database" | "unavailable"; error: unknown };

/** Thrown to roll the check's transaction back while carrying its answer out. */
class Rollback {
  constructor(readonly allowed: boolean) {}
}

const INSUFFICIENT_PRIVILEGE = "42501";

function sqlState(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

/** postgres.js names its own failures (CONNECTION_CLOSED, …); Postgres' codes are 5 chars. */
function isDatabaseError(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code);
}

async function setConnConfig(tx: postgres.TransactionSql, context: AuthorizationContext) {
  const { topic, token, headers } = context;
  const sub = typeof token.claims.sub === "string" ? token.claims.sub : "";
  await tx`
    select
      set_config('role', ${token.role}, true),
      set_config('realtime.topic', ${topic}, true),
      set_config('request.jwt.claims', ${JSON.stringify(token.claims)}, true),
      set_config('request.jwt.claim.sub', ${sub}, true),
      set_config('request.jwt.claim.role', ${token.role}, true),
      set_config('request.headers', ${JSON.stringify(headers)}, true)
  `;
}

async function rolledBack(
  sql: postgres.Sql,
  check: (tx: postgres.TransactionSql) => Promise<boolean>,
): Promise<PolicyResult> {
  try {
    await sql.begin(async (tx) => {
      throw new Rollback(await check(tx));
    });
    return { ok: false, reason: "database", error: new Error("The check did not roll back.") };
  } catch (error) {
    if (error instanceof Rollback) return { ok: true, allowed: error.allowed };
    return { ok: false, reason: isDatabaseError(error) ? "database" : "unavailable", error };
  }
}

/** May `context.token` read broadcasts on `context.topic`? */
export function checkRead(sql: postgres.Sql, context: AuthorizationContext): Promise<PolicyResult> {
  return rolledBack(sql, async (tx) => {
    const probeId = crypto.randomUUID();
    await tx`
      insert into realtime.messages (id, topic, extension)
      values (${probeId}, ${context.topic}, 'broadcast')
    `;
    await setConnConfig(tx, context);
    const seen = await tx`select id from realtime.messages where id = ${probeId}`;
    return seen.length > 0;
  });
}

/** May `context.token` send broadcasts on `context.topic`? */
export function checkWrite(
  sql: postgres.Sql,
  context: AuthorizationContext,
): Promise<PolicyResult> {
  return rolledBack(sql, async (tx) => {
    await setConnConfig(tx, context);
    try {
      await tx.savepoint((sp) =>
        sp`insert into realtime.messages (topic, extension) values (${context.topic}, 'broadcast')`
      );
      return true;
    } catch (error) {
      if (sqlState(error) === INSUFFICIENT_PRIVILEGE) return false;
      throw error;
    }
  });
}
