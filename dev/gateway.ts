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
 * `/functions/v1/`, answers 404 `{"error": "Function not found", "code": "NOT_FOUND"}`.
 */
export function createGateway(
  functions: Record<string, FetchHandler>,
  options: GatewayOptions = {},
): FetchHandler {
  const { onError = defaultOnError } = options;
  // A Map, so a name such as `constructor` cannot reach Object.prototype.
  const byName = new Map(Object.entries(functions));

  async function fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/" && (req.method === "GET" || req.method === "HEAD")) {
      return jsonResponse(200, { functions: [...byName.keys()].sort() });
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
    const forwarded = new Request(forwardedUrl, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: req.signal,
      redirect: req.redirect,
    });
    try {
      return await target.fetch(forwarded);
    } catch (error) {
      onError(error, name);
      return jsonResponse(500, { error: "The function failed to answer.", code: "INTERNAL" });
    }
  }

  return { fetch };
}
