/**
 * One joined channel (`realtime:<name>`) on one socket: RealtimeWeb.RealtimeChannel for
 * broadcast once joined (join.ts admits it). Client broadcasts (`self`, `ack`, the write check
 * on private channels), `access_token` updates, and the periodic token confirmation that closes
 * the channel when its token stops being valid (a `system` message, then `phx_close`).
 */
import type postgres from "postgres";
import {
  type AuthorizationContext,
  checkRead,
  checkWrite,
  UNABLE_TO_CONNECT,
  unauthorizedRead,
} from "./authorization.ts";
import { type Hub, type Subscriber, topicKey } from "./hub.ts";
import type { JoinParams } from "./join_payload.ts";
import { describeError, type RealtimeLog } from "./log.ts";
import type { Broadcast, InboundMessage, Ref, Vsn } from "./serializer.ts";
import { type ConfirmedToken, shutdownReason, type TokenConfirmer } from "./tokens.ts";

/** Realtime confirms a channel's token every 5 minutes, or at its expiry if sooner. */
const CONFIRM_TOKEN_INTERVAL_MS = 5 * 60_000;

/** What a channel needs from the server and from its socket. */
export interface ChannelContext {
  sql: postgres.Sql;
  hub: Hub;
  confirmer: TokenConfirmer;
  log: RealtimeLog;
  vsn: Vsn;
  /** The connection's `apikey`, confirmed at connect. */
  tenantToken: ConfirmedToken;
  /** `x-*` headers of the connection request. */
  headers: Record<string, string>;
  /** Sends a frame on the socket (dropped once it is closed). */
  send(frame: string | Uint8Array): void;
  /** Replies to a client message on this channel. */
  reply(
    ref: Ref,
    joinRef: Ref,
    topic: string,
    ok: boolean,
    response: Record<string, unknown>,
  ): void;
  /** Pushes a server message on this channel. */
  push(joinRef: Ref, topic: string, event: string, payload: Record<string, unknown>): void;
  /** The channel stopped itself: the socket forgets it and sends `phx_close`. */
  stopped(channel: Channel): void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class Channel implements Subscriber {
  readonly vsn: Vsn;
  readonly key: string;
  #token: ConfirmedToken;
  /** Result of the write check for this token; null until the first broadcast asks. */
  #canWrite: boolean | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped on every token change, so a confirmation of an older token is ignored. */
  #generation = 0;
  #stopped = false;

  constructor(
    private readonly context: ChannelContext,
    readonly topic: string,
    readonly name: string,
    readonly joinRef: Ref,
    private readonly params: JoinParams,
    token: ConfirmedToken,
  ) {
    this.vsn = context.vsn;
    this.key = topicKey(name, params.private);
    this.#token = token;
  }

  /** Subscribes to the topic and starts confirming the token. */
  start(): void {
    this.context.hub.subscribe(this.key, this);
    this.#schedule();
  }

  /** Pushes what follows the ok reply (Realtime's `replication_ready` notice). */
  afterJoin(): void {
    if (!this.params.replicationReady) return;
    // Delivery needs no replication slot here: it is ready as soon as the channel is.
    this.#system("ok", "Replication connection established");
  }

  deliver(frame: string | Uint8Array): void {
    if (!this.#stopped) this.context.send(frame);
  }

  /** Unsubscribes and stops the timer. Safe to call twice. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.context.hub.unsubscribe(this.key, this);
  }

  /** A client message on this channel (not join or leave: the socket handles those). */
  async handleIn(message: InboundMessage): Promise<void> {
    if (this.#stopped) return;
    switch (message.event) {
      case "broadcast":
        return await this.#broadcast(message);
      case "access_token":
        return await this.#accessToken(message);
      case "presence":
        return this.context.reply(message.ref, this.joinRef, this.topic, false, {
          reason: "PresenceNotSupported: The local stack's Realtime serves broadcast only; " +
            "presence is not available",
        });
      default:
        // Realtime logs these at info level and does not answer.
        this.context.log({
          level: "info",
          code: "UnexpectedMessage",
          message: `Unexpected message from client of type \`${message.event}\``,
          topic: this.name,
        });
    }
  }

  #system(status: "ok" | "error", message: string): void {
    this.context.push(this.joinRef, this.topic, "system", {
      extension: "system",
      status,
      message,
      channel: this.name,
    });
  }

  /** RealtimeChannel.shutdown_response: a `system` error, then the channel stops. */
  shutdown(message: string): void {
    if (this.#stopped) return;
    this.#system("error", message);
    this.context.log({ level: "info", code: "ChannelShutdown", message, topic: this.name });
    this.stop();
    this.context.stopped(this);
  }

  #authorization(): AuthorizationContext {
    return { topic: this.name, token: this.#token, headers: this.context.headers };
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const { exp } = this.#token;
    if (exp === null || this.#stopped) return;
    const delay = Math.max(0, Math.min(CONFIRM_TOKEN_INTERVAL_MS, exp * 1000 - Date.now()));
    const generation = this.#generation;
    this.#timer = setTimeout(() => void this.#confirmAgain(generation), delay);
  }

  async #confirmAgain(generation: number): Promise<void> {
    const result = await this.context.confirmer.confirm(this.#token.token);
    if (this.#stopped || generation !== this.#generation) return;
    if (!result.ok) return this.shutdown(shutdownReason(result.failure));
    this.#token = result.token;
    this.#schedule();
  }

  async #accessToken(message: InboundMessage): Promise<void> {
    const value = message.payload.kind === "json" ? message.payload.value : null;
    const refresh = isRecord(value) ? value.access_token : undefined;
    // An `sb_` key, the same token, or none: Realtime keeps the channel as it is.
    if (typeof refresh !== "string" || refresh.startsWith("sb_")) return;
    if (refresh === this.#token.token) return;
    const generation = ++this.#generation;
    const result = await this.context.confirmer.confirm(refresh);
    if (this.#stopped || generation !== this.#generation) return;
    if (!result.ok) return this.shutdown(shutdownReason(result.failure));
    this.#token = result.token;
    this.#canWrite = null;
    if (this.params.private) {
      const read = await checkRead(this.context.sql, this.#authorization());
      if (this.#stopped || generation !== this.#generation) return;
      if (!read.ok && read.reason === "unavailable") return this.shutdown(UNABLE_TO_CONNECT);
      if (!read.ok || !read.allowed) return this.shutdown(unauthorizedRead(this.name));
    }
    this.#schedule();
  }

  /** The write policy for the current token, checked once (BroadcastHandler). */
  async #mayWrite(): Promise<boolean> {
    if (!this.params.private) return true;
    if (this.#canWrite !== null) return this.#canWrite;
    const result = await checkWrite(this.context.sql, this.#authorization());
    if (!result.ok) {
      this.context.log({
        level: "error",
        code: result.reason === "database" ? "RlsPolicyError" : "UnableToConnectToProject",
        message: describeError(result.error),
        topic: this.name,
      });
      return false;
    }
    return this.#canWrite = result.allowed;
  }

  async #broadcast(message: InboundMessage): Promise<void> {
    let broadcast: Broadcast;
    if (message.payload.kind === "user_broadcast") {
      const { event, data } = message.payload;
      broadcast = { kind: "user", event, data, metadata: null };
    } else if (isRecord(message.payload.value)) {
      broadcast = { kind: "json", payload: message.payload.value };
    } else {
      this.context.log({
        level: "info",
        code: "MalformedWebSocketMessage",
        message: "A broadcast's payload must be a map",
        topic: this.name,
      });
      return;
    }
    // Without write permission Realtime drops the message silently, even when `ack` is set.
    if (!(await this.#mayWrite()) || this.#stopped) return;
    this.context.hub.publish(this.key, broadcast, this.params.self ? null : this);
    if (this.params.ack) this.context.reply(message.ref, this.joinRef, this.topic, true, {});
  }
}
