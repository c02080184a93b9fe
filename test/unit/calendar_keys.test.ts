/** Calendar feed keys (_shared/calendar/keys.ts): 256 random bits, base64url, hashed. */
import assert from "node:assert/strict";
import {
  hashKey,
  isKeyShaped,
  KEY_BYTES,
  newKey,
} from "../../supabase/functions/_shared/calendar/keys.ts";

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("a new key: 32 random bytes as 43 base64url characters, with its SHA-256", async () => {
  assert.ok(KEY_BYTES >= 32);
  const keys = await Promise.all(Array.from({ length: 50 }, () => newKey()));
  for (const { key, hash } of keys) {
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(isKeyShaped(key));
    assert.equal(hash.length, 32);
    assert.equal(hex(hash), hex(await hashKey(key)));
  }
  assert.equal(new Set(keys.map((k) => k.key)).size, keys.length);
  // A known vector: SHA-256 of the text "abc".
  assert.equal(
    hex(await hashKey("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("anything not shaped like a key is refused before any lookup", () => {
  for (const text of [null, "", "short", "a".repeat(42), "a".repeat(44), `${"a".repeat(42)}=`]) {
    assert.equal(isKeyShaped(text), false, String(text));
  }
  assert.equal(isKeyShaped(`${"a".repeat(42)}+`), false, "base64, not base64url");
  assert.equal(isKeyShaped("a".repeat(43)), true);
});
