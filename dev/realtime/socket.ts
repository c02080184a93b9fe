/**
 * One WebSocket connection: Phoenix.Socket's routing as Realtime runs it. Messages are handled
 * one at a time in arrival order (Phoenix joins inside the socket process, so nothing overtakes
 * a join). Per Phoenix:
 *
 * - `heartbeat` on `phoenix`: reply ok.
 * - `phx_join`: a `realtime:*` topic joins (a second join of a joined topic closes the first
 *   with `phx_close`); any other topic is answered `{reason: "unmatched topic"}`.
 * - `phx_leave`: reply ok, then `phx_close`; on a topic not joined just the ok reply.
 * - anything else goes to the joined channel (a stale join_ref is ignored), or is answered
 *   `{reason: "unmatched topic"}` when the topic is not joined.
 *
 * Frames that do not decode are logged and ignored (Realtime's `MalformedWebSocketMessage`);
 * a frame over the size limit closes the socket with 1009, as Cowboy's `max_frame_size` does.
 */
import type { Channel, ChannelContext } from "./channel.ts";
import { joinChannel } from "./join.ts";
import { describeError } from "./log.ts";
import {
  decodeFrame,
  encodePush,
  encodeReply,
  type InboundMessage,
  MalformedMessageError,
  type Ref,
} from "./serializer.ts";

/** Realtime's default `max_channels_per_client`. */
const MAX_CHANNELS = 100;
const CLOSE_MESSAGE_TOO_BIG = 1009;

export type SocketContext = Omit<ChannelContext, "send" | "reply" | "push" | "stopped">;

export interface SocketOptions {
  /** Largest frame accepted, in bytes. */
  maxFrameBytes: number;
}

const encoder = new TextEncoder();

function frameBytes(data: string | ArrayBuffer): number {
  return typeof data === "string" ? encoder.encode(data).length : data.byteLength;
}

export class RealtimeSocket {
  readonly #ws: WebSocket;
  readonly #context: ChannelContext;
  readonly #channels = new Map<string, Channel>();
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  /** Resolves when the WebSocket has closed. */
  readonly done: Promise<void>;

  constructor(ws: WebSocket, context: SocketContext, private readonly options: SocketOptions) {
    this.#ws = ws;
    this.#ws.binaryType = "arraybuffer";
    const { promise, resolve } = Promise.withResolvers<void>();
    this.done = promise;
    this.#context = {
      ...context,
      send: (frame) => this.#send(frame),
      reply: (ref, joinRef, topic, ok, response) => this.#reply(ref, joinRef, topic, ok, response),
      push: (joinRef, topic, event, payload) =>
        this.#send(encodePush(context.vsn, { joinRef, ref: null, topic, event, payload })),
      stopped: (channel) => this.#channelStopped(channel),
    };
    ws.addEventListener("message", (event) => this.#receive(event.data));
    ws.addEventListener("close", () => {
      this.#teardown();
      resolve();
    });
    ws.addEventListener("error", () => this.#teardown());
  }

  /** Closes the connection (1001 when the server stops) and leaves every channel. */
  close(code = 1001, reason = "Realtime is shutting down"): void {
    this.#teardown();
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      try {
        this.#ws.close(code, reason);
      } catch {
        // Already closing.
      }
    }
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const channel of this.#channels.values()) channel.stop();
    this.#channels.clear();
  }

  #send(frame: string | Uint8Array): void {
    if (this.#closed || this.#ws.readyState !== WebSocket.OPEN) return;
    try {
      this.#ws.send(frame);
    } catch {
      // The peer went away between the check and the send; the close event follows.
    }
  }

  #reply(ref: Ref, joinRef: Ref, topic: string, ok: boolean, response: Record<string, unknown>) {
    const status = ok ? "ok" : "error";
    this.#send(encodeReply(this.#context.vsn, { joinRef, ref, topic, status, response }));
  }

  #sendClose(channel: Channel): void {
    const { joinRef, topic } = channel;
    this.#send(
      encodePush(this.#context.vsn, {
        joinRef,
        ref: joinRef,
        topic,
        event: "phx_close",
        payload: {},
      }),
    );
  }

  #channelStopped(channel: Channel): void {
    if (this.#channels.get(channel.topic) !== channel) return;
    this.#channels.delete(channel.topic);
    this.#sendClose(channel);
  }

  #receive(data: unknown): void {
    if (this.#closed) return;
    if (typeof data !== "string" && !(data instanceof ArrayBuffer)) return;
    if (frameBytes(data) > this.options.maxFrameBytes) {
      this.#context.log({
        level: "info",
        code: "MessageTooBig",
        message: `A frame of ${frameBytes(data)} bytes exceeds ${this.options.maxFrameBytes}`,
      });
      this.close(CLOSE_MESSAGE_TOO_BIG, "message too big");
      return;
    }
    let message: InboundMessage;
    try {
      message = decodeFrame(
        this.#context.vsn,
        typeof data === "string" ? data : new Uint8Array(data),
      );
    } catch (error) {
      const code = error instanceof MalformedMessageError
        ? "MalformedWebSocketMessage"
        : "UnknownErrorOnWebSocketMessage";
      this.#context.log({ level: "info", code, message: describeError(error) });
      return;
    }
    this.#queue = this.#queue.then(() => this.#route(message)).catch((error) => {
      this.#context.log({
        level: "error",
        code: "UnknownErrorOnWebSocketMessage",
        message: describeError(error),
      });
    });
  }

  async #route(message: InboundMessage): Promise<void> {
    if (this.#closed) return;
    const { topic, event, ref, joinRef } = message;
    if (topic === "phoenix" && event === "heartbeat") {
      return this.#reply(ref, null, "phoenix", true, {});
    }
    const channel = this.#channels.get(topic);
    if (event === "phx_join") return await this.#join(message, channel);
    if (event === "phx_leave") {
      if (!channel) return this.#reply(ref, joinRef, topic, true, {});
      if (joinRef !== null && joinRef !== channel.joinRef) return;
      this.#reply(ref, channel.joinRef, topic, true, {});
      channel.stop();
      return this.#channelStopped(channel);
    }
    if (!channel) return this.#reply(ref, null, topic, false, { reason: "unmatched topic" });
    if (joinRef !== null && joinRef !== channel.joinRef) return;
    await channel.handleIn(message);
  }

  async #join(message: InboundMessage, existing: Channel | undefined): Promise<void> {
    const { topic, ref, joinRef } = message;
    if (!topic.startsWith("realtime:")) {
      return this.#reply(ref, null, topic, false, { reason: "unmatched topic" });
    }
    if (existing) {
      // Phoenix closes the earlier join of the same topic before joining again.
      existing.stop();
      this.#channelStopped(existing);
    }
    if (this.#channels.size >= MAX_CHANNELS) {
      return this.#reply(ref, joinRef, topic, false, {
        reason: "ChannelRateLimitReached: Too many channels",
      });
    }
    const result = await joinChannel(this.#context, message);
    if (this.#closed) return;
    if (!result.ok) return this.#reply(ref, joinRef, topic, false, { reason: result.reason });
    // Subscribing and replying in one synchronous step: no broadcast precedes the reply.
    this.#channels.set(topic, result.channel);
    result.channel.start();
    this.#reply(ref, joinRef, topic, true, { postgres_changes: [] });
    result.channel.afterJoin();
  }
}
