/** Building responses: JSON bodies with the charset the spec names, and the error body. */
import { ApiError } from "../errors.ts";

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

export function json(body: unknown, status = 200, headers?: HeadersInit): Response {
  const response = new Response(JSON.stringify(body), { status, headers });
  response.headers.set("Content-Type", JSON_CONTENT_TYPE);
  return response;
}

/** `{error, code, details?}`: never a stack trace or SQL. */
export function errorResponse(error: ApiError): Response {
  const body: Record<string, unknown> = { error: error.message, code: error.code };
  if (error.details?.length) body.details = error.details;
  return json(body, error.status, error.headers);
}
