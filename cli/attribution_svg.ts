/**
 * The per-residue attribution track as a standalone SVG, drawn as the page draws it on a canvas
 * (web/ui/residue_track.ts): the sequence in rows of 50 residues, each residue a cell with its letter,
 * a colour swatch and a bar (red raises the target class's probability, blue lowers it; intensity and
 * bar height scale with |attribution| / the largest one). Each cell's <title> names residue and value.
 */
import { el, esc, svgDocument, text } from './report/svg.js';

const PER_ROW = 50;
const CELL = 14;
const ROW_H = 58;
const BAR_H = 18;
const TOP = 34;

/** Diverging colour for a in [-1, 1]: blue - white - red (the page's colours). */
function colour(a: number): string {
  const t = Math.min(1, Math.abs(a));
  const fade = (c: number) => Math.round(255 + (c - 255) * t);
  return a >= 0 ? `rgb(${fade(200)},${fade(30)},${fade(30)})` : `rgb(${fade(30)},${fade(80)},${fade(200)})`;
}

/** The track of one record: `residues` (one string per residue) and their attributions (n). */
export function attributionSvg(title: string, subtitle: string, residues: readonly string[], attributions: ArrayLike<number>): string {
  const n = attributions.length;
  const rows = Math.max(1, Math.ceil(n / PER_ROW));
  const width = 40 + PER_ROW * CELL + 10;
  const height = TOP + rows * ROW_H + 6;
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(attributions[i]!));
  const norm = scale > 0 ? scale : 1;
  const body: string[] = [
    el('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }),
    text(8, 14, title, { 'font-weight': 'bold' }),
    text(8, 28, subtitle, { fill: '#444', 'font-size': 10 }),
  ];
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / PER_ROW);
    const col = i % PER_ROW;
    const x = 40 + col * CELL;
    const y = TOP + row * ROW_H;
    if (col === 0) body.push(text(34, y + 11, String(i + 1), { 'text-anchor': 'end', 'font-size': 10, fill: '#666' }));
    const a = attributions[i]! / norm; // in [-1, 1]
    const mid = y + 17 + 12 + 2 + BAR_H / 2;
    const h = Math.max(Math.abs(a) * (BAR_H / 2), 0.5);
    const residue = residues[i] ?? '?';
    body.push(el('g', {}, [
      `<title>${esc(`residue ${i + 1} ${residue}: ${attributions[i]!.toExponential(3)}`)}</title>`,
      text(x + CELL / 2, y + 11, residue.length > 1 ? '?' : residue, { 'text-anchor': 'middle', 'font-family': 'monospace', fill: '#222' }),
      el('rect', { x: x + 1, y: y + 17, width: CELL - 2, height: 12, fill: colour(a) }),
      el('rect', { x: x + 2, y: a >= 0 ? mid - h : mid, width: CELL - 4, height: h, fill: colour(a) }),
      el('rect', { x, y: mid, width: CELL, height: 0.5, fill: '#ccc' }),
    ]));
  }
  return svgDocument(width, height, title, body);
}
