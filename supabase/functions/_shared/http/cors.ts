/**
 * CORS for browser callers (supabase-js): one definition for every route and function.
 *
 * The allowed request headers are supabase-js's own list (`@supabase/supabase-js/cors`, kept in
 * sync by Supabase with what its clients send: authorization, x-client-info, apikey,
 * content-type, x-retry-count, traceparent, tracestate, baggage) plus the ones this API adds or
 * that the SDK sends outside that list: `x-region` (functions-js, regional invocation),
 * `accept` (SSE, CSV), `idempotency-key`, `x-user-id` and `traceparent`.
 */
import { corsHeaders as supabaseCorsHeaders } from "@supabase/supabase-js/cors";

/** Request headers of this API beyond supabase-js's list. */
export const API_REQUEST_HEADERS = [
  "x-region",
  "accept",
  "idempotency-key",
  "x-user-id",
  "traceparent",
] as const;

/** supabase-js's list, then ours, lowercase, each once. */
function allowedHeaders(): string {
  const sdk = (supabaseCorsHeaders["Access-Control-Allow-Headers"] ?? "").split(",");
  const names = [...sdk, ...API_REQUEST_HEADERS].map((name) => name.trim().toLowerCase());
  return [...new Set(names.filter((name) => name !== ""))].join(", ");
}

export const CORS_HEADERS: Readonly<Record<string, string>> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": allowedHeaders(),
  "Access-Control-Allow-Methods": "GET, HEAD, POST, DELETE, OPTIONS",
  "Access-Control-Expose-Headers":
    "retry-after, x-trace-id, x-next-cursor, idempotent-replayed, etag",
  "Access-Control-Max-Age": "86400",
};

/** The 204 answer to a preflight request. */
export function preflight(): Response {
  return new Response(null, { status: 204, headers: CORS_HEADERS });
}

/** Adds the CORS headers to a response, whoever built it. */
export function withCors(response: Response): Response {
  for (const [name, value] of Object.entries(CORS_HEADERS)) {
    if (!response.headers.has(name)) response.headers.set(name, value);
  }
  return response;
}
