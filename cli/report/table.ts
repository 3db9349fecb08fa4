/** HTML tables for the report. */
import { esc } from './svg.js';

/** A cell given as HTML the caller built (already escaped), not as text. */
export interface HtmlCell {
  readonly html: string;
}

/** An HTML table from a header and rows of cells: text (escaped here) or HtmlCell. */
export function table(caption: string, header: readonly string[], rows: readonly (readonly (string | HtmlCell)[])[]): string {
  const head = header.map((h) => `<th>${esc(h)}</th>`).join('');
  const cell = (c: string | HtmlCell) => `<td>${typeof c === 'string' ? esc(c) : c.html}</td>`;
  const body = rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n');
  return `<table><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
