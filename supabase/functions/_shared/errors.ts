/**
 * The API's error vocabulary (spec 5.2). Handlers throw `ApiError`; the one error handler turns
 * it into `{error, code, details?}`. Anything else becomes a 500 `INTERNAL` with no detail.
 */

/** Every code the API answers with; the OpenAPI document's `Error.code` lists these. */
export const ERROR_CODES = [
  "INVALID_REQUEST",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "SESSION_NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "NO_ACTIVE_INTENT",
  "IDEMPOTENCY_KEY_IN_USE",
  "IDEMPOTENCY_KEY_REUSED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "REQUEST_TIMEOUT",
  "CLIENT_CLOSED",
  "RATE_LIMITED",
  "DATABASE_UNAVAILABLE",
  "WEBHOOK_URL_REFUSED",
  "INTERNAL",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorDetail {
  path: (string | number)[];
  message: string;
}

export interface ApiErrorOptions {
  details?: ErrorDetail[];
  headers?: HeadersInit;
  cause?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly details?: ErrorDetail[];
  readonly headers?: HeadersInit;

  constructor(status: number, code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export const invalidRequest = (message: string, details?: ErrorDetail[]) =>
  new ApiError(400, "INVALID_REQUEST", message, { details });
export const unauthorized = (message = "A valid bearer token is required.", cause?: unknown) =>
  new ApiError(401, "UNAUTHORIZED", message, { cause, headers: { "WWW-Authenticate": "Bearer" } });
export const forbidden = (message: string) => new ApiError(403, "FORBIDDEN", message);
export const notFound = (message = "No such route.") => new ApiError(404, "NOT_FOUND", message);
export const sessionNotFound = () =>
  new ApiError(404, "SESSION_NOT_FOUND", "No session with that id exists for this user.");
export const methodNotAllowed = (allowed: string[]) =>
  new ApiError(405, "METHOD_NOT_ALLOWED", `Use ${allowed.join(" or ")} for this route.`, {
    headers: { Allow: [...allowed, "OPTIONS"].join(", ") },
  });
export const noActiveIntent = () =>
  new ApiError(409, "NO_ACTIVE_INTENT", "Sync an intent with intent.sync before running a day.");
export const payloadTooLarge = (limit: number) =>
  new ApiError(413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${limit} bytes.`);
export const unsupportedMediaType = () =>
  new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json.");
/** The body did not arrive within the read timeout (body.ts); the connection is closed. */
export const requestTimeout = (timeoutMs: number, cause?: unknown) =>
  new ApiError(
    408,
    "REQUEST_TIMEOUT",
    `The request body did not arrive within ${Math.ceil(timeoutMs / 1000)} s.`,
    { cause, headers: { Connection: "close" } },
  );
/**
 * The client closed (or broke) the connection before its body was complete. Nobody receives
 * the answer; its status, 499 as nginx logs it, only marks the request's log line, which is an
 * info line: a client going away is not a server error.
 */
export const clientClosed = (cause?: unknown) =>
  new ApiError(
    499,
    "CLIENT_CLOSED",
    "The client closed the connection before the request body was complete.",
    { cause },
  );
export const databaseUnavailable = (cause?: unknown, retryAfterS = 5) =>
  new ApiError(503, "DATABASE_UNAVAILABLE", "The database is unavailable; try again shortly.", {
    cause,
    headers: { "Retry-After": String(retryAfterS) },
  });
