/**
 * The `phx_join` payload (RealtimeWeb.Channels.Payloads.Join and Config): `config {broadcast
 * {ack, self, replication_ready, replay}, presence {enabled, key}, postgres_changes, private}`
 * and `access_token` (or `user_token`). Like Realtime, a field that does not parse falls back
 * to its default instead of failing the join; booleans may also be "true"/"false" strings.
 */
import { z } from "zod";

export interface JoinParams {
  /** The token the join asks to act as; null means the connection's `apikey`. */
  accessToken: string | null;
  private: boolean;
  ack: boolean;
  self: boolean;
  replicationReady: boolean;
  replay: boolean;
  presenceEnabled: boolean;
  postgresChanges: number;
}

/** Realtime's FlexibleBoolean: a boolean, or "true"/"false" in any case. */
const FlexibleBoolean = z.union([
  z.boolean(),
  z.string().toLowerCase().pipe(z.enum(["true", "false"])).transform((s) => s === "true"),
]).catch(false);

const BroadcastConfig = z.object({
  ack: FlexibleBoolean,
  self: FlexibleBoolean,
  replication_ready: FlexibleBoolean,
  replay: z.unknown(),
}).partial().catch({});

const Config = z.object({
  broadcast: BroadcastConfig,
  presence: z.object({ enabled: FlexibleBoolean }).partial().catch({}),
  postgres_changes: z.array(z.unknown()).catch([]),
  private: FlexibleBoolean,
}).partial().catch({});

const Join = z.object({
  config: Config,
  access_token: z.unknown(),
  user_token: z.unknown(),
}).partial().catch({});

function accessToken(accessToken: unknown, userToken: unknown): string | null {
  const asked = typeof accessToken === "string" && accessToken
    ? accessToken
    : typeof userToken === "string" && userToken
    ? userToken
    : null;
  // An `sb_` key is never a channel token: the connection's apikey stands for it.
  if (asked === null || asked.startsWith("sb_")) return null;
  return typeof userToken === "string" ? userToken : asked;
}

export function parseJoinParams(payload: unknown): JoinParams {
  const join = Join.parse(payload);
  const config = join.config ?? {};
  const broadcast = config.broadcast ?? {};
  return {
    accessToken: accessToken(join.access_token, join.user_token),
    private: config.private ?? false,
    ack: broadcast.ack ?? false,
    self: broadcast.self ?? false,
    replicationReady: broadcast.replication_ready ?? false,
    replay: broadcast.replay !== undefined && broadcast.replay !== null,
    presenceEnabled: config.presence?.enabled ?? false,
    postgresChanges: (config.postgres_changes ?? []).filter((c) => c !== null).length,
  };
}

/**
 * Why the local stack refuses a join Supabase would accept: it serves broadcast only. Realtime
 * words join errors as `Code: message`; these codes are the local stack's own.
 */
export function unsupportedFeature(params: JoinParams): string | null {
  if (params.postgresChanges > 0) {
    return "PostgresChangesNotSupported: The local stack's Realtime serves broadcast only; " +
      "postgres_changes are not available";
  }
  if (params.presenceEnabled) {
    return "PresenceNotSupported: The local stack's Realtime serves broadcast only; " +
      "presence is not available";
  }
  if (params.replay) {
    return params.private
      ? "ReplayNotSupported: The local stack's Realtime does not replay stored broadcasts"
      : "UnableToReplayMessages: Replay is not allowed for public channels";
  }
  return null;
}
