/**
 * Admitting a `phx_join` on `realtime:<name>` (RealtimeChannel.join for broadcast): a topic
 * name, no feature the local stack lacks, a valid token (the join's `access_token`, else the
 * connection's apikey), and on a private channel the RLS read check. Refusals carry Realtime's
 * `Code: message` reasons.
 */
import {
  checkRead,
  type PolicyResult,
  UNABLE_TO_CONNECT,
  unauthorizedRead,
} from "./authorization.ts";
import { Channel, type ChannelContext } from "./channel.ts";
import { parseJoinParams, unsupportedFeature } from "./join_payload.ts";
import type { InboundMessage } from "./serializer.ts";
import { joinFailureReason } from "./tokens.ts";

export type JoinResult = { ok: true; channel: Channel } | { ok: false; reason: string };

/** The join's refusal for a failed read check, as RealtimeChannel.maybe_assign_policies has it. */
function readFailureReason(name: string, result: PolicyResult): string | null {
  if (!result.ok) {
    return result.reason === "database"
      ? `Unauthorized: ${unauthorizedRead(name)}`
      : `UnableToConnectToProject: ${UNABLE_TO_CONNECT}`;
  }
  return result.allowed ? null : `Unauthorized: ${unauthorizedRead(name)}`;
}

/**
 * Joins `message.topic` (`realtime:<name>`). Resolves with the channel, not yet subscribed:
 * the socket calls `start()` and sends the ok reply in one step, so no broadcast overtakes it.
 */
export async function joinChannel(
  context: ChannelContext,
  message: InboundMessage,
): Promise<JoinResult> {
  const name = message.topic.slice("realtime:".length);
  if (name === "") return { ok: false, reason: "TopicNameRequired: You must provide a topic name" };
  const params = parseJoinParams(message.payload.kind === "json" ? message.payload.value : {});
  const unsupported = unsupportedFeature(params);
  if (unsupported !== null) return { ok: false, reason: unsupported };

  const confirmed = await context.confirmer.confirm(
    params.accessToken ?? context.tenantToken.token,
  );
  if (!confirmed.ok) return { ok: false, reason: joinFailureReason(confirmed.failure) };

  if (params.private) {
    const authorization = { topic: name, token: confirmed.token, headers: context.headers };
    const refused = readFailureReason(name, await checkRead(context.sql, authorization));
    if (refused !== null) {
      context.log({ level: "info", code: "Unauthorized", message: refused, topic: name });
      return { ok: false, reason: refused };
    }
  }
  const { topic, joinRef } = message;
  const channel = new Channel(context, topic, name, joinRef, params, confirmed.token);
  return { ok: true, channel };
}
