/**
 * The routes' own database steps without HTTP: no JWT check, no body parsing or validation, no
 * response serialisation. Each calls the route's exported step inside the same user transaction
 * the pipeline opens (`userDb` with the same request gate: the rate-limit token take that stands
 * in for the claims statement, see http/gate.ts), so a change to a route's SQL changes what the
 * benchmark runs, through postgres.js and, recorded, through pgbench (pgbench.ts).
 */
import type { Sql, UserClaims } from "../../supabase/functions/_shared/db.ts";
import { HttpRequestGate } from "../../supabase/functions/_shared/http/gate.ts";
import { bucketForRoute } from "../../supabase/functions/_shared/http/rate_limit.ts";
import { type DayDoneBody, IntentSyncBody } from "../../supabase/functions/_shared/schemas.ts";
import { userDb } from "../../supabase/functions/_shared/user_db.ts";
import { completeSession } from "../../supabase/functions/orchestrator/routes/day_done.ts";
import { syncIntent } from "../../supabase/functions/orchestrator/routes/intent_sync.ts";
import { readStatus } from "../../supabase/functions/orchestrator/routes/status.ts";

/** A user request's transactions as the pipeline opens them for `route` (no Idempotency-Key). */
function requestDb(sql: Sql, claims: UserClaims, route: string) {
  const gate = new HttpRequestGate({ bucket: bucketForRoute(route), idempotency: null });
  return userDb(sql, claims, gate);
}

export function statusSql(sql: Sql, claims: UserClaims): Promise<unknown> {
  return requestDb(sql, claims, "status").transaction(readStatus);
}

export function dayDoneSql(sql: Sql, claims: UserClaims, body: DayDoneBody): Promise<unknown> {
  return requestDb(sql, claims, "day.done")
    .transaction((tx) => completeSession(tx, claims.sub, body));
}

/** Parses the body as the route does (defaults filled in), once, outside the timed call. */
export function intentBody(raw: unknown): IntentSyncBody {
  return IntentSyncBody.parse(raw);
}

export function intentSyncSql(sql: Sql, claims: UserClaims, body: IntentSyncBody) {
  return requestDb(sql, claims, "intent.sync")
    .transaction((tx) => syncIntent(tx, claims.sub, body));
}
