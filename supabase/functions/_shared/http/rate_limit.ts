/**
 * Per-user rate limits (spec 9): one token bucket per (user, bucket) in `wisely.rate_limits`,
 * refilled continuously, taken atomically by one SQL function (`wisely.take_token`, migration
 * 20260101000400). Only the pool's own role may call it (migration 20260101000600): users have
 * no write access to their buckets, so a database session cannot refill or corrupt them.
 *
 * - `day.run` draws on `day_run` (`rate.day_run`: 10 burst, 1 per 30 s); every other user
 *   route on `default` (`rate.default`: 60 burst, 1 per second). Both are read from
 *   `wisely.settings` on every take, so a change applies to the next request.
 * - `health` and `OPTIONS` are never limited (no user). Service-only routes (`day.tick`,
 *   `metrics`) are not limited either: the caller is our own operator or scheduler, there is no
 *   user bucket to charge, and day.tick bounds its own work (`tick.batch_size`).
 * - A request is charged by its first database statement (see http/gate.ts): refused requests
 *   change nothing; a request answered before it reaches the database (400, 413, 415, auth
 *   failures) costs no shared resource and is not charged.
 */
import postgres from "postgres";
import { constraintName, type Sql, sqlState, type Tx } from "../db.ts";
import { ApiError, unauthorized } from "../errors.ts";
import { parseSettings, type TokenBucketSetting } from "../settings.ts";

export type RateBucket = "day_run" | "default";

const BUILT_IN = parseSettings([]);

/** The built-in bucket settings, used when the `rate.<bucket>` row is missing or malformed. */
export const BUCKET_DEFAULTS: Readonly<Record<RateBucket, TokenBucketSetting>> = {
  day_run: BUILT_IN.dayRunRate,
  default: BUILT_IN.defaultRate,
};

/** The bucket a user route draws on (spec 9). */
export function bucketForRoute(path: string): RateBucket {
  return path === "day.run" ? "day_run" : "default";
}

/** 429 with `Retry-After`: whole seconds until one token is available (at least 1). */
export function rateLimited(retryAfterS: number): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterS));
  return new ApiError(
    429,
    "RATE_LIMITED",
    `Too many requests; try again in ${seconds} second${seconds === 1 ? "" : "s"}.`,
    { headers: { "Retry-After": String(seconds) } },
  );
}

/**
 * A valid token for a user who is not (or no longer) in auth.users: their bucket or key row
 * cannot reference them. 401, as intent.sync answers it, rather than a 500.
 */
export function accountMissing(error: unknown): unknown {
  const constraint = constraintName(error) ?? "";
  if (sqlState(error) === "23503" && constraint.endsWith("_user_id_fkey")) {
    return unauthorized("This account does not exist.", error);
  }
  return error;
}

/**
 * As `beginRequest`, as the first statement of a transaction whose next statements are sent
 * right behind it, pipelined (http/gate.ts, user_db.ts): a refusal raises in the database
 * (`wisely.enter_request`, SQLSTATE WR429 with the wait in DETAIL, migration 20260101001300),
 * which aborts the transaction so nothing sent behind it runs, and rejects here with the 429.
 * The statement is sent when this is called.
 */
export async function enterRequest(tx: Tx, claimsJson: string, bucket: RateBucket) {
  const { burst, refill_per_s } = BUCKET_DEFAULTS[bucket];
  try {
    // `execute` hands the query to the connection now: a bare `await` would do it a microtask
    // later, behind statements the caller sends right after this call.
    await tx`select wisely.enter_request(${claimsJson}, ${bucket}, ${burst}, ${refill_per_s})`
      .execute();
  } catch (error) {
    if (sqlState(error) === "WR429") throw rateLimited(waitOf(error));
    throw accountMissing(error);
  }
}

/** The seconds to wait a WR429 refusal carries in its DETAIL (at least 1). */
function waitOf(error: unknown): number {
  const detail = error instanceof postgres.PostgresError ? Number(error.detail) : NaN;
  return Number.isFinite(detail) && detail > 0 ? detail : 1;
}

/**
 * Sets the user's claims and role (as asUser does) and takes a token from `bucket`, in one
 * statement. Inside a transaction it is that transaction's first statement; on the pool alone
 * it is one autocommit statement whose settings end with it. Resolves to 0 when a token was
 * taken, else the seconds to wait (the bucket is then unchanged).
 */
export async function beginRequest(
  sql: Sql | Tx,
  claimsJson: string,
  bucket: RateBucket,
): Promise<number> {
  const { burst, refill_per_s } = BUCKET_DEFAULTS[bucket];
  try {
    const [row] = await sql<{ wait: number }[]>`
      select wisely.begin_request(${claimsJson}, ${bucket}, ${burst}, ${refill_per_s}) as wait
    `;
    return row.wait;
  } catch (error) {
    throw accountMissing(error);
  }
}
