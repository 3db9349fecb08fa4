/**
 * A neuron card (kn/explain.ts) as one self-contained HTML page, card_<module>_<layer>_<index>.html,
 * written beside the card's logo (cli/neurons_explain.ts writeExplanations, so also into a report's
 * cards/ folder): the neuron's identity (a query/key card's rotary pair), its classes and score, the logo
 * inline, the top windows with the centre residue marked, the enrichment rows, the position profile as
 * a bar chart (profile_plot.ts), the length correlation and detector call, the zeroing effect beside its
 * random control, the attribution that ranked the windows, and links to the logo, motifs.json and the
 * report. Every text is escaped; the markup is also well-formed XML (every element closed), which the
 * tests check.
 */
import { type NeuronCard, unitsName } from '../../kn/explain.js';
import { logoSvg } from '../../kn/logo_svg.js';
import { profileSvg } from './profile_plot.js';
import { esc } from './svg.js';
import { type HtmlCell, table } from './table.js';

/** File name of a neuron's card page (beside logo_<module>_<layer>_<index>.svg). */
export function cardFileName(n: Pick<NeuronCard, 'module' | 'layer' | 'index'>): string {
  return `card_${n.module}_${n.layer}_${n.index}.html`;
}

/** What the page says and links beyond the card itself. */
export interface CardPageContext {
  /** The logo's file name beside the page (linked; the page inlines the logo as well). */
  readonly logoFile: string;
  /** What ranked the windows: motifs.json meta.attribution. */
  readonly attribution: string;
  /** One line on what the cards were computed from (model, task, records, scores). */
  readonly provenance: string;
  /** The report listing the card, relative to the page ('../report.html'), when there is one. */
  readonly report?: string;
}

/** Numbers as the tables show them: 3 significant digits, small ones exponential, non-finite as '-'. */
const num3 = (v: number | null): string =>
  v === null || !Number.isFinite(v) ? '-' : v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3);
const oddsRatio = (v: number): string => (Number.isNaN(v) ? '-' : v === Infinity ? 'inf' : num3(v));
const points = (d: number): string => (Number.isFinite(d) ? `${d >= 0 ? '+' : ''}${(100 * d).toFixed(2)} pp` : '-');
const prob = (p: number): string => (Number.isFinite(p) ? p.toFixed(4) : '-');
const isPair = (c: NeuronCard): boolean => c.units.length === 2;

/** "query, layer 1, pair (5, 13)" or "ffn_in, layer 0, neuron 37". */
export function cardTitle(c: Pick<NeuronCard, 'module' | 'layer' | 'index' | 'units'>): string {
  return `${c.module}, layer ${c.layer}, ${unitsName(c)}`;
}

/** A window with its centre residue in <mark>. */
export function windowHtml(w: string): string {
  const mid = Math.floor(w.length / 2);
  return `<code>${esc(w.slice(0, mid))}<mark>${esc(w.slice(mid, mid + 1))}</mark>${esc(w.slice(mid + 1))}</code>`;
}

function identity(c: NeuronCard): string {
  const rows: [string, string][] = [
    ['module', c.module],
    ['layer', String(c.layer)],
    isPair(c)
      ? ['units', `rotary pair (${c.units[0]}, ${c.units[1]}): index ${c.index} names the pair by its first unit; rotating q and k by one angle within a pair leaves the model unchanged but mixes its two units, so the pair is read by its norm and zeroed as a whole`]
      : ['index', String(c.index)],
    ['top neuron for', c.classes.join(', ')],
    [`mean score for ${c.class}`, c.score.toExponential(3)],
    ['logo consensus', c.consensus],
  ];
  return `<table class="identity"><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`;
}

function windowsTable(c: NeuronCard): string {
  const ec = c.windows.some((w) => w.ec !== undefined);
  const attr = c.windows.some((w) => w.attribution !== undefined);
  const width = c.windows[0]?.window.length ?? 15;
  const header = ['#', 'record', 'class', ...(ec ? ['EC'] : []), 'position', `window (centre +-${(width - 1) / 2})`, isPair(c) ? 'activation (pair norm)' : 'activation', ...(attr ? ['attribution'] : [])];
  const rows = c.windows.map((w, i): (string | HtmlCell)[] => [
    String(i + 1), w.record, w.class, ...(ec ? [w.ec ?? ''] : []), String(w.position), { html: windowHtml(w.window) }, num3(w.activation), ...(attr ? [num3(w.attribution ?? null)] : []),
  ]);
  const ties = c.cutoff_ties.tied > c.cutoff_ties.kept
    ? ` ${c.cutoff_ties.tied} records tie exactly at the cut-off value and ${c.cutoff_ties.kept} of them were kept by a seeded hash of the record id: enrichment among them is chance.`
    : '';
  return table(`The ${c.windows.length} top windows, one per record at its best residue (position 1-based, the marked residue at the centre).${ties}`, header, rows);
}

function enrichmentTable(c: NeuronCard): string {
  if (!c.enrichment.length) return '<p>No enrichment tests: the records carry no labels to test.</p>';
  return table('Enrichment of the top windows\' records against the set: one-sided Fisher p per card; q: Benjamini-Hochberg over every enrichment test of the run (all cards, both levels).',
    ['level', 'label', 'top windows', 'records in set', 'odds ratio', 'p (one-sided Fisher)', 'q (BH)'],
    c.enrichment.map((r) => [r.level, r.label, `${r.in_top} of ${r.top_total}`, `${r.in_set} of ${r.set_total}`, oddsRatio(r.odds_ratio), num3(r.p_value), num3(r.q_value)]));
}

function profileSection(c: NeuronCard): string {
  const p = c.position_profile;
  const regions = table(`Mean activation by region (first and last ${p.span} residues, the core between) and where the top windows centre.`,
    ['region', 'residues', 'mean activation', 'top windows'],
    (['n_term', 'core', 'c_term'] as const).map((r) => [r === 'n_term' ? `first ${p.span}` : r === 'c_term' ? `last ${p.span}` : 'core', String(p.residues[r]), num3(p.regions[r]), String(p.top_windows[r])]));
  const len = c.length_correlation;
  const rho = len.spearman === null ? `undefined (constant values or too few records; ${len.records} records)` : `${len.spearman.toFixed(3)} over ${len.records} records`;
  const call = c.detector.kind ? `a ${c.detector.kind} detector: ${c.detector.reason}` : `none (${c.detector.reason})`;
  return `<figure>${profileSvg(p, `${cardTitle(c)}: mean activation by tenth of the sequence`)}</figure>
${regions}
<p class="length">Spearman's rho of per-record mean activation against sequence length: ${esc(rho)}.</p>
<p class="detector">Detector call: ${esc(call)}.</p>`;
}

function zeroSection(c: NeuronCard): string {
  const z = c.zero_effect;
  if (!z) return '<p>Zeroing was not measured for this card.</p>';
  if (z.records === 0) return `<p>Zeroing: no record of class ${esc(c.class)} to measure it on.</p>`;
  const own = isPair(c) ? `this pair (${c.units.join(', ')})` : `this neuron (${c.index})`;
  const what = isPair(c) ? 'pair' : 'neuron';
  return table(`Mean probability of ${c.class} over ${z.records} records of that class, unedited and with this ${what} alone zeroed at every residue, against zeroing a seeded random ${what} of the same module and layer instead.`,
    ['zeroed', 'p before', 'p after', 'change'],
    [[own, prob(z.p_before), prob(z.p_after), points(z.change)], [`random control: ${unitsName(z.random)}`, prob(z.p_before), prob(z.random.p_after), points(z.random.change)]]);
}

const STYLE = `body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child, table.identity td { text-align: left; }
mark { background: #ffd966; font-weight: bold; }
figure { margin: 1em 0; overflow-x: auto; }
.nav { font-size: 13px; }`;

/** The page. */
export function cardPageHtml(c: NeuronCard, o: CardPageContext): string {
  const title = cardTitle(c);
  const links = [...(o.report ? [`<a href="${esc(o.report)}">report</a>`] : []), `<a href="motifs.json">motifs.json</a> (every card)`, `<a href="${esc(o.logoFile)}">logo (SVG)</a>`];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><title>${esc(`Neuron card: ${title}`)}</title>
<style>
${STYLE}
</style></head><body>
<p class="nav">${links.join(' | ')}</p>
<h1>${esc(title)} <small>(${esc(c.class)})</small></h1>
<p class="provenance">${esc(o.provenance)}</p>
<p class="attribution">Per-residue attribution: ${esc(o.attribution)}.</p>
${identity(c)}
<h2>Sequence logo of the top windows</h2>
<figure>${logoSvg(c.logo, { title: `${title} (${c.class}): ${c.consensus}, ${c.windows.length} windows` }).trim()}</figure>
<h2>Top windows</h2>
${windowsTable(c)}
<h2>Class and EC sub-class enrichment</h2>
${enrichmentTable(c)}
<h2>Where along the sequence it fires</h2>
${profileSection(c)}
<h2>Zeroing it</h2>
${zeroSection(c)}
</body></html>
`;
}
