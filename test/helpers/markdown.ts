/**
 * Checks that a Markdown report was cut only between whole blocks: every code fence closed, every
 * <details> closed, and every table whole (a header row, its delimiter row, rows with as many cells).
 * Returns the problems found, empty when none, so a failing test says which line broke.
 */
export function findCutMarkdown(markdown: string): string[] {
  const problems: string[] = [];
  const lines = markdown.split('\n');
  let fence: string | null = null;
  let table: { columns: number; start: number } | null = null;
  // Cells split on pipes that are not escaped (`\|` stays in its cell, as GFM reads it).
  const cells = (line: string) => line.trim().split(/(?<!\\)\|/).length - 2;
  lines.forEach((line, index) => {
    const marker = /^\s*(`{3,})/.exec(line)?.[1];
    if (fence !== null) {
      if (marker !== undefined && line.trim() === fence) fence = null;
      return;
    }
    if (marker !== undefined) {
      fence = marker;
      table = null;
      return;
    }
    const isRow = line.startsWith('|') && line.trimEnd().endsWith('|');
    if (!isRow) {
      if (table !== null && line !== '') problems.push(`line ${index + 1}: a table's row is cut: ${line.slice(0, 60)}`);
      table = null;
      return;
    }
    if (table === null) {
      const delimiter = lines[index + 1] ?? '';
      if (!/^\|(\s*:?-+:?\s*\|)+$/.test(delimiter.trim())) problems.push(`line ${index + 1}: a table with no delimiter row`);
      else if (cells(delimiter) !== cells(line)) problems.push(`line ${index + 1}: header and delimiter differ in cells`);
      table = { columns: cells(line), start: index };
      return;
    }
    if (cells(line) !== table.columns) problems.push(`line ${index + 1}: ${cells(line)} cells in a table of ${table.columns}`);
  });
  if (fence !== null) problems.push('a code fence is not closed');
  const opened = markdown.match(/<details>/g)?.length ?? 0;
  const closed = markdown.match(/<\/details>/g)?.length ?? 0;
  if (opened !== closed) problems.push(`${opened} <details> opened, ${closed} closed`);
  return problems;
}
