/**
 * Reading and validating request input: JSON bodies (media type, 64 KiB limit, syntax, nesting,
 * duplicate keys) and query strings, both through zod so every failure is a 400 with issue
 * paths in `details`.
 */
import type { z } from "zod";
import {
  clientClosed,
  type ErrorDetail,
  invalidRequest,
  payloadTooLarge,
  requestTimeout,
  unsupportedMediaType,
} from "../errors.ts";
import { BodyReadTimeout, readAtMost, withReadTimeout } from "../streams.ts";
import { isJsonEssence, mediaTypeEssence } from "./media_type.ts";

/** Bodies over this many bytes are refused with 413 (spec 5.2). */
export const MAX_BODY_BYTES = 64 * 1024;
/**
 * A request body must have arrived this long after the handler starts reading it, else 408
 * (`withBodyReadTimeout`). 64 KiB take well under a second on any link a learner uses; 10 s
 * leaves room for a bad mobile connection and still frees a stalled isolate long before the
 * platform's wall clock would.
 */
export const DEFAULT_BODY_READ_TIMEOUT_MS = 10_000;
/**
 * Arrays and objects nested deeper than this are refused with 400. No request of this API
 * nests more than a few levels; the limit keeps recursive validators and Postgres' jsonb
 * parser far from their stack limits whatever a schema allows.
 */
export const MAX_JSON_DEPTH = 64;

export function zodDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((part) => typeof part === "number" ? part : String(part)),
    message: issue.message,
  }));
}

/**
 * `application/json` or `application/<x>+json`. JSON text is UTF-8 (RFC 8259 §8.1): a
 * `charset` parameter naming anything else means the client encoded the body in a way we would
 * misread, so it is refused (415) rather than decoded as UTF-8.
 */
function isJsonMediaType(contentType: string | null): boolean {
  if (!contentType) return false;
  const [, ...parameters] = contentType.split(";");
  if (!isJsonEssence(mediaTypeEssence(contentType))) return false;
  for (const parameter of parameters) {
    const at = parameter.indexOf("=");
    if (at === -1 || parameter.slice(0, at).trim().toLowerCase() !== "charset") continue;
    const charset = parameter.slice(at + 1).trim().replace(/^"(.*)"$/, "$1").toLowerCase();
    if (charset !== "utf-8" && charset !== "utf8") return false;
  }
  return true;
}

interface ObjectFrame {
  keys: Set<string>;
  key: string | null;
}
interface ArrayFrame {
  keys: null;
  index: number;
}

function framePath(frames: (ObjectFrame | ArrayFrame)[]): (string | number)[] {
  return frames.map((frame) => frame.keys === null ? frame.index : frame.key ?? "");
}

/**
 * One pass over JSON text that `JSON.parse` has accepted: refuses nesting deeper than
 * `maxDepth` and an object with the same key twice (after unescaping, so `"week"` and
 * `"w\u0065ek"` are the same key). Parsers disagree on duplicates (first wins, last wins,
 * error), so a body that means different things to different readers is refused outright.
 * Iterative and linear in the text's length.
 */
export function checkJsonStructure(text: string, maxDepth = MAX_JSON_DEPTH): ErrorDetail | null {
  const frames: (ObjectFrame | ArrayFrame)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      frames.push(c === 0x7b ? { keys: new Set(), key: null } : { keys: null, index: 0 });
      if (frames.length > maxDepth) {
        return {
          path: framePath(frames.slice(0, maxDepth)),
          message: `Nested more than ${maxDepth} levels deep.`,
        };
      }
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      const top = frames[frames.length - 1];
      if (top.keys === null) top.index++;
      else expectKey = true;
    } else if (c === 0x22 /* " */) {
      let end = i + 1;
      let escaped = false;
      for (;;) {
        const d = text.charCodeAt(end);
        if (d === 0x22) break;
        if (d === 0x5c /* \ */) {
          escaped = true;
          end += 2;
        } else {
          end++;
        }
      }
      const top = frames[frames.length - 1];
      if (expectKey && top !== undefined && top.keys !== null) {
        const key: string = escaped ? JSON.parse(text.slice(i, end + 1)) : text.slice(i + 1, end);
        if (top.keys.has(key)) {
          return { path: [...framePath(frames.slice(0, -1)), key], message: "Duplicate key." };
        }
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end;
    }
  }
  return null;
}

/**
 * The same request, its body cut with `BodyReadTimeout` unless all of it arrives within
 * `timeoutMs` of the first read (the readers below answer that with 408). A request without a
 * body is returned as is.
 */
export function withBodyReadTimeout(
  req: Request,
  timeoutMs = DEFAULT_BODY_READ_TIMEOUT_MS,
): Request {
  if (req.body === null) return req;
  return new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body: withReadTimeout(req.body, timeoutMs),
    signal: req.signal,
    redirect: req.redirect,
  });
}

/**
 * Reads the request body, refusing it (413) once it passes `maxBytes`, by its declared length
 * or while streaming, without buffering more. A body cut by its read timeout is a 408; one the
 * client stopped sending (closed or reset the connection) is a 499 `CLIENT_CLOSED`, which only
 * its log line ever shows.
 */
export async function readLimited(
  req: Request,
  maxBytes = MAX_BODY_BYTES,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) throw payloadTooLarge(maxBytes);
  let bytes: Uint8Array<ArrayBuffer> | null;
  try {
    bytes = await readAtMost(req.body, maxBytes);
  } catch (error) {
    if (error instanceof BodyReadTimeout) throw requestTimeout(error.timeoutMs, error);
    throw clientClosed(error);
  }
  if (bytes === null) throw payloadTooLarge(maxBytes);
  return bytes;
}

/**
 * Reads a JSON body and validates it with `schema`. An empty body counts as `{}`, so a POST
 * with no body gets the schema's own messages about missing fields.
 */
export async function readJson<S extends z.ZodType>(
  req: Request,
  schema: S,
  maxBytes = MAX_BODY_BYTES,
): Promise<z.infer<S>> {
  const bytes = await readLimited(req, maxBytes);
  let value: unknown = {};
  if (bytes.byteLength > 0) {
    if (!isJsonMediaType(req.headers.get("content-type"))) throw unsupportedMediaType();
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw invalidRequest("The request body is not valid UTF-8.");
    }
    try {
      value = JSON.parse(text);
    } catch {
      throw invalidRequest("The request body is not valid JSON.");
    }
    const problem = checkJsonStructure(text);
    if (problem) throw invalidRequest("The request body is not valid.", [problem]);
  }
  return validate(schema, value, "The request body is not valid.");
}

/** Validates the query string (each parameter's last value) with `schema`. */
export function readQuery<S extends z.ZodType>(url: URL, schema: S): z.infer<S> {
  return validate(schema, Object.fromEntries(url.searchParams), "The query string is not valid.");
}

export function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  message: string,
): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidRequest(message, zodDetails(parsed.error));
  return parsed.data;
}

/**
 * Reads the whole body (413 past `maxBytes`, without buffering more) and returns it with a
 * request that carries the same bytes, for the handler to read again.
 */
export async function bufferBody(
  req: Request,
  maxBytes = MAX_BODY_BYTES,
): Promise<{ req: Request; bytes: Uint8Array }> {
  const bytes = await readLimited(req, maxBytes);
  const copy = new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body: bytes.byteLength > 0 ? bytes : null,
    signal: req.signal,
  });
  return { req: copy, bytes };
}
