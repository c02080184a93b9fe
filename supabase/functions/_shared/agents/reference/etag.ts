/** Strong ETags of agent content (RFC 9110 §8.8.3). */
import { canonicalJson } from "../canonical_json.ts";
import { textEtag } from "../../http/etag.ts";

/** `"<first 32 hex digits of SHA-256 of the canonical JSON of data>"`: a quoted strong ETag. */
export function contentEtag(data: unknown): string {
  return textEtag(canonicalJson(data));
}
