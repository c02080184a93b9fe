/**
 * The limit the routes are measured against: the same SQL each route runs, with no HTTP, no JWT
 * check, no body parsing or validation, no response serialisation. It calls the routes' own
 * database steps (exported for this purpose) inside the same `asUser` transaction, with the same
 * request gate attached as the HTTP pipeline attaches (the rate-limit token take that replaces
 * the claims statement, see http/gate.ts), through a pool like the stack's. So a change to a
 * route's SQL changes its limit too.
 */
import { asUser, type Sql, type UserClaims } from "../../supabase/functions/_shared/db.ts";
import { HttpRequestGate } from "../../supabase/functions/_shared/http/gate.ts";
import { bucketForRoute } from "../../supabase/functions/_shared/http/rate_limit.ts";
import { type DayDoneBody, IntentSyncBody } from "../../supabase/functions/_shared/schemas.ts";
import { completeSession } from "../../supabase/functions/orchestrator/routes/day_done.ts";
import { syncIntent } from "../../supabase/functions/orchestrator/routes/intent_sync.ts";
import { readStatus } from "../../supabase/functions/orchestrator/routes/status.ts";

/** The claims as the pipeline hands them to a handler of `route` (no Idempotency-Key). */
function gated(claims: UserClaims, route: string): UserClaims {
  return new HttpRequestGate({ bucket: bucketForRoute(route), idempotency: null })
    .attachTo(claims);
}

export async function statusSql(sql: Sql, claims: UserClaims): Promise<unknown> {
  return await asUser(sql, gated(claims, "status"), readStatus);
}

export async function dayDoneSql(
  sql: Sql,
  claims: UserClaims,
  body: DayDoneBody,
): Promise<unknown> {
  return await asUser(
    sql,
    gated(claims, "day.done"),
    (tx) => completeSession(tx, claims.sub, body),
  );
}

/** Parses the body as the route does (defaults filled in), once, outside the timed call. */
export function intentBody(raw: unknown): IntentSyncBody {
  return IntentSyncBody.parse(raw);
}

export async function intentSyncSql(
  sql: Sql,
  claims: UserClaims,
  body: IntentSyncBody,
): Promise<unknown> {
  return await asUser(sql, gated(claims, "intent.sync"), (tx) => syncIntent(tx, claims.sub, body));
}
