// Markdown pieces the generated docs share (scripts/docs.ts, scripts/docs-errors.ts).

/** Text fit for one cell of a Markdown table. */
export function cell(text: string | null | undefined): string {
  return (text ?? "").replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
}

export function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}
