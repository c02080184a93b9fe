/**
 * Request bodies as GoTrue reads them (retrieveRequestParams): the bytes, at most
 * `maxBytes` (413 `request_entity_too_large` past it), then `json.Unmarshal` into a Go struct:
 * unknown fields are ignored, `null` leaves a field at its zero value, and anything that is not
 * JSON or does not fit a field's Go type is 400 `bad_json` "Could not parse request body as
 * JSON: …" with Go's wording. Here the struct is a zod schema whose fields are built with the
 * helpers below, so every body is validated before use.
 */
import { z } from "zod";
import { readAtMost } from "../../supabase/functions/_shared/streams.ts";
import { checkJsonStructure } from "../../supabase/functions/_shared/http/body.ts";
import { AuthError, badRequest } from "./errors.ts";

/** Go `string`: absent or `null` is `""`. */
export const goString = () => z.string().nullish().transform((value) => value ?? "");
/** Go `*string`: absent or `null` is nil (undefined), `""` is a set, empty value. */
export const goStringPointer = () => z.string().nullish().transform((value) => value ?? undefined);
/** Go `bool`. */
export const goBool = () => z.boolean().nullish().transform((value) => value ?? false);
/** Go `map[string]interface{}`: absent or `null` is nil (undefined). */
export const goMap = () =>
  z.record(z.string(), z.unknown()).nullish().transform((value) => value ?? undefined);

/** A Go struct: its name (for messages), its fields' Go types, and the schema that reads it. */
export interface GoStruct<S extends z.ZodType> {
  name: string;
  goTypes: Record<string, string>;
  schema: S;
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  if (typeof value === "object") return "object";
  return typeof value; // string, number, boolean
}

function unmarshalError(detail: string): AuthError {
  return badRequest("bad_json", `Could not parse request body as JSON: ${detail}`);
}

/** Reads the body, refusing it past `maxBytes` by its declared length or while streaming. */
export async function readBody(req: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new AuthError(
      413,
      "request_entity_too_large",
      `Request body too large (max ${maxBytes} bytes)`,
    );
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const bytes = await readAtMost(req.body, maxBytes);
  if (bytes === null) throw tooLarge();
  return bytes;
}

function parseJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) throw unmarshalError("unexpected end of JSON input");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw badRequest("bad_json", "Could not parse request body as JSON: invalid UTF-8", { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw badRequest("bad_json", `Could not parse request body as JSON: ${reason}`, { cause });
  }
  // Deep nesting would only reach Postgres' jsonb parser limits; duplicate keys are ambiguous.
  const problem = checkJsonStructure(text);
  if (problem) throw unmarshalError(`${problem.message} (at ${problem.path.join(".")})`);
  return value;
}

/** Decodes `bytes` into `struct`, as json.Unmarshal would. */
export function decodeStruct<S extends z.ZodType>(
  bytes: Uint8Array,
  struct: GoStruct<S>,
): z.infer<S> {
  const value = parseJson(bytes);
  // json.Unmarshal of `null` into a struct is a no-op: every field keeps its zero value.
  const input = value === null ? {} : value;
  if (typeof input !== "object" || Array.isArray(input)) {
    throw unmarshalError(
      `json: cannot unmarshal ${jsonKind(input)} into Go value of type api.${struct.name}`,
    );
  }
  const parsed = struct.schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const field = String(parsed.error.issues[0]?.path[0] ?? "");
  const received = jsonKind(Reflect.get(input, field));
  const goType = struct.goTypes[field] ?? "string";
  const target = `Go struct field ${struct.name}.${field} of type ${goType}`;
  throw unmarshalError(`json: cannot unmarshal ${received} into ${target}`);
}

/** Reads and decodes a body in one step. */
export async function readStruct<S extends z.ZodType>(
  req: Request,
  maxBytes: number,
  struct: GoStruct<S>,
): Promise<z.infer<S>> {
  return decodeStruct(await readBody(req, maxBytes), struct);
}
