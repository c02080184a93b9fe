/** Media types by their essence (RFC 9110 §8.3.1: type/subtype, lowercase, no parameters). */

/** The essence of a Content-Type value: `Application/JSON; charset=utf-8` → `application/json`. */
export function mediaTypeEssence(contentType: string | null): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

/** `application/json` or a structured-syntax `application/<x>+json` (RFC 6839). */
export function isJsonEssence(essence: string): boolean {
  return essence === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(essence);
}
