/**
 * The commands end to end on a tiny saved classifier: `esm-kn experiment` writes results.json with the
 * required keys, results.csv, well-formed SVGs and report.html; `esm-kn neurons score | select |
 * ablate | density | edit` chain through their files; scores survive a save and load unchanged.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EC_CLASS_NAMES } from '../data/dataset.js';
import { NEURON_MODULES } from '../model/esm.js';
import { neuronLayout } from '../kn/layout.js';
import type { NeuronScores } from '../kn/scores.js';
import { loadScores, saveScores } from '../kn/scores_io.js';
import { PRESETS, readingLength, studyWorkload, validationOf } from '../cli/experiment.js';
import { REGIME_GAP, banner } from '../cli/report/sections.js';
import type { StudyResult } from '../kn/study.js';
import { cli, errorLines } from './lib/cli.js';
import { assertWellFormedXml } from './lib/markup.js';
import { saveTinyClassifier } from './lib/classifier_fixtures.js';
import { compositionFasta, tempDir, writeText } from './lib/train_fixtures.js';
import { tinyClassifier } from './lib/kn_fixtures.js';

const dir = tempDir('kn-report');
const data = writeText(dir, 'composition.fasta', compositionFasta(90, 2));
const modelDir = join(dir, 'model');
const labels = EC_CLASS_NAMES.slice(1);
const tiny = tinyClassifier(4, 2, 16, labels.length);

test.before(() => saveTinyClassifier(modelDir, tiny, labels, 'ec'));

test('esm-kn experiment writes the report: results.json keys, CSV, well-formed SVGs, report.html', () => {
  const out = join(dir, 'report');
  const r = cli('experiment', '--model', modelDir, '--data', data, '--out', out, '--examples', '2', '--test-examples', '3', '--steps', '3',
    '--seeds', '2', '--fractions', '10', '50', '--rankings', 'layer', 'global', '--bootstrap', '20', '--resamples', '50', '--class-edit-seeds', '2',
    '--max-len', '24', '--target-agreement', '--quiet');
  assert.is(r.status, 0, r.stderr);
  assert.equal(errorLines(r.stderr), []);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Record<string, unknown>;
  for (const key of ['meta', 'unablated', 'rows', 'density', 'density_modules', 'key_statement', 'class_edits', 'completeness', 'tests', 'verdicts', 'nulls']) {
    assert.ok(key in results, `results.json has ${key}`);
  }
  const rows = results.rows as Record<string, unknown>[];
  // 6 modules x 2 rankings x 2 fractions x 2 methods x (the method, 2 layer-matched random seeds).
  assert.is(rows.length, 6 * 2 * 2 * 2 * 3);
  for (const key of ['module', 'method', 'fraction', 'seed', 'matched', 'accuracy', 'macro_f1', 'model', 'split', 'steps']) assert.ok(key in rows[0]!, `row has ${key}`);
  assert.equal([...new Set(rows.map((x) => x.method))].sort(), ['activation', 'ig', 'random']);
  assert.equal([...new Set(rows.filter((x) => x.method === 'random').map((x) => x.seed))].sort(), [0, 1]);
  assert.ok(rows.every((x) => typeof x.accuracy === 'number' && (x.accuracy as number) >= 0 && (x.accuracy as number) <= 1));
  // The workload line's count bounds the grid's distinct passes (layer and global rankings, 2 seeds, 2 fractions).
  const bound = Number(/up to (\d+) passes/.exec(studyWorkload({ modules: [...NEURON_MODULES], rankings: ['layer', 'global'], fractions: [0.1, 0.5], seeds: [0, 1], refined: null, testPerClass: 3, batching: { maxLength: 24 } }, [], 6, 0))![1]);
  const passes = (results.meta as { ablation_passes: number }).ablation_passes;
  assert.ok(passes >= 6 * 2 * (2 + 2) && passes <= bound, `grid passes ${passes}, workload bound ${bound}`);
  // One test per (module, method, ranking, fraction, metric), each with the fields the checks read.
  const tests = results.tests as Record<string, unknown>[];
  assert.is(tests.length, 6 * 2 * 2 * 2 * 2);
  for (const key of ['module', 'method', 'ranking', 'fraction', 'metric', 'effect', 'ci_low', 'ci_high', 'p_value', 'p_adjusted']) assert.ok(key in tests[0]!, `test has ${key}`);
  // With 2 random seeds the smallest p-value is 1/3 and nothing can be significant.
  assert.ok(tests.every((t) => (t.p_value as number) >= 1 / 3 - 1e-12 && (t.p_adjusted as number) >= (t.p_value as number) && t.significant === false));
  const verdicts = results.verdicts as { beats_random: Record<string, unknown>[]; key_density: Record<string, unknown> };
  assert.is(verdicts.beats_random.length, 6 * 2 * 2 * 2);
  for (const key of ['module', 'method', 'fraction', 'significant', 'p_adjusted']) assert.ok(key in verdicts.beats_random[0]!, `beats_random has ${key}`);
  assert.ok(typeof verdicts.key_density.statement === 'string' && typeof verdicts.key_density.significant === 'boolean');
  const nulls = results.nulls as { name: string; tests: unknown[] }[];
  assert.equal(nulls.map((n) => n.name), ['reinit-head', 'reinit-all']);
  assert.ok(nulls.every((n) => n.tests.length === tests.length));
  const density = results.density as { cells: Record<string, unknown>[]; mass: { module: string; abs: number }[] };
  assert.is(density.cells.length, NEURON_MODULES.length * 2);
  for (const key of ['module', 'layer', 'share']) assert.ok(key in density.cells[0]!, `density has ${key}`);
  assert.equal(density.mass.map((m) => m.module), [...NEURON_MODULES]);
  // The basis-free checks: key's zeroing drop against each other type (query untested), activation density among the residual writers.
  const basis = results.density as { zeroing_contrasts: { other: string; testable: boolean; p_adjusted: number }[]; activation: { modules: string[]; shares: unknown[]; p_value: number }; key_density: { contrasts: { quantity: string }[] } };
  assert.equal(basis.zeroing_contrasts.map((c) => c.other), NEURON_MODULES.filter((m) => m !== 'key'));
  assert.equal(basis.zeroing_contrasts.map((c) => c.testable), NEURON_MODULES.filter((m) => m !== 'key').map((m) => m !== 'query'));
  assert.equal(basis.activation.modules, ['attn_out', 'ffn_out']);
  assert.ok(basis.activation.shares.length === 2 && basis.activation.p_value > 0 && basis.activation.p_value <= 1);
  assert.equal([...new Set(basis.key_density.contrasts.map((c) => c.quantity))], ['share', 'per_neuron', 'mass']);
  const meta = results.meta as Record<string, unknown>;
  for (const key of ['model', 'test_split', 'random_seeds', 'steps', 'rule', 'scored_records', 'test_records', 'wall_seconds']) assert.ok(key in meta, `meta has ${key}`);
  assert.is(meta.steps, 3);
  assert.is(meta.smoke_test, true);
  // The quick preset: Gauss-Legendre nodes, suppression only in the class edits.
  assert.is(meta.rule, 'gauss-legendre');
  assert.equal(meta.class_edit_kinds, ['suppress']);
  assert.is(meta.card_attribution, 'gradient x activation (the IG integrand at alpha = 1), kept with each window (windows ranked by activation)', 'the quick preset\'s cards rank windows by activation and keep each window\'s attribution');
  const edits = results.class_edits as { edit: string }[];
  assert.ok(edits.length > 0 && edits.every((e) => e.edit === 'suppress'));
  const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
  assert.is(csv.length, rows.length + 1);
  assert.ok(csv[0]!.startsWith('module,method,ranking,replacement,fraction,seed,matched,kept,accuracy,macro_f1'), csv[0]);
  assert.is(readFileSync(join(out, 'tests.csv'), 'utf8').trim().split('\n').length, tests.length + 1);
  for (const svg of ['accuracy.svg', 'macro_f1.svg', 'density.svg']) {
    const text = readFileSync(join(out, svg), 'utf8');
    assert.is(assertWellFormedXml(text, svg), 'svg');
    assert.ok(text.includes('xmlns="http://www.w3.org/2000/svg"'), `${svg} has the SVG namespace`);
    assert.ok(text.includes('m=3'), `${svg} says which m produced it`);
  }
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  // IG target agreement: the main target ('true') against 'predicted' and, when any scored example is right, 'correct'.
  const agreement = results.target_agreement as { targets: string[]; examples: number; overall: number; modules: { module: string; spearman: number }[] }[];
  assert.equal(agreement[0]!.targets, ['true', 'predicted']);
  assert.ok(agreement.length <= 2 && (agreement.length === 1 || agreement[1]!.targets[1] === 'correct'));
  for (const a of agreement) {
    assert.ok(a.examples >= 1 && Math.abs(a.overall) <= 1 + 1e-12, JSON.stringify(a));
    assert.equal(a.modules.map((m) => m.module), [...NEURON_MODULES]);
  }
  assert.ok(html.includes('Rank agreement (Spearman)') && html.includes('true vs predicted'), 'the report shows the target agreement');
  // Each null's own tests are in the page too (one collapsed section per null, its tests table inside).
  assert.is(html.split('<details class="null-tests">').length - 1, 2, 'one section per null');
  assert.ok(html.includes('reinit-head: ablation tests against layer-matched random selections') && html.includes('reinit-all: whole module types zeroed'));
  assert.ok(html.includes('over the residues read: the first 24 of each record'), 'the detector column says which residues it is over');
  assert.ok(html.includes('key minus') && html.includes('Density by activation where the units compare') && html.includes('untestable by construction'), 'the report shows the basis-free checks');
  assert.ok(html.startsWith('<!DOCTYPE html>') && html.includes('</html>'));
  assert.is((html.match(/<svg /g) ?? []).length, 3, 'the three figures are inline');
  assert.ok(html.includes('<table>') && html.includes(String(verdicts.key_density.statement).slice(0, 20)));
  assert.ok(html.includes(`Smoke test: ${String(meta.test_records)} test records`), 'the smoke-test banner');
  assert.ok(existsSync(join(out, 'scores', 'ig.safetensors')) && existsSync(join(out, 'scores', 'activation.safetensors')));
  // Neuron cards: every card's logo and page exist, the report's top-neuron table links both, and the page links back.
  const cards = JSON.parse(readFileSync(join(out, 'cards', 'motifs.json'), 'utf8')) as { neurons: { module: string; layer: number; index: number; units: number[] }[] };
  assert.ok(cards.neurons.length > 0);
  for (const c of cards.neurons) {
    const file = `logo_${c.module}_${c.layer}_${c.index}.svg`;
    assert.ok(existsSync(join(out, 'cards', file)), file);
    assert.ok(html.includes(`href="cards/${file}"`), `report links ${file}`);
    const page = `card_${c.module}_${c.layer}_${c.index}.html`;
    assert.ok(html.includes(`href="cards/${page}"`), `report links ${page}`);
    const card = readFileSync(join(out, 'cards', page), 'utf8');
    assert.is(assertWellFormedXml(card, page), 'html');
    assert.ok(card.includes('<a href="../report.html">report</a>'), `${page} links back to the report`);
    assert.ok(card.includes(`Per-residue attribution: ${String(meta.card_attribution)}.`), `${page} names the attribution`);
    assert.ok(card.includes('m=3'), `${page} carries the report's provenance`);
  }
  // Every card link in the report resolves to a file.
  const linked = [...html.matchAll(/href="(cards\/[^"]+)"/g)].map((m) => m[1]!);
  assert.is(linked.length, 2 * cards.neurons.length);
  for (const f of linked) assert.ok(existsSync(join(out, f)), `report links ${f}, which exists`);
  // Query and key cards are rotary pairs, named as such in the table.
  const pairs = cards.neurons.filter((c) => c.module === 'query' || c.module === 'key');
  assert.ok(pairs.length > 0, 'query/key cards');
  for (const c of pairs) assert.ok(c.units.length === 2 && c.units[0] === c.index && html.includes(`<td>pair (${c.units[0]}, ${c.units[1]})</td>`), `${c.module} ${c.layer} ${c.index}: pair ${c.units}`);
  const baselines = results.baselines as { name: string }[];
  assert.equal(baselines.map((b) => b.name), ['majority', 'composition', '3-mer 1-NN']);
});

test('esm-kn experiment --scores DIR takes the scores instead of scoring, and refuses a folder without them', () => {
  const first = join(dir, 'report');
  const out = join(dir, 'report-from-scores');
  const r = cli('experiment', '--model', modelDir, '--data', data, '--out', out, '--scores', join(first, 'scores'), '--test-examples', '3', '--steps', '3',
    '--seeds', '2', '--fractions', '10', '--bootstrap', '20', '--resamples', '20', '--class-edit-seeds', '0', '--nulls', 'none', '--explain-top', '0', '--card-ig-steps', '2', '--max-len', '24', '--quiet');
  assert.is(r.status, 0, r.stderr);
  const a = JSON.parse(readFileSync(join(first, 'results.json'), 'utf8')) as { meta: Record<string, unknown>; density_modules: unknown };
  const b = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { meta: Record<string, unknown>; density_modules: unknown };
  assert.is(b.meta.scores_from, join(first, 'scores'));
  assert.match(String(b.meta.card_attribution), /^integrated gradients, m = 2, gauss-legendre, zero baseline, all positions/);
  assert.is(PRESETS.full.cardIgSteps, 10, 'the full preset\'s cards use 10-node IG');
  assert.is(PRESETS.quick.cardIgSteps, null);
  assert.is(b.meta.scored_records, a.meta.scored_records);
  // Density depends on the IG scores only: the same scores give the same density.
  assert.equal(b.density_modules, a.density_modules);
  const bad = cli('experiment', '--model', modelDir, '--data', data, '--out', join(dir, 'nope'), '--scores', dir, '--quiet');
  assert.is(bad.status, 1);
  assert.equal(errorLines(bad.stderr).length, 1, bad.stderr);
  assert.ok(bad.stderr.includes('ig.safetensors'), bad.stderr);
});

test('esm-kn neurons score | select | ablate | density | edit chain through their files', () => {
  const scores = join(dir, 'ig.safetensors');
  const common = ['--data', data, '--max-len', '24', '--quiet'];
  let r = cli('neurons', 'score', modelDir, '--out', scores, '--examples', '1', '--steps', '2', '--rule', 'gauss-legendre', ...common);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /completeness: mean \|sum of attributions/);
  const selection = join(dir, 'selection.json');
  r = cli('neurons', 'select', scores, '--out', selection, '--fractions', '20', '--seeds', '1', '--modules', 'key', 'ffn_in');
  assert.is(r.status, 0, r.stderr);
  const sel = JSON.parse(readFileSync(selection, 'utf8')) as { selections: { module: string; kept: number[][] }[] };
  assert.is(sel.selections.length, 4);
  assert.is(sel.selections[0]!.kept[0]!.length, Math.round(0.2 * 16));
  r = cli('neurons', 'ablate', modelDir, selection, '--test-examples', '2', '--json', ...common);
  assert.is(r.status, 0, r.stderr);
  const ablated = JSON.parse(r.stdout) as { rows: { method: string }[] };
  assert.equal(ablated.rows.map((x) => x.method), ['unablated', 'ig', 'random', 'ig', 'random']);
  r = cli('neurons', 'density', scores, '--top', '5', '--bootstrap', '10');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /key projections/);
  r = cli('neurons', 'edit', modelDir, scores, '--test-examples', '2', '--modules', 'ffn_in', '--top', '5', ...common);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /suppress/);
  r = cli('neurons', 'select', join(dir, 'missing.safetensors'), '--out', selection);
  assert.is(r.status, 1);
  assert.is(errorLines(r.stderr).length, 1, 'one-line error');
  const badSel = join(dir, 'bad-selection.json');
  writeFileSync(badSel, JSON.stringify({ ...sel, format: 'esm-kn-neuron-selection', selections: [{ ...sel.selections[0], module: 'keys' }] }));
  r = cli('neurons', 'ablate', modelDir, badSel, '--test-examples', '2', ...common);
  assert.is(r.status, 1);
  assert.equal(errorLines(r.stderr).length, 1, r.stderr);
  assert.match(errorLines(r.stderr)[0]!, /bad-selection\.json: selection 0: unknown module 'keys'/);
});

test('scores survive save and load unchanged', async () => {
  const layout = neuronLayout(tiny.config);
  const s: NeuronScores = {
    method: 'ig', layout, classNames: ['x', 'y'], examples: [{ id: 'a', label: 1, residues: 7 }, { id: 'b', label: 0, residues: 9 }],
    values: Float32Array.from({ length: 2 * layout.total }, (_, i) => Math.cos(i)),
    completeness: Float32Array.from({ length: 2 * 12 * 3 }, (_, i) => i / 7), meta: { steps: 20, model: 'm' },
  };
  const path = join(dir, 'roundtrip.safetensors');
  await saveScores(path, s);
  const back = await loadScores(path);
  assert.equal(back.examples, s.examples);
  assert.equal(Array.from(back.values), Array.from(s.values));
  assert.equal(Array.from(back.completeness!), Array.from(s.completeness!));
  assert.equal(back.layout, s.layout);
  assert.equal(back.meta, s.meta);
  assert.is(back.method, 'ig');
});

test('the study length follows the model reading in the full preset; the regime banner fires beyond the gap', () => {
  assert.is(readingLength(null), 64);
  assert.is(readingLength({ maxLength: 128, window: null }), 128);
  assert.is(readingLength({ maxLength: 1022, window: { size: 256, stride: 128 } }), 256);
  assert.equal(validationOf({ metrics: { split: 'valid', accuracy: 0.6, macro_f1: 0.4, records: 1336 } }), { accuracy: 0.6, macro_f1: 0.4, records: 1336 });
  assert.is(validationOf({ metrics: { split: 'test', accuracy: 0.6, macro_f1: 0.4 } }), null);
  assert.is(validationOf({}), null);
  const r = { tested: new Array(400).fill(null), attainable_p: 0.001, unablated: { accuracy: 0.5, macro_f1: 0.3 } } as unknown as StudyResult;
  const meta = { max_length: 64, model_reading: 'the mean of 256-residue windows at stride 128', random_seeds: [0], fractions: [0.1], rankings: ['layer'] };
  const far = banner(r, { ...meta, model_validation: { accuracy: 0.5 + REGIME_GAP + 0.01, records: 1336 } });
  assert.ok(far.includes('Regime: the study reads the first 64 residues') && far.includes('256-residue windows'), far);
  assert.is(banner(r, { ...meta, model_validation: { accuracy: 0.5 + REGIME_GAP - 0.01, records: 1336 } }), '');
  assert.is(banner(r, { ...meta, model_validation: null }), '');
});

test('the workload line counts the ablation passes the grid plans, records and residue-passes', () => {
  // 3 classes: 12, 5 and 20 records of 50 and 300 residues.
  const test_ = [...Array(12)].map(() => ({ sequence: 'A'.repeat(50), label: 0 }))
    .concat([...Array(5)].map(() => ({ sequence: 'A'.repeat(300), label: 1 })), [...Array(20)].map(() => ({ sequence: 'A'.repeat(300), label: 2 })));
  const modules = ['query', 'key', 'value', 'output', 'ffn_in', 'ffn_out'];
  // quick: 6 modules x 2 fractions x (2 methods + 10 shared seeds) = 144, as meta.ablation_passes records.
  const quick = studyWorkload({ modules, rankings: ['layer'], fractions: [0.05, 0.2], seeds: [...Array(10).keys()], refined: null, testPerClass: 10, batching: { maxLength: 64 } }, test_, 3, 3);
  assert.match(quick, /up to 144 passes over 25 test records of up to 64 residues \(about 0\.2 M residue-passes\) per model, 4 models/);
  // Whole split, refined on, 50 seeds: 6 x 2 x (3 + 50) = 636 passes; mean residues (12 x 50 + 25 x 256) / 37.
  const full = studyWorkload({ modules, rankings: ['layer'], fractions: [0.05, 0.2], seeds: [...Array(50).keys()], refined: {}, testPerClass: null, batching: { maxLength: 256 } }, test_, 3, 0);
  assert.match(full, new RegExp(`up to 636 passes over 37 test records .*about ${((636 * (12 * 50 + 25 * 256)) / 1e6).toFixed(1)} M residue-passes\\) per model, 1 model$`));
  // 'global' does not share: methods x (1 + seeds).
  assert.match(studyWorkload({ modules: ['key'], rankings: ['global'], fractions: [0.1], seeds: [0, 1], refined: null, testPerClass: null, batching: { maxLength: 64 } }, test_, 3, 0), /up to 6 passes/);
});

test.run();
