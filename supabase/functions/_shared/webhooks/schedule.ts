/**
 * The retry schedule of a webhook delivery (spec 12), as pure arithmetic: after the n-th failed
 * attempt since it was queued, a delivery waits `schedule[n - 1]` seconds; once every wait is
 * used it is failed. An endpoint whose deliveries have failed with no success for
 * `disableAfterS` (3 days) is disabled.
 */

/** Seconds before each retry: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (7 attempts in all). */
export const DEFAULT_RETRY_SCHEDULE_S: readonly number[] = [5, 300, 1800, 7200, 18000, 36000];

/** Three days of failures with no success since disable an endpoint. */
export const DEFAULT_DISABLE_AFTER_S = 3 * 24 * 3600;

/** What follows a failed attempt: a retry at `retryAt`, or the delivery has failed. */
export type AfterFailure =
  | { state: "pending"; retryAt: Date }
  | { state: "failed" };

/**
 * `failures`: failed attempts since the delivery was queued, this one included (1 after the
 * first failure).
 */
export function afterFailure(
  failures: number,
  failedAt: Date,
  schedule: readonly number[] = DEFAULT_RETRY_SCHEDULE_S,
): AfterFailure {
  if (failures < 1 || failures > schedule.length) return { state: "failed" };
  return {
    state: "pending",
    retryAt: new Date(failedAt.getTime() + schedule[failures - 1] * 1000),
  };
}

/** True when an endpoint failing since `failingSince` (null: not failing) is to be disabled. */
export function shouldDisable(
  failingSince: Date | null,
  now: Date,
  disableAfterS: number = DEFAULT_DISABLE_AFTER_S,
): boolean {
  return failingSince !== null && now.getTime() - failingSince.getTime() >= disableAfterS * 1000;
}
