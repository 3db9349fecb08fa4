/**
 * The result sections other than the attribution track and the neuron card: the class probability
 * chart, the neuron table (rows pick a card), and the preserve/ablate table with each row's class probabilities as a small bar chart.
 */
import type { EditEffect, NeuronRow } from '../analysis.js';
import { el } from './dom.js';

const pct = (p: number) => `${(100 * p).toFixed(1)}%`;

/** Horizontal bars, one per class, the predicted one highlighted. */
export function probabilityChart(labels: readonly string[], probs: ArrayLike<number>, predicted: number): HTMLElement {
  const rows = labels.map((name, c) =>
    el('div', { class: c === predicted ? 'prob-row predicted' : 'prob-row' },
      el('span', { class: 'prob-label' }, name),
      el('span', { class: 'prob-bar' }, el('span', { class: 'prob-fill', style: `width: ${(100 * probs[c]!).toFixed(2)}%` })),
      el('span', { class: 'prob-value', 'data-class': String(c), 'data-p': String(probs[c]!) }, pct(probs[c]!)),
    ),
  );
  return el('div', { class: 'prob-chart' }, ...rows);
}

/** A tiny inline chart of a probability vector (title lists them). */
function miniChart(labels: readonly string[], probs: ArrayLike<number>, highlight: number): HTMLElement {
  const bars = labels.map((_, c) => el('span', { class: c === highlight ? 'mini-bar hl' : 'mini-bar', style: `height: ${Math.max(1, Math.round(24 * probs[c]!))}px` }));
  return el('span', { class: 'mini-chart', title: labels.map((l, c) => `${l}: ${pct(probs[c]!)}`).join('\n') }, ...bars);
}

/**
 * The top neurons: rank, module, layer, index, score, and a button that shows the neuron's card
 * (`onPick`); a click anywhere on the row does the same, the button gives keyboard access.
 */
export function neuronTable(rows: readonly NeuronRow[], onPick?: (row: NeuronRow, tr: HTMLTableRowElement) => void): HTMLElement {
  const head = el('tr', {}, ...['#', 'module', 'layer', 'index', 'IG score', ...(onPick ? ['card'] : [])].map((h) => el('th', {}, h)));
  const body = rows.map((r, i) => {
    const button = el('button', { type: 'button', class: 'card-button', 'aria-label': `Show the card of ${r.module} layer ${r.layer} neuron ${r.index}` }, 'card');
    const tr = el('tr', onPick ? { class: 'pickable' } : {}, el('td', {}, String(i + 1)), el('td', {}, r.module), el('td', {}, String(r.layer)), el('td', {}, String(r.index)), el('td', { class: 'num' }, r.score.toExponential(3)),
      ...(onPick ? [el('td', {}, button)] : []));
    if (onPick) tr.addEventListener('click', () => onPick(r, tr));
    return tr;
  });
  return el('table', { class: 'neurons' }, el('thead', {}, head), el('tbody', {}, ...body));
}

function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
}

/** Per module type: probabilities with only its top neurons preserved, and with them ablated. */
export function effectsTable(labels: readonly string[], probs: ArrayLike<number>, predicted: number, effects: readonly EditEffect[]): HTMLElement {
  const head = el('tr', {}, ...['module', 'top neurons', `preserve only them: P(${labels[predicted]})`, 'prediction', `ablate them: P(${labels[predicted]})`, 'prediction'].map((h) => el('th', {}, h)));
  const cell = (p: ArrayLike<number>) => {
    const change = p[predicted]! - probs[predicted]!;
    return [
      el('td', { class: 'num' }, `${pct(p[predicted]!)} `, el('span', { class: change < 0 ? 'down' : 'up' }, `(${change >= 0 ? '+' : ''}${(100 * change).toFixed(1)})`), ' ', miniChart(labels, p, predicted)),
      el('td', {}, labels[argmax(p)]!),
    ];
  };
  const body = effects.map((e) => el('tr', {}, el('td', {}, e.module), el('td', { class: 'num' }, `${e.selected} of ${e.total}`), ...cell(e.preserve), ...cell(e.ablate)));
  const before = el('tr', { class: 'before' }, el('td', {}, 'unedited'), el('td', {}, ''), el('td', { class: 'num' }, pct(probs[predicted]!), ' ', miniChart(labels, probs, predicted)), el('td', {}, labels[predicted]!), el('td', {}, ''), el('td', {}, ''));
  return el('table', { class: 'effects' }, el('thead', {}, head), el('tbody', {}, before, ...body));
}
