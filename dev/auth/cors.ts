/**
 * CORS for the local Auth: supabase-js calls `/auth/v1` cross-origin from a browser. The
 * shared headers (supabase/functions/_shared/http/cors.ts) plus what Auth needs beyond the
 * functions: PUT and DELETE (`updateUser`, the admin API), the `X-Supabase-Api-Version` request
 * header, and the response headers auth-js reads (`X-Total-Count`, `Link`, the API version), as
 * GoTrue's own CORS handler allows them. A preflight's requested headers are allowed as asked,
 * as the Supabase CLI's Kong gateway does.
 */
import { CORS_HEADERS } from "../../supabase/functions/_shared/http/cors.ts";

const AUTH_CORS_HEADERS: Readonly<Record<string, string>> = {
  ...CORS_HEADERS,
  "Access-Control-Allow-Headers": `${CORS_HEADERS["Access-Control-Allow-Headers"]}, ` +
    "x-supabase-api-version, x-jwt-aud",
  "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
  "Access-Control-Expose-Headers": `${CORS_HEADERS["Access-Control-Expose-Headers"]}, ` +
    "x-total-count, link, x-supabase-api-version, x-sb-error-code",
};

/** Header names a preflight may ask for: a token list, nothing else. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** The 204 answer to a preflight. */
export function authPreflight(req: Request): Response {
  const response = withAuthCors(new Response(null, { status: 204 }));
  const requested = req.headers.get("access-control-request-headers")?.trim();
  if (requested && requested.length <= 2048 && HEADER_LIST.test(requested)) {
    response.headers.set("Access-Control-Allow-Headers", requested);
  }
  return response;
}

/** Adds the Auth CORS headers to a response, keeping any it already has. */
export function withAuthCors(response: Response): Response {
  for (const [name, value] of Object.entries(AUTH_CORS_HEADERS)) {
    if (!response.headers.has(name)) response.headers.set(name, value);
  }
  return response;
}
