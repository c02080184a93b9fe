import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { fromBase64url, toBase64url } from "../../supabase/functions/_shared/base64url.ts";
import { decodeCursor, encodeCursor } from "../../supabase/functions/_shared/http/cursor.ts";
import { ApiError } from "../../supabase/functions/_shared/errors.ts";

Deno.test("base64url: round trip of any bytes, URL-safe and unpadded", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    const text = toBase64url(bytes);
    assert.match(text, /^[A-Za-z0-9_-]*$/);
    assert.deepEqual(fromBase64url(text), bytes);
  }));
  assert.throws(() => fromBase64url("a+b/"), SyntaxError);
});

Deno.test("cursor: round trip; anything else is a 400 on cursor", () => {
  const Schema = z.strictObject({ s: z.string() });
  assert.deepEqual(decodeCursor(encodeCursor({ s: "42" }), Schema), { s: "42" });
  for (
    const bad of ["", "%%%", toBase64url(new TextEncoder().encode("{")), encodeCursor({ t: "1" })]
  ) {
    assert.throws(() => decodeCursor(bad, Schema), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 400);
      return true;
    });
  }
});
