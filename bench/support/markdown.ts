/** A Markdown table, columns padded to their widest cell; `right` lists the columns aligned right. */
export function markdownTable(header: string[], rows: string[][], right: number[] = []): string {
  const widths = header.map((title, i) => Math.max(title.length, 3, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join(' | ')} |`;
  const rule = widths.map((width, i) =>
    right.includes(i) ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width),
  );
  return [line(header), line(rule), ...rows.map(line)].join('\n');
}

/** A number with `digits` decimals, or an em dash when there is none. */
export const fixed = (value: number | undefined, digits: number): string =>
  value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
