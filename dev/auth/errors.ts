/**
 * Supabase Auth's (GoTrue's) error responses, as internal/api/errors.go writes them. The body
 * depends on the request's `X-Supabase-Api-Version` (auth-js always sends `2024-01-01`):
 *
 * - 2024-01-01 and later: `{"code": "<error_code>", "message": "…"}`, and the version echoed in
 *   the response's `X-Supabase-Api-Version`, which tells auth-js to read `code` as the code;
 * - none (curl, older clients): `{"code": <HTTP status>, "error_code": "…", "msg": "…"}`.
 *
 * Either way `x-sb-error-code` carries the code, a weak password adds `weak_password.reasons`,
 * and OAuth-style errors (`refresh_token required`) are `{"error", "error_description"}`.
 */

export const API_VERSION_HEADER = "X-Supabase-Api-Version";
const API_VERSION_2024 = "2024-01-01";

/** An error GoTrue answers as an HTTPError: a status, a machine code, a sentence. */
export class AuthError extends Error {
  constructor(
    readonly status: number,
    /** GoTrue's `error_code`; empty means `unknown` (or `unexpected_failure` for a 500). */
    readonly errorCode: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "AuthError";
  }
}

/** A password refused by the strength check: 422 `weak_password` with its reasons. */
export class WeakPasswordError extends AuthError {
  constructor(message: string, readonly reasons: string[]) {
    super(422, "weak_password", message);
    this.name = "WeakPasswordError";
  }
}

/** An OAuth2-style error: always 400 `{error, error_description}`. */
export class OAuthError extends Error {
  constructor(readonly error: string, readonly description: string) {
    super(`${error}: ${description}`);
    this.name = "OAuthError";
  }
}

export const badRequest = (code: string, message: string, options?: ErrorOptions) =>
  new AuthError(400, code, message, options);
export const unauthorized = (code: string, message: string) => new AuthError(401, code, message);
export const forbidden = (code: string, message: string) => new AuthError(403, code, message);
export const notFound = (code: string, message: string) => new AuthError(404, code, message);
export const unprocessable = (code: string, message: string) => new AuthError(422, code, message);

/** GoTrue's DetermineClosestAPIVersion: a `YYYY-MM-DD` at or after 2024-01-01 selects it. */
export function requestsApiVersion2024(req: Request): boolean {
  const value = req.headers.get(API_VERSION_HEADER)?.trim() ?? "";
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const date = new Date(`${value}T00:00:00Z`);
  // A date that does not exist (2024-02-31) is not a version, as Go's time.Parse refuses it.
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) return false;
  return value >= API_VERSION_2024;
}

function json(status: number, body: unknown, headers: Headers): Response {
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers });
}

const UNEXPECTED = "Unexpected failure, please check server logs for more information";

function logUnexpected(error: unknown): void {
  console.error(JSON.stringify({
    level: "error",
    timestamp: new Date().toISOString(),
    component: "local-auth",
    message: "unhandled error",
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  }));
}

function weakPasswordResponse(error: WeakPasswordError, v2024: boolean, headers: Headers) {
  const weak_password = { reasons: error.reasons };
  if (v2024) {
    return json(422, { code: error.errorCode, message: error.message, weak_password }, headers);
  }
  headers.set("x-sb-error-code", error.errorCode);
  const body = { code: 422, error_code: error.errorCode, msg: error.message, weak_password };
  return json(422, body, headers);
}

/** The response GoTrue sends for `error`; anything not an Auth error is a logged 500. */
export function errorResponse(error: unknown, req: Request): Response {
  const v2024 = requestsApiVersion2024(req);
  const headers = new Headers();
  if (v2024) headers.set(API_VERSION_HEADER, API_VERSION_2024);
  if (error instanceof OAuthError) {
    return json(400, { error: error.error, error_description: error.description }, headers);
  }
  if (error instanceof WeakPasswordError) return weakPasswordResponse(error, v2024, headers);
  let authError: AuthError;
  if (error instanceof AuthError) {
    authError = error;
    if (error.errorCode) headers.set("x-sb-error-code", error.errorCode);
  } else {
    logUnexpected(error);
    authError = new AuthError(500, "unexpected_failure", UNEXPECTED, { cause: error });
  }
  const { status, message } = authError;
  const code = authError.errorCode || (status >= 500 ? "unexpected_failure" : "unknown");
  if (v2024) return json(status, { code, message }, headers);
  const body: Record<string, unknown> = { code: status, error_code: code, msg: message };
  if (status >= 500) body.error_id = crypto.randomUUID();
  return json(status, body, headers);
}
