/**
 * A sequence logo (kn/logo.ts) drawn as standalone SVG: per column the letters stacked tallest on top,
 * each scaled vertically to its height in bits, over a bits axis from 0 to log2(s) and position labels
 * relative to the window's centre. Colours follow WebLogo's chemistry scheme.
 *
 * Browser-safe and self-contained (the page and the CLI both draw it). It mirrors cli/report/svg.ts's
 * conventions (escaped text, numbers rounded to 0.01 px, a <title>) but cannot import it: kn/ sits
 * below cli/ in the layout, and the report's writer is not meant for the page.
 *
 * A glyph is drawn at font-size 100 with its baseline at the bottom of its box and scaled by
 * (box width / 62, box height / 72): 72 is a bold sans-serif capital's height and 62 its typical
 * width at that size, so letters fill their boxes to within a few percent whatever the font.
 */
import type { Logo } from './logo.js';

/** Options of logoSvg. */
export interface LogoSvgOptions {
  /** Shown above the logo and as the SVG <title>. */
  readonly title?: string;
  /** Pixels per column (default 24) and height of the letter area (default 120). */
  readonly columnWidth?: number;
  readonly height?: number;
  /** Column labelled 0 (default: the middle column); others are labelled by their offset from it. */
  readonly center?: number;
}

/** WebLogo's chemistry colours. */
const COLOURS: Readonly<Record<string, string>> = (() => {
  const groups: [string, string][] = [['GSTYC', '#109648'], ['NQ', '#5e239d'], ['KRH', '#255c99'], ['DE', '#d62839'], ['AVLIPWFM', '#221e22']];
  return Object.fromEntries(groups.flatMap(([letters, colour]) => [...letters].map((l) => [l, colour] as const)));
})();

const CAP_HEIGHT = 72;
const CAP_WIDTH = 62;

const num = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 100) / 100) : '0');
/** Scale factors need more digits than coordinates (x 100 glyphs). */
const num3 = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : '0');

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** The logo as a standalone SVG document. */
export function logoSvg(logo: Logo, o: LogoSvgOptions = {}): string {
  const colW = o.columnWidth ?? 24;
  const plotH = o.height ?? 120;
  const cols = logo.columns.length;
  const center = o.center ?? Math.floor(cols / 2);
  const maxBits = Math.log2(logo.alphabet.length);
  const left = 44;
  const top = o.title ? 26 : 10;
  const bottom = 30;
  // Wide enough for the title too (about 0.58 em per character at 12 px).
  const width = Math.max(left + cols * colW + 10, o.title ? left + o.title.length * 12 * 0.58 + 10 : 0);
  const height = top + plotH + bottom;
  const base = top + plotH; // y of 0 bits
  const ppb = plotH / maxBits; // pixels per bit
  const parts: string[] = [];
  const title = o.title ?? 'sequence logo';
  parts.push(`<title>${esc(title)}</title>`);
  parts.push(`<rect width="${num(width)}" height="${num(height)}" fill="#ffffff"/>`);
  if (o.title) parts.push(`<text x="${num(left)}" y="17" font-family="Helvetica, Arial, sans-serif" font-size="12">${esc(o.title)}</text>`);
  // Bits axis with integer ticks.
  parts.push(`<line x1="${num(left - 4)}" y1="${num(base)}" x2="${num(left - 4)}" y2="${num(base - maxBits * ppb)}" stroke="#444444"/>`);
  for (let b = 0; b <= Math.floor(maxBits); b++) {
    const y = base - b * ppb;
    parts.push(`<line x1="${num(left - 8)}" y1="${num(y)}" x2="${num(left - 4)}" y2="${num(y)}" stroke="#444444"/>`);
    parts.push(`<text x="${num(left - 10)}" y="${num(y + 4)}" text-anchor="end" font-family="Helvetica, Arial, sans-serif" font-size="10">${b}</text>`);
  }
  parts.push(`<text transform="translate(12 ${num(base - plotH / 2)}) rotate(-90)" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="11">bits</text>`);
  parts.push(`<line x1="${num(left - 4)}" y1="${num(base)}" x2="${num(left + cols * colW)}" y2="${num(base)}" stroke="#444444"/>`);
  logo.columns.forEach((col, p) => {
    const x = left + p * colW;
    const offset = p - center;
    parts.push(`<text x="${num(x + colW / 2)}" y="${num(base + 14)}" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="9" fill="#444444">${offset > 0 ? `+${offset}` : offset}</text>`);
    // letters are tallest first; stack from the bottom with the shortest, so the tallest ends on top.
    let y = base;
    for (const l of [...col.letters].reverse()) {
      const h = l.height * ppb;
      if (h < 0.5) continue; // invisible; skipping keeps files small
      const sx = (colW * 0.92) / CAP_WIDTH;
      const sy = h / CAP_HEIGHT;
      parts.push(`<text transform="matrix(${num3(sx)} 0 0 ${num3(sy)} ${num(x + colW / 2)} ${num(y)})" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-weight="bold" font-size="100" fill="${COLOURS[l.letter] ?? '#888888'}">${esc(l.letter)}</text>`);
      y -= h;
    }
  });
  parts.push(`<text x="${num(left + (cols * colW) / 2)}" y="${num(base + 27)}" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="10" fill="#444444">position from the window centre</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" role="img">${parts.join('')}</svg>\n`;
}
