/**
 * A neuron card's position profile as a small inline SVG bar chart (cli/report/svg.ts): the mean
 * activation in each tenth of the sequence (kn/neuron_card.ts PROFILE_BINS), bars from a zero line so
 * that negative means hang below it, an empty bin drawn as a gap labelled "none".
 */
import type { PositionProfile } from '../../kn/neuron_card.js';
import { COLORS, el, esc, linear, text } from './svg.js';

const fmt = (v: number): string => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(3) : v.toExponential(2));

/** The chart as an inline <svg> element (no XML declaration: it goes inside an HTML page). */
export function profileSvg(p: PositionProfile, title: string): string {
  const bins = p.bins;
  const n = bins.length;
  const barW = 34;
  const left = 58;
  const top = 24;
  const plotH = 110;
  const width = left + n * barW + 10;
  const height = top + plotH + 40;
  const values = bins.filter((b): b is number => b !== null && Number.isFinite(b));
  const lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (hi === lo) hi = lo + 1; // all zero (or no data): any scale draws flat bars on the zero line
  const y = linear(lo, hi, top + plotH, top);
  const body: string[] = [el('title', {}, [esc(title)]), el('rect', { width, height, fill: '#ffffff' })];
  body.push(text(left, 14, 'mean activation by tenth of the sequence', { 'font-size': 11 }));
  body.push(el('line', { x1: left - 4, y1: top, x2: left - 4, y2: top + plotH, stroke: '#444' }));
  for (const v of [lo, hi, ...(lo < 0 && hi > 0 ? [0] : [])]) {
    body.push(el('line', { x1: left - 8, y1: y(v), x2: left - 4, y2: y(v), stroke: '#444' }));
    body.push(text(left - 10, y(v) + 3, fmt(v), { 'text-anchor': 'end', 'font-size': 9 }));
  }
  body.push(el('line', { x1: left - 4, y1: y(0), x2: left + n * barW, y2: y(0), stroke: '#444' }));
  bins.forEach((b, i) => {
    const x = left + i * barW;
    const range = `${Math.round((100 * i) / n)}-${Math.round((100 * (i + 1)) / n)}%`;
    body.push(text(x + barW / 2, top + plotH + 14, `${Math.round((100 * i) / n)}%`, { 'text-anchor': 'middle', 'font-size': 9, fill: '#444' }));
    if (b === null || !Number.isFinite(b)) {
      body.push(text(x + barW / 2, y(0) - 3, 'none', { 'text-anchor': 'middle', 'font-size': 8, fill: '#888' }));
      return;
    }
    const y0 = Math.min(y(0), y(b));
    const h = Math.max(0.5, Math.abs(y(b) - y(0)));
    body.push(el('rect', { x: x + 3, y: y0, width: barW - 6, height: h, fill: b < 0 ? COLORS.ig : COLORS.activation },
      [el('title', {}, [esc(`${range} of the sequence: mean activation ${fmt(b)}`)])]));
  });
  body.push(text(left + (n * barW) / 2, top + plotH + 30, 'relative position in the sequence (residues read)', { 'text-anchor': 'middle', 'font-size': 10, fill: '#444' }));
  return el('svg', { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'font-family': 'Helvetica, Arial, sans-serif', 'font-size': 11 }, body);
}
