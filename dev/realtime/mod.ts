/**
 * The local stack's Realtime (spec 4): broadcast over the Phoenix channel protocol at
 * `/realtime/v1/websocket`, as `@supabase/realtime-js` 2.119.0 speaks it and Supabase
 * Realtime answers it.
 *
 * - connect.ts: the handshake (vsn, apikey); socket.ts: one connection's routing; join.ts
 *   (with join_payload.ts): admitting a join; channel.ts: broadcast, access_token, token
 *   expiry; authorization.ts: RLS checks of private channels; tokens.ts: API keys and JWTs;
 *   serializer.ts: the 1.0.0 and 2.0.0 wire formats; hub.ts: topics and fan-out.
 * - delivery_listen.ts (Postgres, LISTEN/NOTIFY) and delivery_poll.ts (PGlite, a sequence):
 *   every row `realtime.send` inserts reaches the topic's subscribers in commit order.
 *
 * Broadcast only: a join asking for presence or postgres_changes is refused with a reason.
 */
import type postgres from "postgres";
import type { FetchHandler } from "../gateway.ts";
import type { ApiKeySet } from "../keys.ts";
import type { TokenVerifier } from "../../supabase/functions/_shared/auth.ts";
import { connect } from "./connect.ts";
import { createDeliver, type Delivery } from "./delivery.ts";
import { startListenDelivery } from "./delivery_listen.ts";
import { startPollDelivery } from "./delivery_poll.ts";
import { Hub } from "./hub.ts";
import { defaultRealtimeLog, type RealtimeLog } from "./log.ts";
import { RealtimeSocket } from "./socket.ts";
import { createTokenConfirmer } from "./tokens.ts";

export type { RealtimeLog, RealtimeLogEntry } from "./log.ts";

export interface LocalRealtimeOptions {
  /** The stack's admin pool (bootstrapped and migrated). */
  sql: postgres.Sql;
  /** Which database the pool talks to: delivery differs (LISTEN/NOTIFY or polling). */
  kind: "postgres" | "pglite";
  /** Verifies access tokens (ES256 from the local Auth, legacy HS256). */
  verifier: TokenVerifier;
  /** API keys accepted as `apikey` and as access tokens (publishable: anon; secret: service). */
  keys: ApiKeySet;
  /** Largest WebSocket frame accepted; a larger one closes the socket with 1009. @default 1 MiB */
  maxFrameBytes?: number;
  /** PGlite polling period while anyone is subscribed, in ms. @default 25 */
  pollIntervalMs?: number;
  /** Where log entries go. @default errors as JSON lines on stderr */
  log?: RealtimeLog;
}

export interface LocalRealtime extends FetchHandler {
  /** Closes every socket and stops delivery. Safe to call twice. */
  stop(): Promise<void>;
}

const WEBSOCKET_PATH = /^\/realtime\/v1\/websocket\/?$/;
const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** How long stop() waits for clients to answer the close handshake. */
const CLOSE_WAIT_MS = 2_000;

function notFound(): Response {
  return Response.json({ error: "Not found" }, { status: 404 });
}

/** A client asking for Phoenix's subprotocol gets it echoed, or a browser would drop us. */
function subprotocol(req: Request): string | undefined {
  const asked = req.headers.get("sec-websocket-protocol");
  return asked?.split(",").map((p) => p.trim()).includes("phoenix") ? "phoenix" : undefined;
}

async function waitAll(promises: Promise<void>[], ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  await Promise.race([Promise.all(promises), timeout]);
  clearTimeout(timer);
}

/** A database bootstrapped before this server existed (or not at all) delivers nothing: say so. */
async function checkBootstrap(sql: postgres.Sql, log: RealtimeLog): Promise<void> {
  try {
    const [row] = await sql`
      select exists (
        select 1 from pg_trigger
        where tgname = 'local_notify_message' and tgrelid = 'realtime.messages'::regclass
      ) as ready
    `;
    if (row.ready) return;
  } catch {
    // No realtime.messages at all: the same advice.
  }
  log({
    level: "error",
    code: "MissingLocalDelivery",
    message: "realtime.messages lacks the local delivery trigger: apply dev/bootstrap.sql " +
      "(start without --no-migrate once); database broadcasts will not be delivered",
  });
}

async function startDelivery(options: LocalRealtimeOptions, hub: Hub, log: RealtimeLog) {
  await checkBootstrap(options.sql, log);
  const deliver = createDeliver(hub, log);
  if (options.kind === "postgres") return await startListenDelivery(options.sql, deliver, log);
  return startPollDelivery(options.sql, deliver, log, {
    intervalMs: options.pollIntervalMs,
    idle: () => hub.size === 0,
  });
}

export async function startLocalRealtime(options: LocalRealtimeOptions): Promise<LocalRealtime> {
  const log = options.log ?? defaultRealtimeLog;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const hub = new Hub();
  const confirmer = createTokenConfirmer(options.verifier, options.keys);
  const sockets = new Set<RealtimeSocket>();
  const delivery: Delivery = await startDelivery(options, hub, log);
  let stopping: Promise<void> | null = null;

  async function fetch(req: Request): Promise<Response> {
    if (!WEBSOCKET_PATH.test(new URL(req.url).pathname)) return notFound();
    if (stopping) return Response.json({ error: "Realtime is restarting" }, { status: 503 });
    const result = await connect(req, confirmer);
    if (!result.ok) return result.response;
    const { vsn, tenantToken, headers } = result.connection;
    let upgrade: { socket: WebSocket; response: Response };
    try {
      upgrade = Deno.upgradeWebSocket(req, { protocol: subprotocol(req) });
    } catch {
      // `Upgrade: websocket` without a valid handshake (no Sec-WebSocket-Key, …).
      return Response.json({ error: "Expected a WebSocket upgrade request." }, { status: 400 });
    }
    const { socket: ws, response } = upgrade;
    const socket = new RealtimeSocket(ws, {
      sql: options.sql,
      hub,
      confirmer,
      log,
      vsn,
      tenantToken,
      headers,
    }, { maxFrameBytes });
    sockets.add(socket);
    socket.done.then(() => sockets.delete(socket));
    return response;
  }

  const stop = async () => {
    for (const socket of sockets) socket.close();
    await waitAll([...sockets].map((socket) => socket.done), CLOSE_WAIT_MS);
    await delivery.stop();
  };

  return { fetch, stop: () => stopping ??= stop() };
}
