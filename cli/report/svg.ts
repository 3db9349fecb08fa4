/**
 * A small SVG writer for the reports: escaped text, a document wrapper, shapes and scales. Output is
 * standalone SVG 1.1 (XML with the SVG namespace); numbers are rounded to 0.01 px so files stay small.
 */

/** Escapes text and attribute values for XML. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const num = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 100) / 100) : '0');

/** Attributes as XML text; numbers rounded, strings escaped, undefined left out. */
function attrs(a: Readonly<Record<string, string | number | undefined>>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : esc(v!)}"`)
    .join('');
}

/** An element; children are already-serialised markup. */
export function el(name: string, a: Readonly<Record<string, string | number | undefined>> = {}, children: readonly string[] = []): string {
  return children.length ? `<${name}${attrs(a)}>${children.join('')}</${name}>` : `<${name}${attrs(a)}/>`;
}

/** A text element. */
export function text(x: number, y: number, s: string, a: Readonly<Record<string, string | number | undefined>> = {}): string {
  return `<text${attrs({ x, y, ...a })}>${esc(s)}</text>`;
}

/** Lines of at most `maxChars` characters, broken at spaces (a long word gets its own line). */
export function wrap(s: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Rough width in px of text at font size 11 (Helvetica averages about 0.55 em per character). */
export function textWidth(s: string, size = 11): number {
  return s.length * size * 0.58;
}

/** An open polyline through points. */
export function polyline(points: readonly (readonly [number, number])[], a: Readonly<Record<string, string | number | undefined>>): string {
  return el('polyline', { points: points.map(([x, y]) => `${num(x)},${num(y)}`).join(' '), fill: 'none', ...a });
}

/** A closed polygon (bands, areas). */
export function polygon(points: readonly (readonly [number, number])[], a: Readonly<Record<string, string | number | undefined>>): string {
  return el('polygon', { points: points.map(([x, y]) => `${num(x)},${num(y)}`).join(' '), ...a });
}

/** A standalone SVG document of the given size with a <title> (shown as a tooltip, read by screen readers). */
export function svgDocument(width: number, height: number, title: string, body: readonly string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" ` +
    `font-family="Helvetica, Arial, sans-serif" font-size="11">` +
    `<title>${esc(title)}</title>${body.join('\n')}</svg>\n`;
}

/** A map from a data interval to pixels. */
export type Scale = (v: number) => number;

/** Linear scale from [d0, d1] to [r0, r1]. */
export function linear(d0: number, d1: number, r0: number, r1: number): Scale {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Logarithmic scale from [d0, d1] (both > 0) to [r0, r1]. */
export function logScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const l = linear(Math.log(d0), Math.log(d1), r0, r1);
  return (v) => l(Math.log(Math.max(v, 1e-12)));
}

/** Colour-blind-safe series colours (Okabe-Ito). */
export const COLORS = {
  activation: '#0072B2',
  ig: '#D55E00',
  random: '#555555',
  baseline: '#009E73',
} as const;

/** White to deep red for a value in [0, 1] (heatmaps). */
export function heat(t: number): string {
  const c = Math.min(1, Math.max(0, t));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * c);
  return `rgb(${mix(255, 165)},${mix(255, 15)},${mix(255, 21)})`;
}
