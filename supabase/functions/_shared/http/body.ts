/**
 * Reading and validating request input: JSON bodies (media type, 64 KiB limit, syntax) and
 * query strings, both through zod so every failure is a 400 with issue paths in `details`.
 */
import type { z } from "zod";
import {
  type ErrorDetail,
  invalidRequest,
  payloadTooLarge,
  unsupportedMediaType,
} from "../errors.ts";

/** Bodies over this many bytes are refused with 413 (spec 5.2). */
export const MAX_BODY_BYTES = 64 * 1024;

export function zodDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((part) => typeof part === "number" ? part : String(part)),
    message: issue.message,
  }));
}

function isJsonMediaType(contentType: string | null): boolean {
  if (!contentType) return false;
  const essence = contentType.split(";")[0].trim().toLowerCase();
  return essence === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(essence);
}

/** Reads the body as text, refusing it once it passes `maxBytes` without buffering more. */
async function readLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) throw payloadTooLarge(maxBytes);
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw payloadTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
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
