/** HTML tables for the report. */
import { esc } from './svg.js';

/** An HTML table from a header and rows of cells (already strings). */
export function table(caption: string, header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = header.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
