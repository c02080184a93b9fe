/**
 * The local stand-in for Supabase's functions gateway: `/functions/v1/<name>/<subpath>?query`
 * reaches function `<name>` as `/<name>/<subpath>?query`, which is the path a deployed function
 * sees. Requests and responses are passed on as streams, never buffered, so Server-Sent Events
 * and large bodies behave as they do behind the real gateway.
 */

/** Anything that answers HTTP requests: an app built by `createOrchestrator`, an agent, … */
export interface FetchHandler {
  fetch(req: Request): Promise<Response>;
}

export interface GatewayOptions {
  /**
   * Called when a function throws instead of answering; the client gets a 500. Default: logs
   * one JSON line to stderr, as a deployed function's crash shows up in Supabase's logs.
   */
  onError?: (error: unknown, functionName: string) => void;
  /**
   * Services mounted beside the functions, by path prefix (`/auth/v1`, `/realtime/v1`), as
   * Supabase's API gateway routes them. A mounted service gets the request exactly as sent
   * (same object, so a WebSocket upgrade works) and answers everything under its prefix.
   * Default: none.
   */
  mounts?: Record<string, FetchHandler>;
}

import { withCors } from "../supabase/functions/_shared/http/cors.ts";

const PREFIX = "/functions/v1/";

/** The gateway's own answers carry CORS headers too, so browsers can read them. */
function jsonResponse(status: number, body: unknown): Response {
  return withCors(
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json; charset=utf-8" },
    }),
  );
}

function notFound(): Response {
  return jsonResponse(404, { error: "Function not found", code: "NOT_FOUND" });
}

/** The methods the gateway passes on; a function answers 405 itself for what its route lacks. */
const SERVED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/**
 * Methods a `Request` cannot carry (the Fetch standard's forbidden methods), so there is nothing
 * to pass on: answered here, as JSON like every other gateway answer, not as a crash.
 */
const UNFORWARDABLE_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

function methodNotAllowed(): Response {
  const response = jsonResponse(405, {
    error: `Use one of ${SERVED_METHODS.join(", ")}.`,
    code: "METHOD_NOT_ALLOWED",
  });
  response.headers.set("Allow", SERVED_METHODS.join(", "));
  return response;
}

function defaultOnError(error: unknown, functionName: string): void {
  console.error(JSON.stringify({
    level: "error",
    timestamp: new Date().toISOString(),
    function: functionName,
    message: "function threw instead of answering",
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  }));
}

/**
 * Builds a gateway in front of `functions`, keyed by function name (`orchestrator`,
 * `agent-clo`, …). `GET /` lists the functions; any unknown function, and anything else outside
 * `/functions/v1/`, answers 404 `{"error": "Function not found", "code": "NOT_FOUND"}`. A method
 * no `Request` can carry (`TRACE`, `CONNECT`, `TRACK`) is a JSON 405 `METHOD_NOT_ALLOWED`.
 */
export function createGateway(
  functions: Record<string, FetchHandler>,
  options: GatewayOptions = {},
): FetchHandler {
  const { onError = defaultOnError } = options;
  const mounts = Object.entries(options.mounts ?? {});
  // A Map, so a name such as `constructor` cannot reach Object.prototype.
  const byName = new Map(Object.entries(functions));

  async function fetch(req: Request): Promise<Response> {
    if (UNFORWARDABLE_METHODS.has(req.method.toUpperCase())) return methodNotAllowed();
    const url = new URL(req.url);
    if (url.pathname === "/" && (req.method === "GET" || req.method === "HEAD")) {
      return jsonResponse(200, { functions: [...byName.keys()].sort() });
    }
    for (const [prefix, service] of mounts) {
      if (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)) {
        return await service.fetch(req);
      }
    }
    if (!url.pathname.startsWith(PREFIX)) return notFound();

    const rest = url.pathname.slice(PREFIX.length);
    const slash = rest.indexOf("/");
    const name = slash === -1 ? rest : rest.slice(0, slash);
    const target = byName.get(name);
    if (!name || !target) return notFound();

    // Same URL minus the `/functions/v1` prefix: subpath, trailing slash and query kept as sent.
    const forwardedUrl = new URL(url);
    forwardedUrl.pathname = `/${rest}`;
    try {
      const forwarded = new Request(forwardedUrl, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
        redirect: req.redirect,
      });
      return await target.fetch(forwarded);
    } catch (error) {
      onError(error, name);
      return jsonResponse(500, { error: "The function failed to answer.", code: "INTERNAL" });
    }
  }

  return { fetch };
}
