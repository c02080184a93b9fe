/**
 * The one place an error becomes a response: an ApiError as itself, a stored Idempotency-Key
 * answer as its replay, an unreachable database as 503, anything else as a 500 that says
 * nothing of what failed (the log line keeps its name and codes, never its message).
 */
import { isDatabaseUnavailable } from "../db.ts";
import { ApiError, databaseUnavailable } from "../errors.ts";
import type { LogFields, Logger } from "../log.ts";
import { IdempotentReplay } from "./idempotency_errors.ts";
import { errorResponse } from "./respond.ts";

/** The response for `error`; notes it in the request's log fields. */
export function responseForError(
  error: unknown,
  ctx: { log: Logger; logFields: LogFields },
): Response {
  if (error instanceof IdempotentReplay) {
    ctx.logFields.idempotency = "replayed";
    return error.response();
  }
  const apiError = toApiError(error, ctx.log, ctx.logFields);
  ctx.logFields.code = apiError.code;
  return errorResponse(apiError);
}

function toApiError(error: unknown, log: Logger, fields: LogFields): ApiError {
  if (error instanceof ApiError) return error;
  if (isDatabaseUnavailable(error)) {
    log.warn("db.unavailable", { ...fields, error_name: errorName(error), ...errorCode(error) });
    return databaseUnavailable(error);
  }
  log.error("request.failed", { ...fields, error_name: errorName(error), ...errorCode(error) });
  return new ApiError(500, "INTERNAL", "Something went wrong on our side.", { cause: error });
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * A SQLSTATE, driver code or constraint name is safe to log; a message may contain user text,
 * so never that.
 */
function errorCode(error: unknown): LogFields {
  const fields: LogFields = {};
  if (typeof error === "object" && error !== null) {
    if ("code" in error) fields.error_code = String(error.code);
    if ("constraint_name" in error && typeof error.constraint_name === "string") {
      fields.constraint = error.constraint_name;
    }
  }
  return fields;
}
