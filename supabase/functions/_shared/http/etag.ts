/** `If-None-Match` matching (RFC 9110 §8.8.3, §13.1.2), and strong ETags of bytes. */
import { sha256Hex } from "../hex.ts";

/** `"<first 32 hex digits of SHA-256 of text>"`: a quoted strong ETag. */
export function textEtag(text: string): string {
  return `"${sha256Hex(text).slice(0, 32)}"`;
}

/**
 * Whether `If-None-Match` matches `etag`: `*`, or any listed tag by weak comparison (a `W/`
 * prefix on either side is ignored, as RFC 9110 requires for this header).
 */
export function ifNoneMatchMatches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  const value = header.trim();
  if (value === "*") return true;
  const wanted = opaque(etag);
  const tags = value.match(/(?:W\/)?"[^"]*"/g) ?? [];
  return tags.some((tag) => opaque(tag) === wanted);
}

function opaque(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}
