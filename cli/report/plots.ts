/**
 * The study's figures as SVG (cli/report/svg.ts): a metric against the preserved fraction, one
 * panel per module type, with every method's own layer-matched random selections as dots beside its
 * points (the null distribution each is tested against); and the density of the global
 * top neurons by module type and layer as a heatmap. Every figure carries a provenance line.
 */
import type { DensityCell } from '../../kn/density.js';
import type { AblationRow } from '../../kn/study.js';
import { COLORS, el, esc, heat, linear, logScale, polyline, svgDocument, text, textWidth, wrap } from './svg.js';

/** The metric columns of an ablation row. */
export type Metric = 'accuracy' | 'macro_f1';

const METRIC_NAME: Record<Metric, string> = { accuracy: 'accuracy', macro_f1: 'macro-F1' };

const pctLabel = (f: number): string => `${Math.round(f * 1000) / 10}%`;

/** The random controls matched to one method in one module and ranking, at one fraction. */
interface Controls {
  readonly f: number;
  readonly values: number[];
  readonly mean: number;
}

/**
 * The random rows matched to `method` (same per-layer counts as its selection), per fraction. Each method
 * gets its own: with ranking 'global' (or whenever selections keep different per-layer counts) they differ,
 * and with ranking 'layer' they coincide, so every method shows the same values.
 */
function controlsOf(rows: readonly AblationRow[], method: string, metric: Metric, fractions: readonly number[]): Controls[] {
  return fractions.flatMap((f) => {
    const values = rows.filter((r) => r.method === 'random' && r.matched === method && r.fraction === f).map((r) => r[metric]);
    return values.length ? [{ f, values, mean: values.reduce((a, b) => a + b, 0) / values.length }] : [];
  });
}

const METHOD_COLORS: Record<string, string> = { activation: COLORS.activation, ig: COLORS.ig, 'ig-refined': '#7a3db8' };

/** Horizontal px between the (ranking, method) slots at one fraction, and from a point to its controls. */
const SLOT = 13;
const TO_CONTROLS = 5;

/** The caption's first sentence: how the controls are drawn. */
export const CONTROLS_NOTE = 'Random controls are layer-matched per method: beside each point, in its colour, the random selections ' +
  'keeping as many neurons in every layer as that selection (a dot per seed, a bar at their mean); ' +
  'under the per-layer ranking every method\'s controls are the same selections.';

/**
 * Metric vs preserved fraction (log axis), a panel per module: each method's selections as a line
 * (solid: ranked per layer, dashed: global ranking) with, beside each point, its own layer-matched random
 * controls (hollow dots, one per seed, and a bar at their mean), and the unablated model as a dotted line.
 * The (ranking, method) series are dodged sideways at each fraction so that no method's point stands
 * among another's controls.
 */
export function fractionPlot(rows: readonly AblationRow[], metric: Metric, unablated: number, caption: string): string {
  const modules = [...new Set(rows.map((r) => r.module))];
  const fractions = [...new Set(rows.map((r) => r.fraction))].sort((a, b) => a - b);
  const rankings = [...new Set(rows.map((r) => r.ranking))];
  const methods = [...new Set(rows.map((r) => r.method).filter((m) => m !== 'random'))];
  const slots = rankings.length * methods.length;
  const dodge = (ri: number, mi: number): number => (ri * methods.length + mi - (slots - 1) / 2) * SLOT;
  const cols = Math.min(3, modules.length);
  const panelW = 240;
  const panelH = 180;
  const margin = { left: 48, top: 58, gapX: 28, gapY: 46 };
  const width = margin.left + cols * (panelW + margin.gapX);
  const fullCaption = `${CONTROLS_NOTE} ${caption}`;
  const captionLines = wrap(fullCaption, Math.floor((width - margin.left) / textWidth('x', 10)));
  const height = margin.top + Math.ceil(modules.length / cols) * (panelH + margin.gapY) + 14 * captionLines.length;
  const body: string[] = [text(margin.left, 18, `Test ${METRIC_NAME[metric]} when only the top neurons of one module type are kept`, { 'font-size': 13, 'font-weight': 'bold' })];
  const legend: [string, string, string | undefined][] = [
    ...methods.map((m): [string, string, undefined] => [m === 'ig' ? 'integrated gradients' : m, METHOD_COLORS[m] ?? '#000', undefined]),
    ['unablated', COLORS.baseline, '2 3'],
  ];
  if (rankings.includes('global')) legend.push(['dashed: global ranking', '#000', '6 3']);
  let lx = margin.left;
  for (const [name, color, dash] of legend) {
    body.push(el('line', { x1: lx, y1: 34, x2: lx + 18, y2: 34, stroke: color, 'stroke-width': 2, 'stroke-dasharray': dash }));
    body.push(text(lx + 22, 38, name));
    lx += 34 + textWidth(name);
  }
  // The controls' key: a hollow dot and a bar, in grey since each method draws them in its own colour.
  body.push(el('circle', { cx: lx + 4, cy: 34, r: 1.8, fill: 'none', stroke: COLORS.random }));
  body.push(el('line', { x1: lx + 9, y1: 34, x2: lx + 17, y2: 34, stroke: COLORS.random, 'stroke-width': 1.5 }));
  body.push(text(lx + 22, 38, 'random (bar: mean)'));
  const fmin = fractions[0] ?? 0.01;
  const fmax = fractions[fractions.length - 1] ?? 1;
  const pad = 8 + ((slots - 1) / 2) * SLOT + TO_CONTROLS + 4;
  modules.forEach((module, i) => {
    const x0 = margin.left + (i % cols) * (panelW + margin.gapX);
    const y0 = margin.top + Math.floor(i / cols) * (panelH + margin.gapY);
    const x = fmin === fmax ? linear(fmin - 1, fmax + 1, x0, x0 + panelW) : logScale(fmin, fmax, x0 + pad, x0 + panelW - pad);
    const y = linear(0, 1, y0 + panelH, y0);
    const mine = rows.filter((r) => r.module === module);
    body.push(el('rect', { x: x0, y: y0, width: panelW, height: panelH, fill: 'none', stroke: '#999' }));
    body.push(text(x0 + panelW / 2, y0 - 6, module, { 'text-anchor': 'middle', 'font-weight': 'bold' }));
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      body.push(el('line', { x1: x0, y1: y(t), x2: x0 + panelW, y2: y(t), stroke: '#eee' }));
      if (i % cols === 0) body.push(text(x0 - 5, y(t) + 4, t.toFixed(2), { 'text-anchor': 'end' }));
    }
    for (const f of fractions) body.push(text(x(f), y0 + panelH + 14, pctLabel(f), { 'text-anchor': 'middle', 'font-size': 9 }));
    body.push(text(x0 + panelW / 2, y0 + panelH + 28, 'preserved fraction', { 'text-anchor': 'middle', 'font-size': 9 }));
    rankings.forEach((ranking, ri) => {
      const dash = ranking === 'global' ? '6 3' : undefined;
      const inRanking = mine.filter((r) => r.ranking === ranking);
      methods.forEach((method, mi) => {
        const color = METHOD_COLORS[method] ?? '#000';
        const dx = dodge(ri, mi);
        for (const c of controlsOf(inRanking, method, metric, fractions)) {
          // One column per method beside its point, jittered over three sub-columns so that ties stay visible.
          const cx = x(c.f) + dx + TO_CONTROLS;
          const tip = `${method}'s layer-matched random controls (ranking ${ranking}, ${pctLabel(c.f)} kept): ${c.values.length} seeds, mean ${c.mean.toFixed(3)}`;
          body.push(el('g', { class: 'random-controls' }, [
            el('title', {}, [esc(tip)]),
            ...c.values.map((v, k) => el('circle', { cx: cx + ((k % 3) - 1) * 1.3, cy: y(v), r: 1.8, fill: 'none', stroke: color, 'stroke-opacity': 0.6 })),
            el('line', { x1: cx - 3.5, y1: y(c.mean), x2: cx + 3.5, y2: y(c.mean), stroke: color, 'stroke-width': 1.5 }),
          ]));
        }
        const pts = fractions.flatMap((f) => inRanking.filter((r) => r.method === method && r.fraction === f).map((r) => [x(f) + dx, y(r[metric])] as const));
        body.push(polyline(pts, { stroke: color, 'stroke-width': 2, 'stroke-dasharray': dash }));
        for (const [px, py] of pts) body.push(el('circle', { cx: px, cy: py, r: 2.8, fill: color }));
      });
    });
    body.push(el('line', { x1: x0, y1: y(unablated), x2: x0 + panelW, y2: y(unablated), stroke: COLORS.baseline, 'stroke-dasharray': '2 3', 'stroke-width': 1.5 }));
  });
  const captionTop = height - 14 * captionLines.length + 4;
  captionLines.forEach((line, i) => body.push(text(margin.left, captionTop + 14 * i, line, { 'font-size': 10, fill: '#444' })));
  return svgDocument(width, height, `${METRIC_NAME[metric]} vs preserved fraction. ${fullCaption}`, body);
}

/**
 * Heatmap of the share of each module type's neurons (per layer) in the global top set, coloured by
 * enrichment (share / top fraction, 1 = expected from size alone); each cell shows the enrichment.
 */
export function densityHeatmap(cells: readonly DensityCell[], topFraction: number, caption: string): string {
  const modules = [...new Set(cells.map((c) => c.module))];
  const layers = Math.max(...cells.map((c) => c.layer)) + 1;
  const cell = Math.max(26, Math.min(60, Math.floor(720 / layers)));
  const left = 80;
  const top = 52;
  const title = `Density of the global top ${pctLabel(topFraction)} integrated-gradient neurons (enrichment = share / ${pctLabel(topFraction)})`;
  const width = Math.max(left + layers * cell + 140, left + textWidth(title, 13) + 20);
  const captionLines = wrap(caption, Math.floor((width - left) / textWidth('x', 10)));
  const height = top + Math.max(modules.length * 30, 100) + 30 + 14 * captionLines.length;
  const maxE = Math.max(2, ...cells.map((c) => c.enrichment));
  const body: string[] = [text(left, 18, title, { 'font-size': 13, 'font-weight': 'bold' })];
  for (let l = 0; l < layers; l++) body.push(text(left + l * cell + cell / 2, top - 6, String(l), { 'text-anchor': 'middle', 'font-size': 9 }));
  body.push(text(left + (layers * cell) / 2, top - 20, 'layer', { 'text-anchor': 'middle' }));
  modules.forEach((m, r) => {
    body.push(text(left - 6, top + r * 30 + 19, m, { 'text-anchor': 'end' }));
    for (const c of cells.filter((x) => x.module === m)) {
      const tip = `${m} layer ${c.layer}: ${c.count} top neurons, share ${(100 * c.share).toFixed(2)}% (95% CI ${(100 * c.share_lo).toFixed(2)}-${(100 * c.share_hi).toFixed(2)}%), enrichment ${c.enrichment.toFixed(2)}x`;
      body.push(el('rect', { x: left + c.layer * cell, y: top + r * 30, width: cell - 1, height: 29, fill: heat(c.enrichment / maxE) }, [el('title', {}, [esc(tip)])]));
      if (cell >= 26) body.push(text(left + c.layer * cell + cell / 2, top + r * 30 + 19, c.enrichment.toFixed(1), { 'text-anchor': 'middle', 'font-size': 9 }));
    }
  });
  const lx = left + layers * cell + 20;
  for (let i = 0; i <= 4; i++) {
    body.push(el('rect', { x: lx, y: top + i * 20, width: 16, height: 19, fill: heat(i / 4) }));
    body.push(text(lx + 22, top + i * 20 + 14, `${((maxE * i) / 4).toFixed(1)}x`));
  }
  const noteTop = height - 14 * captionLines.length - 10;
  body.push(text(left, noteTop, 'Cells: enrichment; hover for counts, shares and bootstrap intervals.', { 'font-size': 10, fill: '#444' }));
  captionLines.forEach((line, i) => body.push(text(left, noteTop + 16 + 14 * i, line, { 'font-size': 10, fill: '#444' })));
  return svgDocument(width, height, `Knowledge-neuron density by module and layer. ${caption}`, body);
}
