/**
 * A neuron's card as page elements (web/card.ts computes it): what it was computed on, the sequence
 * logo of its top windows (kn/logo_svg.ts), the windows (record, position, window, activation), the
 * position profile and detector call, the enrichment rows when there are several records, and the
 * effect of zeroing it alone next to a random neuron of the same module and layer. A query or key card is
 * a rotary pair (d, d+Dh/2): its activation is the pair's norm and it is zeroed against a random pair.
 */
import { type NeuronCard, unitsName } from '../../kn/explain.js';
import { logoSvg } from '../../kn/logo_svg.js';
import { neuronKey } from '../../kn/positions.js';
import type { PageCard } from '../card.js';
import { el } from './dom.js';

const fmt = (v: number | null): string => (v === null || !Number.isFinite(v) ? '–' : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(3) : v.toExponential(2));
const pct = (p: number) => `${(100 * p).toFixed(1)}%`;

/** "ffn_in, layer 1, neuron 37", or "query, layer 1, pair (5, 9)" when given a pair's units. */
export function neuronName(n: Pick<NeuronCard, 'module' | 'layer' | 'index'> & { readonly units?: readonly number[] }): string {
  return `${n.module}, layer ${n.layer}, ${unitsName(n)}`;
}

/** True for a query/key card (a rotary pair). */
const isPair = (card: NeuronCard): boolean => card.units.length === 2;

/** The logo SVG (the project's own, escaped markup) in a block. */
function logoBlock(card: NeuronCard): HTMLElement {
  const box = el('div', { class: 'logo' });
  box.innerHTML = logoSvg(card.logo, { title: `${neuronName(card)}: ${card.windows.length} top windows` });
  return box;
}

/** A window with its centre residue marked. */
function windowCell(w: string): HTMLElement {
  const mid = Math.floor(w.length / 2);
  return el('td', { class: 'window' }, w.slice(0, mid), el('b', {}, w[mid] ?? ''), w.slice(mid + 1));
}

function windowsTable(card: NeuronCard, several: boolean): HTMLElement {
  const head = el('tr', {}, ...['#', ...(several ? ['record', 'predicted'] : []), 'position', 'window (±7)', isPair(card) ? 'activation (pair norm)' : 'activation'].map((h) => el('th', {}, h)));
  const rows = card.windows.map((w, i) =>
    el('tr', { 'data-position': String(w.position), 'data-record': w.record },
      el('td', {}, String(i + 1)),
      ...(several ? [el('td', {}, w.record), el('td', {}, w.class)] : []),
      el('td', { class: 'num' }, String(w.position)),
      windowCell(w.window),
      el('td', { class: 'num' }, fmt(w.activation)),
    ),
  );
  return el('table', { class: 'card-windows' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

/** Mean activation per region and per tenth of the sequence, and the detector call. */
function profileBlock(card: NeuronCard): HTMLElement {
  const p = card.position_profile;
  const bins = p.bins.map((b) => b ?? 0);
  const peak = Math.max(1e-30, ...bins.map(Math.abs));
  const bars = bins.map((b, i) =>
    el('span', { class: b < 0 ? 'mini-bar neg' : 'mini-bar', style: `height: ${Math.max(1, Math.round((24 * Math.abs(b)) / peak))}px`, title: `${i * 10}–${(i + 1) * 10}% of the sequence: mean ${fmt(p.bins[i] ?? null)}` }));
  const len = card.length_correlation;
  return el('div', { class: 'card-profile' },
    el('p', {}, `Mean activation: first ${p.span} residues ${fmt(p.regions.n_term)}, core ${fmt(p.regions.core)}, last ${p.span} ${fmt(p.regions.c_term)}; ` +
      `top windows there: ${p.top_windows.n_term}, ${p.top_windows.core}, ${p.top_windows.c_term}. By tenth of the sequence: `, el('span', { class: 'mini-chart' }, ...bars)),
    el('p', {}, `Detector call: ${card.detector.kind ? `a ${card.detector.kind} detector` : 'none'} (${card.detector.reason})` +
      (len.spearman !== null ? `; Spearman of per-record mean activation with length ${len.spearman.toFixed(2)} over ${len.records} records.` : '.')),
  );
}

function enrichmentTable(card: NeuronCard): HTMLElement {
  const head = el('tr', {}, ...['predicted class', 'top windows', 'records', 'odds ratio', 'p (one-sided Fisher)', 'q (BH)'].map((h) => el('th', {}, h)));
  const rows = card.enrichment.map((r) =>
    el('tr', {}, el('td', {}, r.label), el('td', { class: 'num' }, `${r.in_top} of ${r.top_total}`), el('td', { class: 'num' }, `${r.in_set} of ${r.set_total}`),
      el('td', { class: 'num' }, Number.isNaN(r.odds_ratio) ? '–' : Number.isFinite(r.odds_ratio) ? r.odds_ratio.toFixed(2) : '∞'), el('td', { class: 'num' }, r.p_value.toPrecision(3)), el('td', { class: 'num' }, r.q_value.toPrecision(3))),
  );
  return el('table', { class: 'card-enrichment' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

function zeroLine(card: NeuronCard): HTMLElement {
  const z = card.zero_effect;
  if (!z || z.records === 0) return el('p', {}, `Zeroing: no record is predicted ${card.class}.`);
  const sign = (d: number) => `${d >= 0 ? '+' : ''}${(100 * d).toFixed(2)} points`;
  const what = isPair(card) ? 'pair (both units)' : 'neuron';
  return el('p', { class: 'card-zero' },
    `Zeroing this ${what} alone (at every residue) moves the mean P(${card.class}) over the ${z.records} record${z.records > 1 ? 's' : ''} predicted ${card.class} ` +
    `from ${pct(z.p_before)} to ${pct(z.p_after)} (${sign(z.change)}); zeroing ${unitsName(z.random)} of the same module and layer instead (a seeded random control) ` +
    `moves it to ${pct(z.random.p_after)} (${sign(z.random.change)}).`);
}

/** The whole card. */
export function cardView(pc: PageCard): HTMLElement {
  const card = pc.card;
  const several = pc.records > 1;
  const used = pc.records < pc.available ? `the first ${pc.records} of the page's ${pc.available} records (the analysed one first)` : several ? `the page's ${pc.records} records` : 'the analysed sequence, the only one the page has';
  const crop = pc.cropped ? ` ${pc.cropped} longer than the residue limit were cropped to it.` : '';
  const how = several
    ? `One window per record, at its most active residue; the ${card.windows.length} highest. The records carry no classes here, so each is labelled by the class the model predicts for it (${pc.predictedCounts.flatMap((n, c) => (n ? [`${pc.classNames[c]}: ${n}`] : [])).join(', ')}).`
    : `With a single sequence the windows are its ${card.windows.length} most active residues (windows may overlap), not one window per record as in the study's cards; enrichment needs several records.`;
  const ties = card.cutoff_ties.tied > card.cutoff_ties.kept ? ` ${card.cutoff_ties.tied} windows tie at the cut-off value and ${card.cutoff_ties.kept} of them were kept by a seeded draw.` : '';
  return el('div', { class: 'card' },
    el('h3', {}, `Card of ${neuronName(card)} (IG score for ${card.class} ${card.score.toExponential(3)}${isPair(card) ? `, of the table's unit ${pc.unit}` : ''})`),
    el('p', { class: 'hint' }, `Computed on ${used}, ranked by ${isPair(card) ? "the norm of the rotary pair's two activations at each residue (how a pair splits into its two units depends on the basis, its norm does not)" : "the neuron's activation at each residue"}.${crop} ${how}${ties}`),
    logoBlock(card),
    el('p', { class: 'hint' }, `Consensus: ${card.consensus} (upper case: the tallest letter has at least 1 bit; lower case: less; x: no information).`),
    windowsTable(card, several),
    profileBlock(card),
    ...(several && card.enrichment.length ? [el('p', {}, 'Which predicted classes its top windows come from, against the records\' composition:'), enrichmentTable(card)] : []),
    zeroLine(card),
  );
}

/** The card's key, for the section's data-neuron. */
export const cardKey = (pc: PageCard): string => neuronKey(pc.card);
