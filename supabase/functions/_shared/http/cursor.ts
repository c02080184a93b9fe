/**
 * Keyset-page cursors: the last row's key as base64url JSON, opaque to clients. A cursor that
 * is not one this API made (bad encoding, JSON or shape) is a 400 on `cursor`, never a 500.
 */
import type { z } from "zod";
import { fromBase64url, toBase64url } from "../base64url.ts";
import { invalidRequest } from "../errors.ts";

export function encodeCursor(key: Record<string, string>): string {
  return toBase64url(new TextEncoder().encode(JSON.stringify(key)));
}

export function decodeCursor<T>(text: string, schema: z.ZodType<T>): T {
  try {
    const parsed = schema.safeParse(JSON.parse(new TextDecoder().decode(fromBase64url(text))));
    if (parsed.success) return parsed.data;
  } catch {
    // Falls through to the 400 below.
  }
  throw invalidRequest("The query string is not valid.", [
    { path: ["cursor"], message: "Not a cursor this API returned." },
  ]);
}
