/**
 * `esm-kn neurons explain` end to end on a tiny saved classifier: motifs.json with the cards' keys
 * (query cards as rotary pairs: `index` the first unit, `units` both), motifs.csv with one row per card,
 * one logo SVG and one well-formed card page per card (its windows and enrichment rows as in
 * motifs.json), and one-line errors.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EC_CLASS_NAMES } from '../data/dataset.js';
import { cli, errorLines } from './lib/cli.js';
import { assertWellFormedXml, tableRows } from './lib/markup.js';
import { saveTinyClassifier } from './lib/classifier_fixtures.js';
import { tinyClassifier } from './lib/kn_fixtures.js';
import { compositionFasta, tempDir, writeText } from './lib/train_fixtures.js';

const dir = tempDir('kn-explain');
const data = writeText(dir, 'composition.fasta', compositionFasta(90, 2));
const modelDir = join(dir, 'model');
const labels = EC_CLASS_NAMES.slice(1);
const tiny = tinyClassifier(4, 2, 16, labels.length);

test.before(() => saveTinyClassifier(modelDir, tiny, labels, 'ec'));

/** The fields of a motifs.json card that its page shows. */
interface JsonCard {
  module: string; layer: number; index: number; units: number[]; class: string; logo_file: string; card_file: string;
  windows: { record: string; position: number; window: string; class: string }[];
  enrichment: { level: string; label: string; in_top: number; top_total: number; odds_ratio: number | string | null; p_value: number; q_value: number }[];
  length_correlation: { spearman: number | null; records: number };
  detector: { kind: string | null; reason: string };
  zero_effect: { records: number; change: number; random: { change: number } } | null;
}

/** A shown number against its value: 3 significant digits, or `places` decimals. */
const near = (cell: string, v: number, what: string, places?: number): void => {
  const x = Number(cell);
  const tol = places === undefined ? 5e-3 * Math.abs(v) + 1e-12 : 0.5 * 10 ** -places + 1e-12;
  assert.ok(Number.isFinite(x) && Math.abs(x - v) <= tol, `${what}: page ${cell}, motifs.json ${v}`);
};

/** A card page against its motifs.json card: well-formed, named, its windows and enrichment rows the card's. */
function checkCardPage(html: string, c: JsonCard, attribution: string): void {
  const what = c.card_file;
  assert.is(assertWellFormedXml(html, what), 'html');
  const name = c.units.length === 2 ? `pair (${c.units[0]}, ${c.units[1]})` : `neuron ${c.index}`;
  assert.ok(html.includes(`<h1>${c.module}, layer ${c.layer}, ${name} `), `${what}: identity`);
  assert.ok(html.includes(`<a href="${c.logo_file}">`) && html.includes('<svg xmlns="http://www.w3.org/2000/svg"'), `${what}: logo inline and linked`);
  assert.ok(html.includes(`Per-residue attribution: ${attribution}.`), `${what}: attribution`);
  const windows = tableRows(html, `The ${c.windows.length} top windows`);
  assert.is(windows.length, c.windows.length, `${what}: a row per window`);
  c.windows.forEach((w, i) => {
    const row = windows[i]!;
    assert.equal([row[1], row[2], row[3], row[4]], [w.record, w.class, String(w.position), w.window], `${what}: window ${i + 1}`);
    const mid = (w.window.length - 1) / 2;
    assert.ok(html.includes(`<code>${w.window.slice(0, mid)}<mark>${w.window[mid]}</mark>${w.window.slice(mid + 1)}</code>`), `${what}: window ${i + 1}'s centre marked`);
  });
  const enrichment = tableRows(html, 'Enrichment of the top windows');
  assert.is(enrichment.length, c.enrichment.length, `${what}: a row per enrichment test`);
  c.enrichment.forEach((r, i) => {
    const row = enrichment[i]!;
    assert.equal(row.slice(0, 3), [r.level, r.label, `${r.in_top} of ${r.top_total}`], `${what}: enrichment row ${i + 1}`);
    if (typeof r.odds_ratio === 'number') near(row[4]!, r.odds_ratio, `${what}: odds ratio ${i + 1}`);
    else assert.is(row[4], r.odds_ratio === 'Infinity' ? 'inf' : '-');
    near(row[5]!, r.p_value, `${what}: p ${i + 1}`);
    near(row[6]!, r.q_value, `${what}: q ${i + 1}`);
  });
  assert.ok(html.includes(`Detector call: ${c.detector.kind ? `a ${c.detector.kind} detector` : 'none'}`), `${what}: detector call`);
  if (c.length_correlation.spearman !== null) assert.ok(html.includes(`${c.length_correlation.spearman.toFixed(3)} over ${c.length_correlation.records} records`), `${what}: length correlation`);
  if (c.zero_effect!.records === 0) {
    assert.ok(html.includes(`no record of class ${c.class} to measure it on`), `${what}: no zeroing records`);
    return;
  }
  const zero = tableRows(html, 'Mean probability of');
  assert.is(zero.length, 2, `${what}: the neuron and its random control`);
  assert.ok(zero[1]![0]!.startsWith('random control: '));
  near(zero[0]![3]!.replace(' pp', ''), 100 * c.zero_effect!.change, `${what}: zeroing change`, 2);
  near(zero[1]![3]!.replace(' pp', ''), 100 * c.zero_effect!.random.change, `${what}: random change`, 2);
}

test('esm-kn neurons explain writes motifs.json, motifs.csv, and a logo and card page per neuron', () => {
  const scores = join(dir, 'act.safetensors');
  const common = ['--data', data, '--max-len', '40', '--quiet'];
  let r = cli('neurons', 'score', modelDir, '--out', scores, '--method', 'activation', '--examples', '2', ...common);
  assert.is(r.status, 0, r.stderr);
  const out = join(dir, 'cards');
  r = cli('neurons', 'explain', modelDir, scores, '--out', out, '--top', '1', '--modules', 'ffn_in', 'value', 'query', '--windows', '5', '--zero-records', '2', '--method', 'ig', ...common);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /neuron cards on \d+ records written to/);
  const json = JSON.parse(readFileSync(join(out, 'motifs.json'), 'utf8')) as { format: string; meta: Record<string, unknown>; neurons: Record<string, unknown>[]; jaccard: number[][]; clusters: unknown[]; top_sets: string[][] };
  assert.is(json.format, 'esm-kn-neuron-cards');
  assert.ok(json.neurons.length >= 3 && json.neurons.length <= 3 * labels.length, `${json.neurons.length} cards`);
  const Dh = tiny.config.headDim;
  for (const n of json.neurons) {
    const i = n.index as number;
    const pair = n.module === 'query';
    assert.equal(n.units, pair ? [i, i + Dh / 2] : [i], `${String(n.module)} ${i}: units`);
    if (pair) assert.ok(i % Dh < Dh / 2, `query ${i} is a pair's first unit`);
  }
  assert.ok(json.neurons.some((n) => n.module === 'query'), 'a query card');
  for (const key of ['module', 'layer', 'index', 'units', 'class', 'windows', 'logo', 'enrichment', 'position_profile', 'length_correlation', 'zero_effect', 'detector', 'logo_file', 'card_file']) {
    assert.ok(key in json.neurons[0]!, `card has ${key}`);
  }
  const w = (json.neurons[0]!.windows as { window: string; attribution?: number }[])[0]!;
  assert.is(w.window.length, 15);
  assert.is(typeof w.attribution, 'number', '--method ig keeps the attribution');
  assert.match(String(json.meta.attribution), /^gradient x activation/);
  assert.is(json.jaccard.length, labels.length);
  assert.ok(json.jaccard.every((row, i) => row[i] === 1));
  const csv = readFileSync(join(out, 'motifs.csv'), 'utf8').trim().split('\n');
  assert.is(csv.length, json.neurons.length + 1);
  assert.ok(csv[0]!.startsWith('module,layer,index,class,classes,score,consensus'), csv[0]);
  assert.ok(csv[0]!.endsWith(',units,random_units'), csv[0]);
  const logos = readdirSync(out).filter((f) => f.startsWith('logo_'));
  assert.is(logos.length, json.neurons.length);
  for (const n of json.neurons) {
    const svg = readFileSync(join(out, `logo_${n.module}_${n.layer}_${n.index}.svg`), 'utf8');
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') && svg.trim().endsWith('</svg>'));
  }
  assert.is(readdirSync(out).filter((f) => f.startsWith('card_')).length, json.neurons.length, 'a card page per neuron');
  for (const n of json.neurons as unknown as JsonCard[]) {
    assert.is(n.card_file, `card_${n.module}_${n.layer}_${n.index}.html`);
    checkCardPage(readFileSync(join(out, n.card_file), 'utf8'), n, String(json.meta.attribution));
  }
  assert.ok(json.neurons.some((n) => (n.enrichment as unknown[]).length > 0), 'some card has enrichment rows to compare');
  assert.ok(json.neurons.some((n) => ((n.zero_effect as { records: number } | null)?.records ?? 0) > 0), 'some card has a zeroing table to compare');
  assert.is(readdirSync(out).filter((f) => f.includes('.tmp')).length, 0, 'no temporary files left');
});

test('esm-kn neurons explain --ig-steps: per-residue integrated gradients, recorded in the meta', () => {
  const out = join(dir, 'cards-ig');
  const r = cli('neurons', 'explain', modelDir, join(dir, 'act.safetensors'), '--out', out, '--top', '1', '--modules', 'ffn_in', 'key', '--windows', '3', '--zero-records', '1',
    '--method', 'ig', '--ig-steps', '3', '--rule', 'riemann', '--positions', 'residues', '--data', data, '--max-len', '40', '--quiet');
  assert.is(r.status, 0, r.stderr);
  const json = JSON.parse(readFileSync(join(out, 'motifs.json'), 'utf8')) as { meta: Record<string, unknown>; neurons: { windows: { attribution?: number }[] }[] };
  assert.match(String(json.meta.attribution), /^integrated gradients, m = 3, riemann, zero baseline, residues positions/);
  assert.ok(json.neurons.every((n) => n.windows.every((w) => typeof w.attribution === 'number')), 'every window has its attribution');
});

test('esm-kn neurons explain reads a windowed model as it reads: every residue, window by window; --max-len N crops instead', async () => {
  const windowed = join(dir, 'windowed');
  await saveTinyClassifier(windowed, tiny, labels, 'ec', { inference: { max_len: 12, window: { size: 12, stride: 6 } } });
  const common = ['--top', '1', '--modules', 'ffn_in', '--windows', '5', '--zero-records', '1', '--data', data, '--quiet'];
  const out = join(dir, 'cards-windowed');
  let r = cli('neurons', 'explain', windowed, join(dir, 'act.safetensors'), '--out', out, ...common);
  assert.is(r.status, 0, r.stderr);
  const json = JSON.parse(readFileSync(join(out, 'motifs.json'), 'utf8')) as { meta: { window: unknown; positions: string }; neurons: JsonCard[] };
  assert.equal(json.meta.window, { size: 12, stride: 6 });
  assert.match(json.meta.positions, /^every residue of each record, read as the model reads it: 12-residue windows at stride 6/);
  // The records are 16-35 residues: windows centred past residue 12 exist only when every residue is read.
  assert.ok(json.neurons.some((c) => c.windows.some((w) => w.position > 12)), 'windows beyond the first 12 residues');
  const page = readFileSync(join(out, json.neurons[0]!.card_file), 'utf8');
  assert.ok(page.includes('each read whole in 12-residue windows at stride 6'), 'the card page says how the records were read');
  // The default ranks windows by activation and keeps each window's gradient x activation beside it.
  assert.match(String((json.meta as Record<string, unknown>).attribution), /^gradient x activation .*kept with each window \(windows ranked by activation\)$/);
  for (const c of json.neurons) {
    const ws = c.windows as unknown as { activation: number; attribution: number }[];
    assert.ok(ws.every((w) => typeof w.attribution === 'number' && Number.isFinite(w.attribution)), `${c.card_file}: every window has its attribution`);
    assert.ok(ws.every((w, i) => i === 0 || ws[i - 1]!.activation >= w.activation), `${c.card_file}: windows by descending activation`);
  }
  const cropped = join(dir, 'cards-cropped');
  r = cli('neurons', 'explain', windowed, join(dir, 'act.safetensors'), '--out', cropped, '--max-len', '12', ...common);
  assert.is(r.status, 0, r.stderr);
  const c = JSON.parse(readFileSync(join(cropped, 'motifs.json'), 'utf8')) as { meta: { window?: unknown; positions: string }; neurons: JsonCard[] };
  assert.is(c.meta.window, undefined);
  assert.ok(c.neurons.every((n) => n.windows.every((w) => w.position <= 12)), '--max-len 12: the first 12 residues only');
});

test('esm-kn neurons explain: one-line errors for bad usage and bad files', () => {
  let r = cli('neurons', 'explain', modelDir, join(dir, 'missing.safetensors'), '--out', join(dir, 'x'), '--data', data);
  assert.is(r.status, 1);
  assert.is(errorLines(r.stderr).length, 1, r.stderr);
  r = cli('neurons', 'explain', modelDir, '--out', join(dir, 'x'));
  assert.is(r.status, 2);
  r = cli('neurons', 'explain', modelDir, join(dir, 'act.safetensors'), '--out', join(dir, 'x'), '--method', 'gradient');
  assert.is(r.status, 2);
  assert.match(errorLines(r.stderr)[0]!, /--method gradient is not one of activation, ig/);
  r = cli('neurons', 'explain', modelDir, join(dir, 'act.safetensors'), '--out', join(dir, 'x'), '--ig-steps', '4');
  assert.is(r.status, 2);
  assert.match(errorLines(r.stderr)[0]!, /--ig-steps needs --method ig/);
  r = cli('neurons', 'explain', modelDir, join(dir, 'act.safetensors'), '--out', join(dir, 'x'), '--method', 'ig', '--rule', 'riemann');
  assert.is(r.status, 2);
  assert.match(errorLines(r.stderr)[0]!, /--rule needs --ig-steps/);
  r = cli('neurons', 'explain', modelDir, join(dir, 'act.safetensors'), '--out', join(dir, 'x'), '--method', 'ig', '--ig-steps', '0');
  assert.is(r.status, 2);
});

test.run();
