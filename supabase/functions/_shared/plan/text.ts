/**
 * Text safety for plans: agent text reduced to one inert line before it reaches Markdown, a
 * summary step or a hint.
 *
 * @module
 */

/** Agent text as one line: control characters removed, whitespace runs (newlines) collapsed. */
export function plain(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u0008\u000e-\u001f\u007f]/g, "").replace(/\s+/g, " ").trim();
}

/** Cuts `text` to at most `max` UTF-16 code units, ending in "…", never splitting a pair. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = "";
  for (const char of text) {
    if (out.length + char.length > max - 1) break;
    out += char;
  }
  return `${out.trimEnd()}…`;
}

/** `text` on one line (whitespace runs collapsed, ends trimmed), then `shorten`ed to `max`. */
export function oneLine(text: string, max: number): string {
  return shorten(text.replace(/\s+/g, " ").trim(), max);
}

/**
 * Agent text made inert inside Markdown: one line, and the characters that would start
 * emphasis, code, links, HTML, tables, headings or list items backslash-escaped (CommonMark
 * renders `\x` as `x` for any ASCII punctuation).
 */
export function md(text: string): string {
  return plain(text)
    .replace(/[\\`*_[\]<>#|~&]/g, "\\$&")
    .replace(/^([-+=])/, "\\$1")
    .replace(/^(\d+)([.)])/, "$1\\$2");
}

/**
 * The URL as a link destination when it is absolute http(s), else null. The WHATWG
 * serialisation percent-encodes spaces, `<` and `>`, so it is safe inside `<...>`.
 */
export function safeHref(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return null;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  const href = parsed.href;
  return /[\s<>]/.test(href) ? null : href;
}
