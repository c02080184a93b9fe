/** A Markdown table with padded columns, readable as plain text too. */

export type Align = "left" | "right";

export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((row) => (row[i] ?? "").length))
  );
  const pad = (text: string, i: number) =>
    align[i] === "right" ? text.padStart(widths[i]) : text.padEnd(widths[i]);
  const line = (cells: readonly string[]) =>
    `| ${widths.map((_, i) => pad(cells[i] ?? "", i)).join(" | ")} |`;
  const rule = `| ${
    widths.map((w, i) => align[i] === "right" ? `${"-".repeat(w - 1)}:` : "-".repeat(w)).join(
      " | ",
    )
  } |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
