/** RFC 4180 CSV: CRLF line ends, fields quoted when they hold a comma, quote, CR or LF. */

export type CsvValue = string | number | boolean | null | undefined;

/** Cells a spreadsheet would run as a formula are prefixed with `'` (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: CsvValue, options: { text?: boolean } = {}): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (options.text && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A header row and data rows. Columns marked `text` hold free text (formula-guarded). */
export function toCsv<T>(
  columns: readonly { name: string; value: (row: T) => CsvValue; text?: boolean }[],
  rows: readonly T[],
): string {
  const lines = [columns.map((c) => csvField(c.name)).join(",")];
  for (const row of rows) {
    lines.push(columns.map((c) => csvField(c.value(row), { text: c.text })).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}
