/**
 * `esm-kn neurons explain MODEL SCORES --out DIR`: a card per top neuron (kn/explain.ts) written as
 * DIR/motifs.json, DIR/motifs.csv, and per neuron DIR/logo_<module>_<layer>_<index>.svg and its page
 * DIR/card_<module>_<layer>_<index>.html (cli/report/card_page.ts), each file atomically (a query/key card is a rotary pair: `index` its first unit, `units` both). `writeExplanations` is the writer `esm-kn experiment` can call with its own result.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { initEngine } from '../engine/index.js';
import { type TaskRecord, selectTask } from '../data/dataset.js';
import { readDataFile } from '../data/files.node.js';
import { writeFileAtomic } from '../io/atomic.js';
import { FormatError } from '../io/errors.js';
import { disposeClassifier, modelReading } from '../model/classifier.js';
import { NEURON_MODULES, type NeuronModule } from '../model/esm.js';
import { stratifiedSample } from '../kn/examples.js';
import { type Explanations, type NeuronCard, type WindowMethod, explainNeurons, unitsName } from '../kn/explain.js';
import type { IgPositions } from '../kn/ig.js';
import { neuronLayout, parseModules, sameLayout } from '../kn/layout.js';
import type { CardIg } from '../kn/positions_ig.js';
import { QUADRATURE_RULES, type QuadratureRule } from '../kn/quadrature.js';
import { logoSvg } from '../kn/logo_svg.js';
import { loadScores } from '../kn/scores_io.js';
import { type Parsed, UsageError, evalBatching, intOption, oneOf, parseArgs } from './args.js';
import { countOrAll, taskOption } from './experiment.js';
import { stageBars } from './progress.js';
import { cardFileName, cardPageHtml } from './report/card_page.js';
import { loadStudySetup } from './study_setup.js';

/** Usage text of the subcommand (part of `esm-kn neurons --help`). */
export const EXPLAIN_USAGE = `esm-kn neurons explain MODEL SCORES --out DIR [--top 2] [--method activation|ig] [--records test|FILE]
                 [--ig-steps M [--rule riemann|gauss-legendre] [--positions all|residues]]
                 [--modules ...] [--windows 20] [--zero-records 32] [--test-examples N|all] [--max-len N]
  A card per top neuron of each class and module type (by SCORES' class means): top windows (+-7), logo,
  class and EC sub-class enrichment, position profile, length correlation, zeroing against a random
  neuron. Query and key cards are rotary pairs (d, d+Dh/2): ranked by the pair's norm (or summed
  attribution), zeroed as a pair against a random pair. Windows are ranked by activation and each keeps
  its per-residue gradient x activation of the true class's probability. --method ig ranks windows by per-residue
  gradient x activation, or with --ig-steps M by per-residue M-node integrated gradients (the whole
  module output of the layer scaled jointly, zero baseline; summed over positions it is the unit's IG
  score; --rule default gauss-legendre; --positions all (default) or residues, as the scores' IG). --records FILE: labelled FASTA
  or TSV (ec= / ec column for sub-classes). Records are read as the model reads them: for a model with a
  window reading (the default: 256-residue windows at stride 128) every residue, window by window, each
  from the window where it is most central; --max-len N reads the first N residues in one pass instead
  (1022 for a model without a reading). Writes DIR/motifs.json, DIR/motifs.csv, DIR/logo_*.svg and a
  page per card, DIR/card_*.html.`;

/** File name of a neuron's logo. */
export function logoFileName(n: Pick<NeuronCard, 'module' | 'layer' | 'index'>): string {
  return `logo_${n.module}_${n.layer}_${n.index}.svg`;
}

/** JSON numbers: infinite odds ratios as the strings "Infinity"/"-Infinity", NaN as null. */
function jsonNumbers(_key: string, v: unknown): unknown {
  if (typeof v !== 'number' || Number.isFinite(v)) return v;
  return Number.isNaN(v) ? null : v > 0 ? 'Infinity' : '-Infinity';
}

/** motifs.json: the cards, the class top sets' Jaccard matrix and the logo clusters. */
export function motifsJson(x: Explanations): string {
  const neurons = x.neurons.map((c) => ({ ...c, logo_file: logoFileName(c), card_file: cardFileName(c) }));
  return `${JSON.stringify({ format: 'esm-kn-neuron-cards', version: 1, ...x, neurons }, jsonNumbers, 1)}\n`;
}

const CSV_COLUMNS = [
  'module', 'layer', 'index', 'class', 'classes', 'score', 'consensus', 'max_ic', 'top_record', 'top_position', 'top_window', 'top_activation',
  'best_class', 'best_class_q', 'best_subclass', 'best_subclass_q', 'n_term_mean', 'core_mean', 'c_term_mean', 'length_spearman', 'detector',
  'cutoff_tied', 'cutoff_kept', 'zero_p_before', 'zero_change', 'random_index', 'random_change', 'units', 'random_units',
] as const;

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? '' : String(v);
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** motifs.csv: one row per neuron, the card's headline numbers. */
export function motifsCsv(x: Explanations): string {
  const rows = x.neurons.map((c) => {
    const best = (level: string) => c.enrichment.filter((r) => r.level === level)[0]; // rows are sorted by p
    const top = c.windows[0];
    const cls = best('class');
    const sub = best('subclass');
    const z = c.zero_effect;
    const row: Record<(typeof CSV_COLUMNS)[number], unknown> = {
      module: c.module, layer: c.layer, index: c.index, class: c.class, classes: c.classes.join(';'), score: c.score, consensus: c.consensus,
      max_ic: Math.max(0, ...c.logo.columns.map((col) => col.ic)), top_record: top?.record, top_position: top?.position, top_window: top?.window, top_activation: top?.activation,
      best_class: cls?.label, best_class_q: cls?.q_value, best_subclass: sub?.label, best_subclass_q: sub?.q_value,
      n_term_mean: c.position_profile.regions.n_term, core_mean: c.position_profile.regions.core, c_term_mean: c.position_profile.regions.c_term,
      length_spearman: c.length_correlation.spearman, detector: c.detector.kind ?? '', cutoff_tied: c.cutoff_ties.tied, cutoff_kept: c.cutoff_ties.kept,
      zero_p_before: z?.p_before, zero_change: z?.change, random_index: z?.random.index, random_change: z?.random.change,
      units: c.units.join(';'), random_units: z?.random.units.join(';'),
    };
    return CSV_COLUMNS.map((k) => csvField(row[k])).join(',');
  });
  return `${[CSV_COLUMNS.join(','), ...rows].join('\n')}\n`;
}

/** How the cards' records were read: window by window (meta.window) or their first max_length residues. */
function readAs(window: unknown): string {
  const w = window as { size?: unknown; stride?: unknown } | undefined;
  return w && typeof w.size === 'number' ? `each read whole in ${w.size}-residue windows at stride ${String(w.stride)}` : '';
}

/** One line on what the cards were computed from, out of motifs.json's meta (the fields it has). */
export function cardsProvenance(meta: Readonly<Record<string, unknown>>): string {
  const has = (k: string) => meta[k] !== undefined && meta[k] !== null;
  const parts = [
    ...(has('model') ? [`Model ${String(meta.model)}`] : []),
    ...(has('task') ? [`task ${String(meta.task)}`] : []),
    `${String(meta.records)} records${has('records_from') ? ` (${String(meta.records_from)})` : ''}, ${readAs(meta.window) || `each read up to its first ${String(meta.max_length)} residues`}`,
    ...(has('scores') ? [`neurons chosen by ${String(meta.scores)} (${String(meta.scores_method)})`] : []),
  ];
  return `${parts.join('; ')}.`;
}

/** Where the card pages point besides their own folder, and what they say they were computed from. */
export interface CardPageLinks {
  /** The report listing the cards, relative to DIR ('../report.html'). */
  readonly report?: string;
  /** Replaces the provenance line drawn from the cards' meta (cardsProvenance). */
  readonly provenance?: string;
}

/**
 * Writes DIR/motifs.json, DIR/motifs.csv, and per neuron a logo SVG and a card page (creating DIR),
 * each atomically; motifs.json last, so that when it exists every file it names does.
 */
export async function writeExplanations(dir: string, x: Explanations, links: CardPageLinks = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const enc = new TextEncoder();
  const provenance = links.provenance ?? cardsProvenance(x.meta);
  const attribution = String(x.meta.attribution ?? x.meta.window_method ?? 'not recorded');
  for (const c of x.neurons) {
    const title = `${c.module} layer ${c.layer} ${unitsName(c)} (${c.class}): ${c.consensus}, ${c.windows.length} windows`;
    await writeFileAtomic(join(dir, logoFileName(c)), [enc.encode(logoSvg(c.logo, { title }))]);
    const page = cardPageHtml(c, { logoFile: logoFileName(c), attribution, provenance, ...(links.report ? { report: links.report } : {}) });
    await writeFileAtomic(join(dir, cardFileName(c)), [enc.encode(page)]);
  }
  await writeFileAtomic(join(dir, 'motifs.csv'), [enc.encode(motifsCsv(x))]);
  await writeFileAtomic(join(dir, 'motifs.json'), [enc.encode(motifsJson(x))]);
}

function modulesOf(p: Parsed, cmd: string): NeuronModule[] {
  try {
    return p.lists.has('modules') ? parseModules(p.lists.get('modules')!) : [...NEURON_MODULES];
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message}`);
  }
}

/** --ig-steps M [--rule R] [--positions P]: the cards' per-residue IG (only with --method ig). */
export function cardIgOption(p: Parsed, method: WindowMethod, cmd: string): CardIg | undefined {
  if (!p.values.has('ig-steps')) {
    for (const o of ['rule', 'positions']) if (p.values.has(o)) throw new UsageError(`${cmd}: --${o} needs --ig-steps`);
    return undefined;
  }
  if (method !== 'ig') throw new UsageError(`${cmd}: --ig-steps needs --method ig (it sets the attribution that ranks the windows; with --method activation each window carries gradient x activation)`);
  return {
    steps: intOption(p, 'ig-steps', 10, 1, cmd),
    rule: oneOf<QuadratureRule>(p, 'rule', QUADRATURE_RULES, 'gauss-legendre', cmd),
    // 'cls' scales no residue, so it would give every residue 0.
    positions: oneOf<IgPositions>(p, 'positions', ['all', 'residues'], 'all', cmd),
  };
}

/** Runs `esm-kn neurons explain ...` (argv after "explain"). */
export async function explainCommand(argv: readonly string[]): Promise<void> {
  const cmd = 'neurons explain';
  const p = parseArgs(argv, {
    out: { kind: 'value' }, top: { kind: 'value' }, method: { kind: 'value' }, records: { kind: 'value' }, modules: { kind: 'list' },
    windows: { kind: 'value' }, 'zero-records': { kind: 'value' }, 'test-examples': { kind: 'value' }, 'max-len': { kind: 'value' },
    'ig-steps': { kind: 'value' }, rule: { kind: 'value' }, positions: { kind: 'value' },
    data: { kind: 'value' }, task: { kind: 'value' }, 'split-seed': { kind: 'value' }, seed: { kind: 'value' }, 'batch-size': { kind: 'value' }, quiet: { kind: 'flag' },
  }, cmd);
  if (p.positional.length !== 2) throw new UsageError(`${cmd}: needs MODEL SCORES\n${EXPLAIN_USAGE}`);
  const [modelArg, scoresPath] = p.positional as [string, string];
  const out = p.values.get('out');
  if (!out) throw new UsageError(`${cmd}: --out DIR is required`);
  const method = oneOf<WindowMethod>(p, 'method', ['activation', 'ig'], 'activation', cmd);
  const ig = cardIgOption(p, method, cmd);
  const top = intOption(p, 'top', 2, 1, cmd);
  const windows = intOption(p, 'windows', 20, 1, cmd);
  const zeroRecords = intOption(p, 'zero-records', 32, 1, cmd);
  const seed = intOption(p, 'seed', 0, 0, cmd);
  const modules = modulesOf(p, cmd);
  const recordsArg = p.values.get('records') ?? 'test';
  const perClass = countOrAll(p, 'test-examples', null, cmd);
  const maxLengthOption = p.values.has('max-len') ? Math.min(1022, intOption(p, 'max-len', 1022, 1, cmd)) : null;
  const scores = await loadScores(scoresPath);
  await initEngine();
  const setup = await loadStudySetup(modelArg, p.values.get('data') ?? 'default', taskOption(p, cmd), p.values.has('split-seed') ? intOption(p, 'split-seed', 0, 0, cmd) : undefined);
  try {
    // The model's window reading unless --max-len asks for a first-N crop (1022 without either).
    const reading = modelReading(setup.clf.checkpoint.meta);
    const window = maxLengthOption === null && reading?.window ? reading.window : undefined;
    const batching = { ...evalBatching(p, window ? window.size : maxLengthOption ?? 1022, cmd), ...(window ? { window } : {}) };
    if (!sameLayout(scores.layout, neuronLayout(setup.clf.config))) throw new FormatError(scoresPath, 'was computed on a model of another shape');
    if (scores.classNames.join('\n') !== setup.classNames.join('\n')) throw new FormatError(scoresPath, `its classes (${scores.classNames.join(', ')}) are not the model's (${setup.classNames.join(', ')})`);
    let pool: readonly TaskRecord[];
    if (recordsArg === 'test') pool = setup.split.parts.test;
    else pool = selectTask(await readDataFile(recordsArg), setup.task).records;
    const records = stratifiedSample(pool, setup.classNames.length, perClass, seed);
    if (!records.length) throw new FormatError(recordsArg, `no records of task ${setup.task} to explain on`);
    const bars = stageBars(p.flags.has('quiet'), (stage) => (stage === 'positions' ? 'seq' : 'evals'));
    const x = await explainNeurons(setup.clf.model, setup.clf.head, records, scores, {
      batching, top, modules, windows, method, zeroRecords, seed, onProgress: bars, attributions: true, ...(ig ? { ig } : {}),
    });
    const result: Explanations = {
      ...x,
      meta: { ...x.meta, model: setup.modelName, model_path: setup.clf.checkpoint.path, task: setup.task, scores: scoresPath, records_from: recordsArg === 'test' ? `test split (${setup.splitSource})` : recordsArg, data_sha256: setup.split.dataset.sha256 },
    };
    await writeExplanations(out, result);
    console.log(`${result.neurons.length} neuron cards on ${records.length} records written to ${out} (motifs.json, motifs.csv, ${result.neurons.length} logos and card pages)`);
    for (const c of result.neurons) {
      const cls = c.enrichment.find((r) => r.level === 'class');
      const z = c.zero_effect;
      console.log(`  ${c.module.padEnd(8)} layer ${c.layer} ${unitsName(c).padEnd(14)} ${c.class.padEnd(22)} ${c.consensus}  top class ${cls ? `${cls.label} q ${cls.q_value.toPrecision(2)}` : '-'}` +
        `${c.detector.kind ? `  [${c.detector.kind} detector]` : ''}${c.cutoff_ties.tied > c.cutoff_ties.kept ? `  (${c.cutoff_ties.tied} records tie at the cut-off)` : ''}${z ? `  zeroed: p ${z.change >= 0 ? '+' : ''}${z.change.toFixed(4)} (random ${z.random.change >= 0 ? '+' : ''}${z.random.change.toFixed(4)})` : ''}`);
    }
    if (result.clusters.length) console.log(`logo clusters: ${result.clusters.map((g) => `{${g.members.join(', ')}} ${g.consensus}`).join('; ')}`);
  } finally {
    disposeClassifier(setup.clf);
  }
}
