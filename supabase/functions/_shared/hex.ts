/** Lowercase hex of bytes, and the SHA-256 digests this codebase names things by. */

/** Two lowercase hex digits per byte. */
export function toHex(bytes: Uint8Array | ArrayBuffer): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return Array.from(view, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Lowercase hex SHA-256 of `input` (a string is hashed as its UTF-8 bytes). */
export async function sha256Hex(input: string | Uint8Array): Promise<string> {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  // A copy into a fresh ArrayBuffer: SubtleCrypto takes BufferSource of an ArrayBuffer only.
  return toHex(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
}
