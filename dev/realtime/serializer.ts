/**
 * The Phoenix channel wire formats Supabase Realtime speaks, for both protocol versions
 * realtime-js 2.119.0 can ask for (`?vsn=`):
 *
 * - 1.0.0 (Phoenix.Socket.V1.JSONSerializer): text frames, JSON objects. Clients send
 *   `{topic, event, payload, ref, join_ref}`; the server sends `{topic, event, payload, ref}`
 *   (V1 has no join_ref on the way out).
 * - 2.0.0 (Realtime's V2Serializer): text frames are JSON arrays
 *   `[join_ref, ref, topic, event, payload]`. Binary frames carry user broadcasts: the client
 *   sends kind 3 (user broadcast push: join_ref, ref, topic, user event, metadata, encoding,
 *   payload) and the server sends kind 4 (user broadcast: topic, user event, metadata,
 *   encoding, payload), the only binary kind realtime-js 2.119.0 decodes.
 *
 * Anything else a client sends is a `MalformedMessageError`, which the socket logs and ignores
 * as Realtime does (`MalformedWebSocketMessage`).
 */
import { z } from "zod";

export type Vsn = "1.0.0" | "2.0.0";

/** A ref as a client sent it (phoenix.js sends strings); echoed back unchanged. */
export type Ref = string | number | null;

/** A user broadcast's payload: JSON (kept parsed and as text) or raw bytes. */
export type UserPayload =
  | { encoding: "json"; value: unknown; text: string }
  | { encoding: "binary"; bytes: Uint8Array };

/** A client message after decoding. `payload` is parsed JSON, or a binary user broadcast. */
export interface InboundMessage {
  joinRef: Ref;
  ref: Ref;
  topic: string;
  event: string;
  payload:
    | { kind: "json"; value: unknown }
    | { kind: "user_broadcast"; event: string; data: UserPayload; metadata: unknown };
}

/** What the server fans out to a topic's subscribers. */
export type Broadcast =
  /** A broadcast whose payload is a map (`{type, event, payload}` from a text frame). */
  | { kind: "json"; payload: Record<string, unknown> }
  /** A user broadcast (binary push, or a database row); `metadata` is `{id}` for rows. */
  | { kind: "user"; event: string; data: UserPayload; metadata: Record<string, unknown> | null };

export class MalformedMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MalformedMessageError";
  }
}

const RefSchema = z.union([z.string(), z.number(), z.null()]);
const V2Array = z.tuple([RefSchema, RefSchema, z.string(), z.string(), z.unknown()]).rest(
  z.unknown(),
);
const V1Object = z.object({
  topic: z.string(),
  event: z.string(),
  payload: z.unknown(),
  ref: RefSchema,
  join_ref: RefSchema.optional(),
});

const KIND_USER_BROADCAST_PUSH = 3;
const KIND_USER_BROADCAST = 4;
const ENCODING_BINARY = 0;
const ENCODING_JSON = 1;
/** Header fields of binary frames are length-prefixed with one byte. */
const MAX_FIELD_BYTES = 255;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new MalformedMessageError("The frame is not valid JSON.", { cause });
  }
}

function decodeText(vsn: Vsn, text: string): InboundMessage {
  const json = parseJson(text);
  if (vsn === "2.0.0") {
    const parsed = V2Array.safeParse(json);
    if (!parsed.success) {
      throw new MalformedMessageError("expected V2 array [join_ref, ref, topic, event, payload]");
    }
    const [joinRef, ref, topic, event, payload] = parsed.data;
    return { joinRef, ref, topic, event, payload: { kind: "json", value: payload } };
  }
  const parsed = V1Object.safeParse(json);
  if (!parsed.success) {
    throw new MalformedMessageError("expected V1 object {topic, event, payload, ref}");
  }
  const { topic, event, payload, ref, join_ref } = parsed.data;
  return {
    joinRef: join_ref ?? null,
    ref,
    topic,
    event,
    payload: { kind: "json", value: payload },
  };
}

function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new MalformedMessageError("A binary frame field is not UTF-8.", { cause });
  }
}

/** Kind 3: [3, join_ref, ref, topic, user_event, metadata sizes, encoding, fields…, payload]. */
function decodeUserBroadcastPush(bytes: Uint8Array): InboundMessage {
  const HEADER = 7;
  if (bytes.length < HEADER) throw new MalformedMessageError("The binary frame is truncated.");
  const sizes = [bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]];
  const encoding = bytes[6];
  if (encoding !== ENCODING_BINARY && encoding !== ENCODING_JSON) {
    throw new MalformedMessageError(`Unknown payload encoding ${encoding}.`);
  }
  const fields: string[] = [];
  let offset = HEADER;
  for (const size of sizes) {
    if (offset + size > bytes.length) {
      throw new MalformedMessageError("The binary frame is truncated.");
    }
    fields.push(utf8(bytes.subarray(offset, offset + size)));
    offset += size;
  }
  const [joinRef, ref, topic, userEvent, metadataText] = fields;
  const body = bytes.slice(offset);
  let data: UserPayload;
  if (encoding === ENCODING_JSON) {
    const text = utf8(body);
    data = { encoding: "json", value: parseJson(text), text };
  } else {
    data = { encoding: "binary", bytes: body };
  }
  return {
    joinRef,
    ref,
    topic,
    event: "broadcast",
    payload: {
      kind: "user_broadcast",
      event: userEvent,
      data,
      metadata: metadataText === "" ? {} : parseJson(metadataText),
    },
  };
}

/** Decodes one frame from a client speaking `vsn`. Throws `MalformedMessageError`. */
export function decodeFrame(vsn: Vsn, frame: string | Uint8Array): InboundMessage {
  if (typeof frame === "string") return decodeText(vsn, frame);
  // V1 has no binary framing: Phoenix's V1 serializer reads any frame as JSON text.
  if (vsn === "1.0.0") return decodeText(vsn, utf8(frame));
  if (frame.length === 0) throw new MalformedMessageError("The binary frame is empty.");
  if (frame[0] === KIND_USER_BROADCAST_PUSH) return decodeUserBroadcastPush(frame);
  throw new MalformedMessageError(`Binary frames of kind ${frame[0]} are not accepted.`);
}

export interface Reply {
  joinRef: Ref;
  ref: Ref;
  topic: string;
  status: "ok" | "error";
  response: Record<string, unknown>;
}

export interface Push {
  joinRef: Ref;
  ref: Ref;
  topic: string;
  event: string;
  payload: Record<string, unknown>;
}

function encodeMessage(vsn: Vsn, message: Push): string {
  const { joinRef, ref, topic, event, payload } = message;
  return vsn === "2.0.0"
    ? JSON.stringify([joinRef, ref, topic, event, payload])
    : JSON.stringify({ topic, event, payload, ref });
}

/** `phx_reply` to a client message. */
export function encodeReply(vsn: Vsn, reply: Reply): string {
  const { joinRef, ref, topic, status, response } = reply;
  return encodeMessage(vsn, {
    joinRef,
    ref,
    topic,
    event: "phx_reply",
    payload: { status, response },
  });
}

/** A server push on a channel (`system`, `phx_close`, …). */
export function encodePush(vsn: Vsn, push: Push): string {
  return encodeMessage(vsn, push);
}

/** The JSON shape realtime-js hands to `.on("broadcast")`: `{type, event, payload, meta?}`. */
function jsonBroadcastPayload(
  event: string,
  value: unknown,
  metadata: Record<string, unknown> | null,
): Record<string, unknown> {
  return metadata === null
    ? { event, payload: value, type: "broadcast" }
    : { event, payload: value, type: "broadcast", meta: metadata };
}

/** Kind 4: [4, topic, user_event, metadata sizes, encoding, fields…, payload]. */
function encodeUserBroadcast(
  topic: string,
  event: string,
  metadata: Record<string, unknown> | null,
  data: UserPayload,
): Uint8Array | null {
  const topicBytes = encoder.encode(topic);
  const eventBytes = encoder.encode(event);
  const metadataBytes = encoder.encode(metadata === null ? "" : JSON.stringify(metadata));
  const sizes = [topicBytes.length, eventBytes.length, metadataBytes.length];
  if (sizes.some((size) => size > MAX_FIELD_BYTES)) return null;
  const body = data.encoding === "json" ? encoder.encode(data.text) : data.bytes;
  const frame = new Uint8Array(5 + sizes[0] + sizes[1] + sizes[2] + body.length);
  frame.set([KIND_USER_BROADCAST, ...sizes, data.encoding === "json" ? ENCODING_JSON : 0]);
  let offset = 5;
  for (const part of [topicBytes, eventBytes, metadataBytes, body]) {
    frame.set(part, offset);
    offset += part.length;
  }
  return frame;
}

/**
 * A broadcast as one subscriber on `topic` receives it, or null when `vsn` cannot carry it
 * (binary payloads on 1.0.0, as Realtime skips them too).
 */
export function encodeBroadcast(
  vsn: Vsn,
  topic: string,
  broadcast: Broadcast,
): string | Uint8Array | null {
  const push = (payload: Record<string, unknown>) =>
    encodeMessage(vsn, { joinRef: null, ref: null, topic, event: "broadcast", payload });
  if (broadcast.kind === "json") return push(broadcast.payload);
  const { event, data, metadata } = broadcast;
  if (vsn === "2.0.0") {
    const frame = encodeUserBroadcast(topic, event, metadata, data);
    if (frame !== null) return frame;
    // A header field too long for one length byte: JSON text carries the same message.
    return data.encoding === "json"
      ? push(jsonBroadcastPayload(event, data.value, metadata))
      : null;
  }
  return data.encoding === "json" ? push(jsonBroadcastPayload(event, data.value, metadata)) : null;
}
