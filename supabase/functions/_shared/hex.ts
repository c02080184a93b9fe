/** Lowercase hex of bytes, and the SHA-256 digests this codebase names things by. */
import { createHash } from "node:crypto";

/** Two lowercase hex digits per byte. */
export function toHex(bytes: Uint8Array | ArrayBuffer): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return Array.from(view, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Lowercase hex SHA-256 of `input` (a string is hashed as its UTF-8 bytes). Synchronous
 * `node:crypto`: `crypto.subtle.digest` hands each digest to a worker thread, which cost day.run
 * about 0.15 ms per agent call for inputs of a few kilobytes.
 */
export function sha256Hex(input: string | Uint8Array): string {
  return createHash("sha256").update(input).digest("hex");
}
