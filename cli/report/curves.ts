/**
 * Learning curves of training runs as SVG (svg.ts). One panel per quantity against the update step,
 * with epochs as a grey second row of tick labels; the runs overlaid, one colour each; a marker per
 * evaluation (hover for its values); each run's best step ringed and dashed. Fine-tuning runs get
 * training loss, validation loss, validation macro-F1 and accuracy; pretraining runs training loss,
 * validation MLM loss and validation perplexity, with an optional reference line (e.g. the unigram
 * perplexity). Pure: the caller reads the histories (cli/curves.ts, the training commands) and writes
 * the file.
 */
import type { EvalRecord } from '../../train/state.js';
import { el, esc, linear, polyline, svgDocument, text, textWidth, wrap } from './svg.js';

/** Which command wrote a run: it decides the panels. */
export type RunKind = 'finetune' | 'pretrain';

/** One run to draw. */
export interface CurveRun {
  /** The legend's name for it. */
  readonly label: string;
  readonly kind: RunKind;
  /** Its evaluations: step, epoch, train_loss and the task's validation scalars. */
  readonly history: readonly EvalRecord[];
  /** The step of its best validation score (ringed), or null. */
  readonly bestStep: number | null;
}

/** How to draw them. */
export interface CurveOptions {
  readonly title?: string;
  /** A horizontal line in the perplexity panel (pretraining only), e.g. { value: 18.25, label: 'unigram' }. */
  readonly referencePerplexity?: { readonly value: number; readonly label: string } | null;
  /** A grey note under the panels (e.g. where the runs were read from). */
  readonly caption?: string;
}

/** The panels of each kind of run: the history key drawn and its title. */
export const CURVE_PANELS: Readonly<Record<RunKind, readonly { readonly key: string; readonly title: string }[]>> = {
  finetune: [
    { key: 'train_loss', title: 'training loss' },
    { key: 'loss', title: 'validation loss' },
    { key: 'macro_f1', title: 'validation macro-F1' },
    { key: 'accuracy', title: 'validation accuracy' },
  ],
  pretrain: [
    { key: 'train_loss', title: 'training loss (MLM)' },
    { key: 'loss', title: 'validation loss (MLM)' },
    { key: 'perplexity', title: 'validation perplexity' },
  ],
};

/** Run colours in order (Okabe-Ito, colour-blind safe; yellow last, it is faint on white). */
export const RUN_COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'] as const;

/** Quantities bounded above by 1 (their axis stops there). */
const UNIT_BOUNDED = new Set(['macro_f1', 'accuracy']);

/** A 1, 2 or 5 times a power of ten near `raw` (tick spacing). */
function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** Decimals that show a tick spacing exactly (0.05 -> 2, 20 -> 0). */
const decimalsFor = (step: number): number => Math.max(0, -Math.floor(Math.log10(step) + 1e-9));

/** Multiples of `step` in [lo, hi], rounded so that 0.1 * 3 reads 0.3. */
function ticksIn(lo: number, hi: number, step: number): number[] {
  const d = decimalsFor(step);
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toFixed(d)));
  return out;
}

/**
 * A value axis for `values`: at least 0.05 wide for unit-bounded scores and 2% of the largest value
 * for the rest (so noise in the third decimal does not fill the panel), padded by 5%, widened to whole
 * tick steps, never below 0 (losses, perplexities and scores are not negative) and, for unit-bounded
 * scores, never above 1.
 */
export function niceAxis(values: readonly number[], unitBounded = false): { lo: number; hi: number; ticks: number[]; decimals: number } {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const minSpan = unitBounded ? 0.05 : 0.02 * Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  if (hi - lo < minSpan) {
    const mid = (lo + hi) / 2;
    lo = mid - minSpan / 2;
    hi = mid + minSpan / 2;
  }
  const pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const step = niceStep((hi - lo) / 4);
  lo = Math.max(0, Math.floor(lo / step + 1e-9) * step);
  hi = Math.ceil(hi / step - 1e-9) * step;
  if (unitBounded) hi = Math.min(hi, Math.max(1, lo + step));
  return { lo, hi, ticks: ticksIn(lo, hi, step), decimals: decimalsFor(step) };
}

/** Piecewise-linear map through (0, 0) and the points, extended past the last with its slope. */
function interpolator(xs: readonly number[], ys: readonly number[]): (x: number) => number {
  const px = [0, ...xs];
  const py = [0, ...ys];
  return (x) => {
    let i = 1;
    while (i < px.length - 1 && px[i]! < x) i++;
    const x0 = px[i - 1]!;
    const x1 = px[i]!;
    return x1 === x0 ? py[i]! : py[i - 1]! + ((x - x0) * (py[i]! - py[i - 1]!)) / (x1 - x0);
  };
}

/** Epochs against steps from a history, or null when its epochs are not increasing with its steps. */
function epochAxis(history: readonly EvalRecord[]): { epochAt: (step: number) => number; stepAt: (epoch: number) => number } | null {
  const steps = history.map((r) => r.step);
  const epochs = history.map((r) => r.epoch);
  const increasing = (xs: readonly number[]) => xs.every((v, i) => Number.isFinite(v) && v > (i ? xs[i - 1]! : 0));
  if (!increasing(steps) || !increasing(epochs)) return null;
  return { epochAt: interpolator(steps, epochs), stepAt: interpolator(epochs, steps) };
}

const fmt = (v: number, decimals: number): string => v.toFixed(decimals);

/** A value for a tooltip: 4 significant digits. */
const show = (v: number): string => (Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4));

/** The panel geometry (px), exported for tests. */
export const CURVE_LAYOUT = { panelW: 320, panelH: 200, left: 64, right: 24, gapX: 72, gapY: 76, panelTitle: 18 } as const;

/**
 * Learning curves of one or more runs of one kind (finetune or pretrain) as a standalone SVG
 * document. Every run needs at least one evaluation. Throws on no runs, an empty history or mixed kinds.
 */
export function learningCurvesSvg(runs: readonly CurveRun[], o: CurveOptions = {}): string {
  if (!runs.length) throw new Error('learning curves need at least one run');
  const kind = runs[0]!.kind;
  const other = runs.find((r) => r.kind !== kind);
  if (other) throw new Error(`learning curves of ${kind} and ${other.kind} runs cannot share panels ('${runs[0]!.label}', '${other.label}')`);
  const empty = runs.find((r) => !r.history.length);
  if (empty) throw new Error(`run '${empty.label}' has no evaluations`);
  const sorted = runs.map((r) => ({ ...r, history: [...r.history].sort((a, b) => a.step - b.step) }));
  const L = CURVE_LAYOUT;
  const panels = CURVE_PANELS[kind];
  const cols = panels.length === 3 ? 3 : 2;
  const rows = Math.ceil(panels.length / cols);
  const width = L.left + cols * L.panelW + (cols - 1) * L.gapX + L.right;
  const reference = kind === 'pretrain' && o.referencePerplexity && Number.isFinite(o.referencePerplexity.value) ? o.referencePerplexity : null;
  const title = o.title ?? `Learning curves (${kind === 'finetune' ? 'fine-tuning' : 'MLM pretraining'})`;

  // Legend: one entry per run, then what the marks mean; wrapped into lines that fit the width.
  type Entry = { label: string; color: string; dash?: string; point: boolean };
  const entries: Entry[] = sorted.map((r, i) => ({
    label: `${r.label}${r.bestStep === null ? '' : ` (best: step ${r.bestStep})`}`, color: RUN_COLORS[i % RUN_COLORS.length]!, point: true,
  }));
  entries.push({ label: 'ring and dashes: best step', color: '#666', dash: '4 3', point: false });
  if (reference) entries.push({ label: `${reference.label} ${show(reference.value)}`, color: '#555', dash: '2 3', point: false });
  const legendLines: { e: Entry; x: number }[][] = [[]];
  let lx = L.left;
  for (const e of entries) {
    const w = 34 + textWidth(e.label);
    if (lx + w > width - L.right && legendLines[legendLines.length - 1]!.length) {
      legendLines.push([]);
      lx = L.left;
    }
    legendLines[legendLines.length - 1]!.push({ e, x: lx });
    lx += w;
  }
  const top = 40 + 18 * legendLines.length + L.panelTitle;
  const captionLines = o.caption ? wrap(o.caption, Math.floor((width - L.left) / textWidth('x', 10))) : [];
  const height = top + rows * L.panelH + (rows - 1) * L.gapY + 62 + 14 * captionLines.length;

  const body: string[] = [text(L.left, 20, title, { 'font-size': 14, 'font-weight': 'bold' })];
  legendLines.forEach((line, k) => {
    const y = 40 + 18 * k;
    for (const { e, x } of line) {
      body.push(el('line', { x1: x, y1: y - 4, x2: x + 22, y2: y - 4, stroke: e.color, 'stroke-width': 2, 'stroke-dasharray': e.dash }));
      if (e.point) body.push(el('circle', { cx: x + 11, cy: y - 4, r: 3, fill: e.color }));
      body.push(text(x + 27, y, e.label));
    }
  });

  // The x axis: steps from 0 to the last evaluated one; epochs as the first run's history maps them.
  const maxStep = Math.max(1, ...sorted.map((r) => r.history[r.history.length - 1]!.step));
  const xStep = Math.max(1, niceStep(maxStep / 5));
  const xTicks = ticksIn(0, maxStep, xStep);
  const epochs = epochAxis(sorted[0]!.history);
  const epochsAgree = sorted.every((r) => {
    const a = epochAxis(r.history);
    const s = r.history[r.history.length - 1]!.step;
    return a !== null && epochs !== null && Math.abs(a.epochAt(s) - epochs.epochAt(s)) <= 0.01 * Math.max(a.epochAt(s), 1e-9);
  });
  const maxEpoch = epochs ? epochs.epochAt(maxStep) : 0;
  const eStep = niceStep(maxEpoch / 5);
  const eTicks = epochs && maxEpoch > 0 ? ticksIn(0, maxEpoch, eStep) : [];
  const axisName = `step${epochs ? ` (grey: epoch${epochsAgree ? '' : ` of ${sorted[0]!.label}`})` : ''}`;

  panels.forEach((panel, i) => {
    const x0 = L.left + (i % cols) * (L.panelW + L.gapX);
    const y0 = top + Math.floor(i / cols) * (L.panelH + L.gapY);
    const x = linear(0, maxStep, x0, x0 + L.panelW);
    const values = sorted.flatMap((r) => r.history.map((h) => h[panel.key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
    const ref = panel.key === 'perplexity' ? reference : null;
    const axis = niceAxis(values.length ? [...values, ...(ref ? [ref.value] : [])] : [0, 1], UNIT_BOUNDED.has(panel.key));
    const y = linear(axis.lo, axis.hi, y0 + L.panelH, y0);
    const g: string[] = [];
    g.push(text(x0, y0 - 8, panel.title, { 'font-weight': 'bold', 'font-size': 12 }));
    for (const t of axis.ticks) {
      g.push(el('line', { class: 'ygrid', x1: x0, y1: y(t), x2: x0 + L.panelW, y2: y(t), stroke: '#e6e6e6' }));
      g.push(text(x0 - 5, y(t) + 4, fmt(t, axis.decimals), { class: 'ytick', 'text-anchor': 'end' }));
    }
    for (const t of xTicks) {
      g.push(el('line', { x1: x(t), y1: y0 + L.panelH, x2: x(t), y2: y0 + L.panelH + 4, stroke: '#333' }));
      g.push(text(x(t), y0 + L.panelH + 15, String(t), { class: 'xtick', 'text-anchor': 'middle' }));
    }
    for (const t of eTicks) {
      const px = x(epochs!.stepAt(t));
      g.push(el('line', { x1: px, y1: y0 + L.panelH + 18, x2: px, y2: y0 + L.panelH + 21, stroke: '#888' }));
      g.push(text(px, y0 + L.panelH + 31, fmt(t, decimalsFor(eStep)), { class: 'etick', 'text-anchor': 'middle', fill: '#777', 'font-size': 10 }));
    }
    g.push(text(x0 + L.panelW / 2, y0 + L.panelH + 46, axisName, { 'text-anchor': 'middle', fill: '#333' }));
    g.push(el('rect', { class: 'frame', x: x0, y: y0, width: L.panelW, height: L.panelH, fill: 'none', stroke: '#999' }));
    if (ref) {
      g.push(el('line', { class: 'reference', x1: x0, y1: y(ref.value), x2: x0 + L.panelW, y2: y(ref.value), stroke: '#555', 'stroke-width': 1.5, 'stroke-dasharray': '2 3' }));
      g.push(text(x0 + L.panelW - 4, y(ref.value) - 4, `${ref.label} ${show(ref.value)}`, { 'text-anchor': 'end', fill: '#555', 'font-size': 10 }));
    }
    if (!values.length) g.push(text(x0 + L.panelW / 2, y0 + L.panelH / 2, 'not in the history', { 'text-anchor': 'middle', fill: '#999' }));
    sorted.forEach((r, k) => {
      const color = RUN_COLORS[k % RUN_COLORS.length]!;
      const pts = r.history.filter((h) => typeof h[panel.key] === 'number' && Number.isFinite(h[panel.key]));
      if (r.bestStep !== null) {
        g.push(el('line', { class: 'best-line', x1: x(r.bestStep), y1: y0, x2: x(r.bestStep), y2: y0 + L.panelH, stroke: color, 'stroke-dasharray': '4 3', 'stroke-opacity': 0.7 }));
      }
      g.push(polyline(pts.map((h) => [x(h.step), y(h[panel.key]!)] as const), { stroke: color, 'stroke-width': 1.8 }));
      for (const h of pts) {
        const tip = `${r.label}: step ${h.step}, epoch ${show(h.epoch)}: ${panel.title} ${show(h[panel.key]!)}${h.step === r.bestStep ? ' (best)' : ''}`;
        g.push(el('circle', { class: 'point', cx: x(h.step), cy: y(h[panel.key]!), r: 3, fill: color }, [el('title', {}, [esc(tip)])]));
        if (h.step === r.bestStep) g.push(el('circle', { class: 'best', cx: x(h.step), cy: y(h[panel.key]!), r: 6.5, fill: 'none', stroke: color, 'stroke-width': 2 }));
      }
    });
    body.push(el('g', { id: `panel-${panel.key}` }, g));
  });
  const captionTop = height - 14 * captionLines.length + 2;
  captionLines.forEach((line, i) => body.push(text(L.left, captionTop + 14 * i, line, { 'font-size': 10, fill: '#444' })));
  return svgDocument(width, height, o.title ?? `${title}: ${runs.map((r) => r.label).join(', ')}`, body);
}
