/**
 * Which route answers a request method. HEAD is GET without the content (RFC 9110 §9.3.2):
 * every GET route answers HEAD with the same status and headers, `Content-Length` included,
 * and no body, so load balancers and uptime probes can `HEAD health`.
 */

/** What this module needs of a route. */
export interface MethodRoute {
  method: string;
}

/** The route for `method` among a path's routes: its own, GET's for HEAD, else undefined. */
export function routeForMethod<R extends MethodRoute>(candidates: R[], method: string) {
  return candidates.find((r) => r.method === method) ??
    (method === "HEAD" ? candidates.find((r) => r.method === "GET") : undefined);
}

/** The methods a 405's `Allow` lists for a path: its routes', plus HEAD where GET is one. */
export function allowedMethods(candidates: MethodRoute[]): string[] {
  const methods = candidates.map((r) => r.method);
  return methods.includes("GET") && !methods.includes("HEAD") ? [...methods, "HEAD"] : methods;
}

/** The HEAD answer made from a GET answer: same status and headers, no body. */
export async function withoutBody(response: Response): Promise<Response> {
  if (response.body === null) return response;
  const bytes = await response.arrayBuffer();
  const headers = new Headers(response.headers);
  headers.set("Content-Length", String(bytes.byteLength));
  return new Response(null, { status: response.status, headers });
}
