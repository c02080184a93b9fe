/**
 * Objective identity: the memory key an objective's text is remembered under, so the same
 * objective met on two days (or named in a rating) is one FSRS card.
 *
 * @module
 */

/** The longest key (and objective text) the memory tables store. */
export const OBJECTIVE_MAX = 500;

/**
 * The memory key of an objective: its text without control characters, Unicode-normalised
 * (NFKC), whitespace collapsed, lower-cased, cut to {@linkcode OBJECTIVE_MAX} code units on a
 * code point boundary. Empty for text with nothing left.
 */
export function objectiveKey(text: string): string {
  return clip(objectiveText(text).toLowerCase(), OBJECTIVE_MAX);
}

/** The objective as stored and shown: one line, control characters removed, clipped. */
export function objectiveText(text: string): string {
  // deno-lint-ignore no-control-regex
  const flat = text.toWellFormed().normalize("NFKC").replace(/[\u0000-\u001f\u007f]/g, " ")
    .replace(/\s+/g, " ").trim();
  return clip(flat, OBJECTIVE_MAX);
}

function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = "";
  for (const char of text) {
    if (out.length + char.length > max) break;
    out += char;
  }
  return out;
}
