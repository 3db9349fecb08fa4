/**
 * `esm-kn experiment`: the whole knowledge-neuron study (kn/study.ts) on a fine-tuned classifier,
 * written as a report folder (cli/report/report.ts). The defaults are sized to finish in minutes
 * on a 2-core CPU with lavapipe for a small model (`npm start`, the quick preset on the 4 x 96 default at
 * 64 residues with its three nulls: 254 s on 2026-12-05); the flags scale every part up.
 */
import { arch, cpus, platform } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { initEngine, rt } from '../engine/index.js';
import { provenanceLine, writeReport } from './report/report.js';
import { TASK_NAMES, type TaskName } from '../data/dataset.js';
import { NEURON_MODULES } from '../model/esm.js';
import { type ModelReading, describeReading, disposeClassifier, modelReading } from '../model/classifier.js';
import { type Replacement, REPLACEMENTS } from '../kn/ablate.js';
import { IG_POSITIONS, type IgPositions } from '../kn/ig.js';
import { NULL_NAMES, type NullName, nullModel } from '../kn/nulls.js';
import { QK_UNITS, type QkUnits } from '../kn/pairs.js';
import { DAI_REFINED, type RefinedOptions } from '../kn/refined.js';
import { SMOKE_TEST_RECORDS, TEST_METRICS, type TestMetric } from '../kn/tests.js';
import { resolveModel } from '../model/assets.node.js';
import { stratifiedSample } from '../kn/examples.js';
import { explainNeurons } from '../kn/explain.js';
import type { CardIg } from '../kn/positions_ig.js';
import { loadScores } from '../kn/scores_io.js';
import type { NeuronScores } from '../kn/scores.js';
import { FormatError } from '../io/errors.js';
import { BASELINE_DEFAULTS, runBaselines } from '../train/baseline_report.js';
import { parseModules } from '../kn/layout.js';
import { QUADRATURE_RULES, type QuadratureRule } from '../kn/quadrature.js';
import { CLASS_EDIT_KINDS, type ClassEditKind } from '../kn/class_edits.js';
import { type Ranking, RANKINGS } from '../kn/select.js';
import { loadStudySetup } from './study_setup.js';
import { IG_TARGETS, type IgTarget, type NullResult, nullSummary, runStudy } from '../kn/study.js';
import { type Parsed, UsageError, evalBatching, intOption, oneOf, parseArgs } from './args.js';
import { stageBars } from './progress.js';

/** Usage text (esm-kn --help). */
export const EXPERIMENT_USAGE = `esm-kn experiment [--preset quick|full] [--out report] [--model default] [--data default] [--task T]
                   [--split-seed N] [--examples N|all] [--test-examples N|all] [--steps M]
                   [--rule riemann|gauss-legendre] [--internal-batch N] [--positions all|residues|cls]
                   [--target true|predicted|correct] [--normalise on|off] [--activation abs|signed]
                   [--qk pair|unit] [--refined T P | --refined off] [--target-agreement]
                   [--fractions 5 20] [--seeds N] [--rankings layer global] [--replacement zero|mean]
                   [--modules query key ...] [--metric accuracy|macro_f1] [--resamples N]
                   [--class-edit-top 1] [--class-edit-seeds N] [--class-edits suppress|both] [--density-top 1] [--bootstrap N]
                   [--nulls reinit-head reinit-all | none] [--null-model MODEL] [--explain-top N]
                   [--explain-records N|all] [--card-ig-steps M|off] [--scores DIR] [--max-len N]
                   [--batch-size N] [--seed 0] [--quiet]
  The knowledge-neuron study on a fine-tuned classifier (MODEL 'default': experiments/models/default),
  as a calibrated instrument. Neuron scores (mean |activation|; integrated gradients of the target
  class, m steps, each example's row normalised by its maximum; query and key per rotary pair) on
  --examples training records per class; then, per module type, method and preserved fraction, the
  test metrics when only the top neurons are kept, against --seeds layer-matched random selections:
  empirical p-values, paired bootstrap intervals over test records (--resamples), Holm within each
  (module, method, metric) family, verdicts on --metric. Each whole module type zeroed; per-class
  suppression and amplification against random neurons; density, attribution mass and the
  key-versus-others contrasts. The same tests run on null models: parameter randomisation (--nulls)
  and the shuffled-label twin (--null-model; for the default model its committed twin when present).
  Presets: quick (default; a smoke test: few records) and full (the whole test split, 32 scored
  examples per class, 50 seeds): explicit options override a preset. quick reads each record's first
  64 residues, integrates with 10 Gauss-Legendre nodes and only suppresses in class edits; full reads
  the model's reading (its validation window: 256 residues for the default) with the paper's 20-step
  Riemann sum, and both suppresses and amplifies. Neuron cards (esm-kn neurons
  explain) for the top --explain-top IG neurons of each class and module type, read on
  --explain-records test records per class, linked from the report's top-neuron table; their windows
  are ranked by activation (quick) or by per-residue integrated gradients with --card-ig-steps
  Gauss-Legendre nodes (full: 10; motifs.json's meta names the attribution). --scores DIR
  takes the IG scores from DIR/ig.safetensors (e.g. merged shards of 'neurons score --shard K/N') and
  activation scores from DIR/activation.safetensors when present, instead of scoring. Writes DIR/results.json,
  results.csv, tests.csv, SVG figures, report.html and the scores (DIR/scores/*.safetensors).`;

/** What --preset sets (every entry can be overridden by its option). */
export interface StudyPreset {
  readonly examples: number | null;
  readonly testExamples: number | null;
  readonly seeds: number;
  readonly fractions: readonly number[];
  readonly rankings: readonly Ranking[];
  readonly resamples: number;
  readonly bootstrap: number;
  readonly classEditSeeds: number;
  /** Class edits made: suppression only, or suppression and amplification. */
  readonly classEdits: readonly ClassEditKind[];
  /** Integrated gradients: steps m and quadrature rule. */
  readonly steps: number;
  readonly rule: QuadratureRule;
  readonly refined: boolean;
  readonly targetAgreement: boolean;
  /** Neuron cards: top neurons per class and module type, and test records per class they are read on (null: all). */
  readonly explainTop: number;
  readonly explainRecords: number | null;
  /**
   * Neuron cards' windows: null ranks them by activation (no attribution); m ranks them by per-residue
   * m-node Gauss-Legendre integrated gradients (kn/positions_ig.ts), one IG per (module, layer) with a card
   * and test record, so only the full preset pays for it.
   */
  readonly cardIgSteps: number | null;
  /** Residues read per record: a number, or 'model' for the model's reading (readingLength). */
  readonly maxLength: number | 'model';
}

/**
 * Residues the study reads under the model's reading: its window, or its first-N crop; 64 for a
 * model without one. The study reads each record's first window only (IG and ablations per window
 * would multiply its cost by the windows per record).
 */
/** The checkpoint's validation metrics (fine-tuning's best), or null. */
export function validationOf(meta: Readonly<Record<string, unknown>>): { accuracy: number; macro_f1: number; records: number | null } | null {
  const m = meta.metrics as { accuracy?: unknown; macro_f1?: unknown; records?: unknown; split?: unknown } | undefined;
  if (!m || typeof m.accuracy !== 'number' || typeof m.macro_f1 !== 'number' || (m.split !== undefined && m.split !== 'valid')) return null;
  return { accuracy: m.accuracy, macro_f1: m.macro_f1, records: typeof m.records === 'number' ? m.records : null };
}

export function readingLength(reading: ModelReading | null): number {
  return reading ? Math.min(reading.window?.size ?? reading.maxLength, 1022) : 64;
}

/**
 * The presets. quick must finish in 5 minutes on the 2-core CPU machine, full in 30. quick's IG is
 * Gauss-Legendre with 10 nodes: on the 4 x 96 model (stage 1 of today's default) at 64 residues its scores were as close to a
 * 40-node reference as the paper's 20-step Riemann sum (relative L1 error 4.5% vs 4.8%, rank correlation
 * 0.997 vs 0.996) at half the passes; full keeps the paper's 20-step Riemann sum.
 */
export const PRESETS: Readonly<Record<'quick' | 'full', StudyPreset>> = {
  quick: { examples: 3, testExamples: 10, seeds: 10, fractions: [0.05, 0.2], rankings: ['layer'], resamples: 500, bootstrap: 200, classEditSeeds: 3, classEdits: ['suppress'], steps: 10, rule: 'gauss-legendre', refined: false, targetAgreement: false, explainTop: 1, explainRecords: 30, cardIgSteps: null, maxLength: 64 },
  full: { examples: 32, testExamples: null, seeds: 50, fractions: [0.05, 0.2], rankings: ['layer'], resamples: 1000, bootstrap: 1000, classEditSeeds: 10, classEdits: CLASS_EDIT_KINDS, steps: 20, rule: 'riemann', refined: true, targetAgreement: true, explainTop: 3, explainRecords: null, cardIgSteps: 10, maxLength: 'model' },
};

const OPTIONS = {
  preset: { kind: 'value' }, target: { kind: 'value' }, normalise: { kind: 'value' }, activation: { kind: 'value' }, qk: { kind: 'value' },
  refined: { kind: 'list' }, 'target-agreement': { kind: 'flag' }, metric: { kind: 'value' }, resamples: { kind: 'value' },
  'class-edit-seeds': { kind: 'value' }, 'class-edits': { kind: 'value' }, scores: { kind: 'value' }, 'explain-top': { kind: 'value' }, 'explain-records': { kind: 'value' }, 'card-ig-steps': { kind: 'value' }, nulls: { kind: 'list' }, 'null-model': { kind: 'value' },
  out: { kind: 'value' }, model: { kind: 'value' }, data: { kind: 'value' }, task: { kind: 'value' }, 'split-seed': { kind: 'value' },
  examples: { kind: 'value' }, 'test-examples': { kind: 'value' }, steps: { kind: 'value' }, rule: { kind: 'value' },
  'internal-batch': { kind: 'value' }, positions: { kind: 'value' }, fractions: { kind: 'list' }, seeds: { kind: 'value' },
  rankings: { kind: 'list' }, replacement: { kind: 'value' }, modules: { kind: 'list' }, 'class-edit-top': { kind: 'value' },
  'density-top': { kind: 'value' }, bootstrap: { kind: 'value' }, 'max-len': { kind: 'value' }, 'batch-size': { kind: 'value' },
  seed: { kind: 'value' }, quiet: { kind: 'flag' },
} as const;

/**
 * The cards' per-residue IG: --card-ig-steps M|off, else the preset's; Gauss-Legendre, the study's
 * positions except 'cls', which scales no residue (the cards then scale all positions).
 */
function cardIgOf(p: Parsed, preset: StudyPreset, positions: IgPositions, command: string): CardIg | null {
  const off = p.values.get('card-ig-steps') === 'off';
  const steps = off ? null : p.values.has('card-ig-steps') ? intOption(p, 'card-ig-steps', 10, 1, command) : preset.cardIgSteps;
  return steps === null ? null : { steps, rule: 'gauss-legendre', positions: positions === 'residues' ? 'residues' : 'all' };
}

/** A per-class count or 'all' (null). */
export function countOrAll(p: Parsed, name: string, fallback: number | null, command: string): number | null {
  const v = p.values.get(name);
  if (v === undefined) return fallback;
  if (v === 'all') return null;
  return intOption(p, name, 0, 1, command);
}

/** A percentage in (0, 100] as a fraction. */
export function percent(p: Parsed, name: string, fallback: number, command: string): number {
  const v = p.values.get(name);
  const n = v === undefined ? fallback : Number(v);
  if (!(n > 0 && n <= 100)) throw new UsageError(`${command}: --${name} must be a percentage in (0, 100], got '${v}'`);
  return n / 100;
}

/** Preserved fractions from percentages in [0, 100]. */
export function fractionList(p: Parsed, command: string, fallback: readonly number[] = [0.01, 0.05, 0.1, 0.2, 0.5]): number[] {
  const raw = p.lists.get('fractions') ?? fallback.map((f) => String(100 * f));
  return raw.map((s) => {
    const n = Number(s);
    if (!(n >= 0 && n <= 100)) throw new UsageError(`${command}: --fractions takes percentages in [0, 100], got '${s}'`);
    return n / 100;
  });
}

/** The --task value, checked (undefined: the model's own task). */
export function taskOption(p: Parsed, command: string): TaskName | undefined {
  return p.values.has('task') ? oneOf<TaskName>(p, 'task', TASK_NAMES, 'ec', command) : undefined;
}

/** The --rankings list. */
export function rankingList(p: Parsed, fallback: readonly Ranking[], command: string): Ranking[] {
  return (p.lists.get('rankings') ?? fallback).map((r) => {
    if (!(RANKINGS as readonly string[]).includes(r)) throw new UsageError(`${command}: --rankings ${r} is not one of ${RANKINGS.join(', ')}`);
    return r as Ranking;
  });
}

/** The --refined value: 'off', or the thresholds t and p (defaults: Dai et al.'s 0.2 and 0.5). */
function refinedOption(p: Parsed, preset: StudyPreset, command: string): RefinedOptions | null {
  const v = p.lists.get('refined');
  if (!v) return preset.refined ? DAI_REFINED : null;
  if (v.length === 1 && v[0] === 'off') return null;
  const [t, q] = v.map(Number);
  if (v.length !== 2 || !(t! > 0 && t! <= 1) || !(q! > 0 && q! <= 1)) throw new UsageError(`${command}: --refined takes two numbers in (0, 1] (T P) or 'off', got '${v.join(' ')}'`);
  return { t: t!, p: q! };
}

/**
 * The ablation grid's size before it runs, in one line: modules x fractions x (methods + seeds) passes
 * over the tested records for ranking 'layer' (methods share its random selections), methods x (1 +
 * seeds) for 'global' (at most: equal per-layer counts are shared), for the studied model and each null.
 */
export function studyWorkload(
  o: { modules: readonly unknown[]; rankings: readonly Ranking[]; fractions: readonly unknown[]; seeds: readonly unknown[]; refined: unknown; testPerClass: number | null; batching: { maxLength: number } },
  test: readonly { sequence: string; label: number }[],
  numClasses: number,
  nullModels: number,
): string {
  const perClass = new Array<number>(numClasses).fill(0);
  for (const r of test) perClass[r.label]!++;
  const records = o.testPerClass === null ? test.length : perClass.reduce((a, n) => a + Math.min(n, o.testPerClass!), 0);
  // Residues per record are at most the crop; the records' own lengths bound them too.
  const sorted = test.map((r) => Math.min(r.sequence.length, o.batching.maxLength)).sort((a, b) => a - b);
  const mean = o.testPerClass === null ? sorted.reduce((a, v) => a + v, 0) / Math.max(1, sorted.length) : o.batching.maxLength;
  const methods = o.refined ? 3 : 2;
  // Ranking 'layer' keeps the same count in every layer for every method, so its random selections are shared.
  const perRanking = o.rankings.reduce<number>((a, r) => a + (r === 'layer' ? methods + o.seeds.length : methods * (1 + o.seeds.length)), 0);
  const passes = o.modules.length * o.fractions.length * perRanking;
  const residues = passes * records * mean;
  return `ablation grid: up to ${passes.toLocaleString('en-US')} passes over ${records.toLocaleString('en-US')} test records of up to ` +
    `${o.batching.maxLength} residues (about ${(residues / 1e6).toFixed(1)} M residue-passes) per model, ${1 + nullModels} model${nullModels ? 's' : ''}`;
}

/** The shuffled-label twin of the default model, when it is committed. */
function defaultTwin(modelArg: string): string | null {
  if (modelArg !== 'default') return null;
  const dir = join(dirname(resolveModel('default')), 'default-shuffled');
  return existsSync(join(dir, 'esm-kn.json')) ? dir : null;
}

/** DIR/ig.safetensors (required) and DIR/activation.safetensors (optional); DIR/scores/ is looked in too. */
async function loadScoreDir(dir: string): Promise<{ ig: NeuronScores; activation?: NeuronScores }> {
  const base = existsSync(join(dir, 'ig.safetensors')) ? dir : join(dir, 'scores');
  const ig = join(base, 'ig.safetensors');
  if (!existsSync(ig)) throw new FormatError(dir, 'holds no ig.safetensors (nor scores/ig.safetensors): write it with esm-kn neurons score --method ig, or merge shards into it');
  const act = join(base, 'activation.safetensors');
  return { ig: await loadScores(ig), activation: existsSync(act) ? await loadScores(act) : undefined };
}

/** Runs the command. */
export async function experimentCommand(argv: readonly string[]): Promise<void> {
  const cmd = 'experiment';
  const p = parseArgs(argv, OPTIONS, cmd);
  if (p.positional.length) throw new UsageError(`${cmd}: takes no positional arguments (got ${p.positional.join(' ')})\n${EXPERIMENT_USAGE}`);
  const presetName = oneOf<'quick' | 'full'>(p, 'preset', ['quick', 'full'], 'quick', cmd);
  const preset = PRESETS[presetName];
  const out = resolve(p.values.get('out') ?? 'report');
  const rule = oneOf<QuadratureRule>(p, 'rule', QUADRATURE_RULES, preset.rule, cmd);
  const positions = oneOf<IgPositions>(p, 'positions', IG_POSITIONS, 'all', cmd);
  const replacement = oneOf<Replacement>(p, 'replacement', REPLACEMENTS, 'zero', cmd);
  const rankings = rankingList(p, preset.rankings, cmd);
  let modules = [...NEURON_MODULES];
  try {
    if (p.lists.has('modules')) modules = parseModules(p.lists.get('modules')!);
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message}`);
  }
  const maxLengthOption = p.values.has('max-len') ? intOption(p, 'max-len', 64, 1, cmd) : null;
  if (maxLengthOption !== null && maxLengthOption > 1022) throw new UsageError(`${cmd}: --max-len ${maxLengthOption} is more than the 1022 residues ESM-2 takes`);
  const seedCount = intOption(p, 'seeds', preset.seeds, 1, cmd);
  const nullNames = p.lists.get('nulls') ?? [...NULL_NAMES];
  const nulls = nullNames.length === 1 && nullNames[0] === 'none' ? [] : nullNames.map((n) => {
    if (!(NULL_NAMES as readonly string[]).includes(n)) throw new UsageError(`${cmd}: --nulls ${n} is not one of ${NULL_NAMES.join(', ')} (or none)`);
    return n as NullName;
  });
  const modelArg = p.values.get('model') ?? 'default';
  const twin = p.values.get('null-model') ?? defaultTwin(modelArg);
  const o = {
    examplesPerClass: countOrAll(p, 'examples', preset.examples, cmd),
    testPerClass: countOrAll(p, 'test-examples', preset.testExamples, cmd),
    steps: intOption(p, 'steps', preset.steps, 1, cmd),
    internalBatch: p.values.has('internal-batch') ? intOption(p, 'internal-batch', 1, 1, cmd) : undefined,
    target: oneOf<IgTarget>(p, 'target', IG_TARGETS, 'true', cmd),
    normalise: oneOf(p, 'normalise', ['on', 'off'], 'on', cmd) === 'on',
    activation: oneOf<'abs' | 'signed'>(p, 'activation', ['abs', 'signed'], 'abs', cmd),
    qk: oneOf<QkUnits>(p, 'qk', QK_UNITS, positions === 'cls' ? 'unit' : 'pair', cmd),
    refined: refinedOption(p, preset, cmd),
    targetAgreement: p.flags.has('target-agreement') || preset.targetAgreement,
    fractions: fractionList(p, cmd, preset.fractions),
    seeds: Array.from({ length: seedCount }, (_, i) => i),
    resamples: intOption(p, 'resamples', preset.resamples, 0, cmd),
    primaryMetric: oneOf<TestMetric>(p, 'metric', TEST_METRICS, 'accuracy', cmd),
    classEditFraction: percent(p, 'class-edit-top', 1, cmd),
    classEditKinds: oneOf<'suppress' | 'both'>(p, 'class-edits', ['suppress', 'both'], preset.classEdits.length === 1 ? 'suppress' : 'both', cmd) === 'both' ? CLASS_EDIT_KINDS : (['suppress'] as const),
    classEditSeeds: Array.from({ length: intOption(p, 'class-edit-seeds', preset.classEditSeeds, 0, cmd) }, (_, i) => i),
    densityTop: percent(p, 'density-top', 1, cmd),
    bootstrap: intOption(p, 'bootstrap', preset.bootstrap, 0, cmd),
    seed: intOption(p, 'seed', 0, 0, cmd),
    batching: evalBatching(p, maxLengthOption ?? 64, cmd),
    rule, positions, modules, rankings, replacement,
  };
  const cardIg = cardIgOf(p, preset, positions, cmd);
  const quiet = p.flags.has('quiet');

  await initEngine();
  const started = new Date();
  const setup = await loadStudySetup(modelArg, p.values.get('data') ?? 'default', taskOption(p, cmd),
    p.values.has('split-seed') ? intOption(p, 'split-seed', 0, 0, cmd) : undefined);
  const progress = (prefix: string) => stageBars(quiet, (stage) => (stage === 'ablation' || stage === 'class edits' ? 'evals' : 'seq'), prefix);
  try {
    const { clf, split } = setup;
    const reading = modelReading(clf.checkpoint.meta);
    const maxLength = maxLengthOption ?? (preset.maxLength === 'model' ? readingLength(reading) : preset.maxLength);
    o.batching = { ...o.batching, maxLength };
    const model = `${setup.modelName} (${clf.checkpoint.path}, ${clf.config.name} ${clf.config.numLayers} layers x ${clf.config.embedDim})`;
    const testSplit = `test of ${split.splitFile ? split.splitFile.split('/').pop() : setup.splitSource}`;
    if (!quiet) console.error(`experiment: ${model}, task ${setup.task}, preset ${presetName}; writing ${out}`);
    const scoresDir = p.values.get('scores');
    const precomputed = scoresDir ? await loadScoreDir(scoresDir) : undefined;
    if (precomputed) {
      const train = new Set(split.parts.train.map((x) => x.id));
      const stray = precomputed.ig.examples.find((e) => !train.has(e.id));
      if (stray) throw new FormatError(scoresDir!, `ig.safetensors scores example '${stray.id}', which is not a training record of task ${setup.task}`);
      if (precomputed.ig.classNames.join('\n') !== setup.classNames.join('\n')) throw new FormatError(scoresDir!, `ig.safetensors has classes ${precomputed.ig.classNames.join(', ')}, the model's task has ${setup.classNames.join(', ')}`);
    }
    const base = { ...o, classNames: setup.classNames, train: split.parts.train, test: split.parts.test };
    if (!quiet) console.error(`experiment: ${studyWorkload(o, split.parts.test, setup.classNames.length, nulls.length + (twin ? 1 : 0))}`);
    const r = await runStudy(clf.model, clf.head, { ...base, precomputed, onProgress: progress('') });
    const nullResults: NullResult[] = [];
    for (const name of nulls) {
      const m = nullModel(name, clf, 1000 + nullResults.length);
      try {
        if (!quiet) console.error(`experiment: null model ${name}: ${m.description}`);
        nullResults.push(nullSummary(name, m.description, await runStudy(m.model, m.head, { ...base, skipClassEdits: true, targetAgreement: false, onProgress: progress(`${name}: `) })));
      } finally {
        m.dispose();
      }
    }
    if (twin) {
      const t = await loadStudySetup(twin, p.values.get('data') ?? 'default', setup.task, split.splitSeed);
      try {
        if (!quiet) console.error(`experiment: null model shuffled-labels: ${twin}`);
        const tr = await runStudy(t.clf.model, t.clf.head, { ...base, skipClassEdits: true, targetAgreement: false, onProgress: progress('shuffled-labels: ') });
        nullResults.push(nullSummary('shuffled-labels', `the same recipe fine-tuned on shuffled training labels (${twin})`, tr));
      } finally {
        disposeClassifier(t.clf);
      }
    }
    // Neuron cards for the top IG neurons of each class and module type, read on the test split.
    const explainSet = stratifiedSample(split.parts.test, setup.classNames.length, countOrAll(p, 'explain-records', preset.explainRecords, cmd), o.seed);
    // When the study reads the model's window (its first window of each record: the IG and ablations), the
    // cards read every residue window by window as the model does; an explicit --max-len keeps them on the crop.
    const cardWindow = maxLengthOption === null && reading?.window && reading.window.size === maxLength ? reading.window : undefined;
    const explained = await explainNeurons(clf.model, clf.head, explainSet, r.igRanked, {
      batching: cardWindow ? { ...o.batching, window: cardWindow } : o.batching, attributions: true, top: intOption(p, 'explain-top', preset.explainTop, 0, cmd), modules, seed: o.seed, onProgress: progress('cards: '),
      ...(cardIg ? { method: 'ig' as const, ig: cardIg } : {}),
    });
    // The baselines on exactly the study's test records and crop, for scale.
    const baselines = runBaselines(split.parts.train, r.tested, setup.classNames, { ...BASELINE_DEFAULTS, maxLength });
    const meta: Record<string, unknown> = {
      model: setup.modelName, model_path: clf.checkpoint.path, architecture: `${clf.config.name}: ${clf.config.numLayers} layers, dim ${clf.config.embedDim}, ${clf.config.attentionHeads} heads`,
      task: setup.task, classes: setup.classNames, data: split.dataset.file, data_sha256: split.dataset.sha256, preset: presetName,
      test_split: testSplit, split_source: setup.splitSource, split_seed: split.splitSeed, test_records: r.tested.length, test_per_class: o.testPerClass,
      smoke_test: r.tested.length < SMOKE_TEST_RECORDS,
      scored_split: 'train', scored_records: r.scored.length, ig_records: r.ig.examples.length, examples_per_class: o.examplesPerClass, sample_seed: o.seed,
      steps: o.steps, rule, positions, ig_baseline: 'zero', ig_target: precomputed ? String(precomputed.ig.meta.target ?? 'as in the scores file') : o.target, ig_normalise: o.normalise ? 'per-example max |score|' : 'none',
      card_attribution: explained.meta.attribution,
      activation_ranking: o.activation === 'abs' ? 'mean |activation|' : 'signed mean activation', qk_units: o.qk,
      refined: o.refined, internal_batch: r.ig.meta.internal_batch, random_seeds: o.seeds, random_control: 'layer-matched',
      resamples: o.resamples, primary_metric: o.primaryMetric, attainable_p: r.attainable_p, ablation_passes: r.passes,
      fractions: o.fractions, rankings, replacement, modules, max_length: maxLength, class_edit_fraction: o.classEditFraction,
      class_edit_seeds: o.classEditSeeds, class_edit_kinds: o.classEditKinds, density_top_fraction: o.densityTop, bootstrap_resamples: o.bootstrap,
      model_reading: reading ? describeReading(reading) : null, model_validation: validationOf(clf.checkpoint.meta),
      nulls: nullResults.map((n) => ({ name: n.name, description: n.description })), scores_from: scoresDir ? resolve(scoresDir) : null,
      command_line: `esm-kn experiment ${argv.join(' ')}`.trim(),
      started_at: started.toISOString(), wall_seconds: (Date.now() - started.getTime()) / 1000, stage_seconds: r.seconds,
      machine: { platform: platform(), arch: arch(), cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version }, adapter: rt().info.description,
    };
    const files = await writeReport(out, r, meta, nullResults, baselines, explained);
    if (!quiet) {
      console.error(`experiment: ${provenanceLine(meta)}`);
      for (const v of r.verdicts.beats_random) console.error(`experiment: ${v.statement}`);
      console.error(`experiment: ${r.verdicts.key_density.statement}`);
      for (const n of nullResults) console.error(`experiment: null ${n.name}: ${n.tests.filter((t) => t.significant).length} of ${n.tests.length} tests significant`);
      console.error(`experiment: wrote ${files.length} files to ${out} in ${(meta.wall_seconds as number).toFixed(0)} s`);
    }
  } finally {
    disposeClassifier(setup.clf);
  }
}
