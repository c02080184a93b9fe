/** JSON responses as GoTrue's sendJSON writes them. */

export function sendJson(body: unknown, status = 200, headers?: HeadersInit): Response {
  const response = new Response(JSON.stringify(body), { status, headers });
  response.headers.set("content-type", "application/json");
  return response;
}

/** The User-Agent a session records, as GoTrue's FillGrantParams takes it. */
export function userAgentOf(req: Request): string | null {
  return req.headers.get("user-agent")?.slice(0, 1024) || null;
}
