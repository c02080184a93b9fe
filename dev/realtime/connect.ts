/**
 * The WebSocket handshake, as Phoenix's WebSocket transport and RealtimeWeb.UserSocket answer
 * it before any upgrade:
 *
 * - not a GET: 400, empty body;
 * - `vsn` (default 1.0.0) matching neither `~> 1.0.0` nor `~> 2.0.0`: 403, empty body;
 * - no `apikey` (query) or `x-api-key` (header): 401 `{"error": "API key is missing"}`;
 * - a key that is none of the stack's keys and no valid JWT: 401 with Realtime's text
 *   (`The token provided is not a valid JWT`, `Token has expired`, …);
 * - not a WebSocket upgrade: 400 with a sentence.
 */
import type { Vsn } from "./serializer.ts";
import { type ConfirmedToken, connectFailureMessage, type TokenConfirmer } from "./tokens.ts";

export interface Connection {
  vsn: Vsn;
  /** The confirmed `apikey`: the token of channels that join without one of their own. */
  tenantToken: ConfirmedToken;
  /** The request's `x-*` headers (Realtime's `x_headers` connect info). */
  headers: Record<string, string>;
}

export type ConnectResult = { ok: true; connection: Connection } | {
  ok: false;
  response: Response;
};

function refuse(status: number, error?: string): ConnectResult {
  const response = error === undefined
    ? new Response(null, { status })
    : new Response(JSON.stringify({ error }), {
      status,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  return { ok: false, response };
}

/** Phoenix's serializer negotiation: `Version.match?(vsn, "~> 1.0.0" | "~> 2.0.0")`. */
export function negotiateVsn(vsn: string | null): Vsn | null {
  const asked = vsn ?? "1.0.0";
  if (/^1\.0\.\d+$/.test(asked)) return "1.0.0";
  if (/^2\.0\.\d+$/.test(asked)) return "2.0.0";
  return null;
}

function xHeaders(req: Request): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of req.headers) {
    if (name.startsWith("x-") && name !== "x-api-key") headers[name] = value;
  }
  return headers;
}

/** Checks a handshake request; the caller upgrades when it is accepted. */
export async function connect(req: Request, confirmer: TokenConfirmer): Promise<ConnectResult> {
  if (req.method !== "GET") return refuse(400);
  const url = new URL(req.url);
  const vsn = negotiateVsn(url.searchParams.get("vsn"));
  if (vsn === null) return refuse(403);
  const apiKey = req.headers.get("x-api-key") ?? url.searchParams.get("apikey");
  if (apiKey === null) return refuse(401, "API key is missing");
  const confirmed = await confirmer.confirm(apiKey);
  if (!confirmed.ok) return refuse(401, connectFailureMessage(confirmed.failure));
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return refuse(400, "Expected a WebSocket upgrade request.");
  }
  return { ok: true, connection: { vsn, tenantToken: confirmed.token, headers: xHeaders(req) } };
}
