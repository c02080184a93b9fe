/**
 * The API gateway's key check in front of Auth: every request carries a project API key in the
 * `apikey` header (or `?apikey=`), compared in constant time (dev/keys.ts). Refusals use the
 * hosted gateway's shape, `{"message", "hint"}` with 401, which auth-js raises as an
 * `AuthApiError` with that message and no code:
 *
 * - no key: "No API key found in request";
 * - a key that is none of the stack's: "Invalid API key".
 *
 * As on Supabase, a few paths are open without a key: the redirect targets of e-mail links and
 * OAuth (`/verify`, `/callback`, `/authorize`, which a browser opens directly) and the public
 * signing keys (`/.well-known/…`, fetched by JWT verifiers that hold no key); and preflights.
 */
import { type ApiKeySet, classifyApiKey } from "../keys.ts";

const OPEN_PATHS = ["/verify", "/callback", "/authorize"];

function isOpen(path: string): boolean {
  if (path.startsWith("/.well-known/")) return true;
  return OPEN_PATHS.some((open) => path === open || path.startsWith(`${open}/`));
}

function refusal(message: string, hint: string): Response {
  return Response.json({ message, hint }, { status: 401 });
}

/** The key the request presents: the `apikey` header, else the `apikey` query parameter. */
export function presentedApiKey(req: Request, url: URL): string | null {
  return req.headers.get("apikey")?.trim() || url.searchParams.get("apikey")?.trim() || null;
}

/** Null when the request may go on to Auth, else the gateway's 401. */
export function checkApiKey(
  req: Request,
  url: URL,
  path: string,
  keys: ApiKeySet,
): Response | null {
  if (isOpen(path)) return null;
  const key = presentedApiKey(req, url);
  if (key === null) {
    return refusal(
      "No API key found in request",
      "No `apikey` request header or url param was found.",
    );
  }
  if (classifyApiKey(key, keys) === null) {
    return refusal(
      "Invalid API key",
      "Double check your Supabase `anon` or `service_role` API key.",
    );
  }
  return null;
}
