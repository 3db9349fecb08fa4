/**
 * `esm-kn experiment`: the whole knowledge-neuron study (kn/study.ts) on a fine-tuned classifier,
 * written as a report folder (cli/report/report.ts). The defaults are sized to finish in minutes
 * on a 2-core CPU with lavapipe for a small model (101 s for the embedded 4 x 64 default at 64 residues on
 * 2026-11-22, most of it integrated gradients and the ~380 ablated evaluations); the flags scale every part up.
 */
import { arch, cpus, platform } from 'node:os';
import { resolve } from 'node:path';
import { initEngine, rt } from '../engine/index.js';
import { provenanceLine, writeReport } from './report/report.js';
import { TASK_NAMES, type TaskName } from '../data/dataset.js';
import { NEURON_MODULES } from '../model/esm.js';
import { disposeClassifier } from '../model/classifier.js';
import { type Replacement, REPLACEMENTS } from '../kn/ablate.js';
import type { IgPositions } from '../kn/ig.js';
import { parseModules } from '../kn/layout.js';
import { QUADRATURE_RULES, type QuadratureRule } from '../kn/quadrature.js';
import { type Ranking, RANKINGS } from '../kn/select.js';
import { loadStudySetup } from './study_setup.js';
import { runStudy } from '../kn/study.js';
import { type Parsed, UsageError, evalBatching, intOption, oneOf, parseArgs } from './args.js';
import { stageBars } from './progress.js';

/** Usage text (esm-kn --help). */
export const EXPERIMENT_USAGE = `esm-kn experiment [--out report] [--model default] [--data default] [--task T] [--split-seed N]
                   [--examples 3|all] [--test-examples 6|all] [--steps 20] [--rule riemann|gauss-legendre]
                   [--internal-batch N] [--positions all|residues] [--fractions 1 5 10 20 50] [--seeds 3]
                   [--rankings layer global] [--replacement zero|mean] [--modules query key ...]
                   [--class-edit-top 1] [--density-top 1] [--bootstrap 200] [--max-len 64] [--batch-size N]
                   [--seed 0] [--quiet]
  The knowledge-neuron study on a fine-tuned classifier (MODEL 'default': experiments/models/default):
  neuron scores (mean activation, integrated gradients with m steps) on --examples training records per
  class; test accuracy and macro-F1 when only the top --fractions percent of one module type's neurons
  are kept (activation, IG and --seeds random selections; per-layer and global ranking); per-class
  suppression and amplification of the top --class-edit-top percent; and the density of the global top
  --density-top percent of IG neurons by module and layer with --bootstrap resamples. Test records:
  --test-examples per class of the task's committed test split. Evaluation batches hold --batch-size
  sequences (default: up to 64 sequences and 4,096 tokens, padding included; 62 at --max-len 64). Writes DIR/results.json,
  results.csv, SVG figures, report.html and the scores (DIR/scores/*.safetensors).`;

const OPTIONS = {
  out: { kind: 'value' }, model: { kind: 'value' }, data: { kind: 'value' }, task: { kind: 'value' }, 'split-seed': { kind: 'value' },
  examples: { kind: 'value' }, 'test-examples': { kind: 'value' }, steps: { kind: 'value' }, rule: { kind: 'value' },
  'internal-batch': { kind: 'value' }, positions: { kind: 'value' }, fractions: { kind: 'list' }, seeds: { kind: 'value' },
  rankings: { kind: 'list' }, replacement: { kind: 'value' }, modules: { kind: 'list' }, 'class-edit-top': { kind: 'value' },
  'density-top': { kind: 'value' }, bootstrap: { kind: 'value' }, 'max-len': { kind: 'value' }, 'batch-size': { kind: 'value' },
  seed: { kind: 'value' }, quiet: { kind: 'flag' },
} as const;

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
export function fractionList(p: Parsed, command: string): number[] {
  const raw = p.lists.get('fractions') ?? ['1', '5', '10', '20', '50'];
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

/** Runs the command. */
export async function experimentCommand(argv: readonly string[]): Promise<void> {
  const cmd = 'experiment';
  const p = parseArgs(argv, OPTIONS, cmd);
  if (p.positional.length) throw new UsageError(`${cmd}: takes no positional arguments (got ${p.positional.join(' ')})\n${EXPERIMENT_USAGE}`);
  const out = resolve(p.values.get('out') ?? 'report');
  const rule = oneOf<QuadratureRule>(p, 'rule', QUADRATURE_RULES, 'riemann', cmd);
  const positions = oneOf<IgPositions>(p, 'positions', ['all', 'residues'], 'all', cmd);
  const replacement = oneOf<Replacement>(p, 'replacement', REPLACEMENTS, 'zero', cmd);
  const rankings = rankingList(p, ['layer', 'global'], cmd);
  let modules = [...NEURON_MODULES];
  try {
    if (p.lists.has('modules')) modules = parseModules(p.lists.get('modules')!);
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message}`);
  }
  const maxLength = intOption(p, 'max-len', 64, 1, cmd);
  if (maxLength > 1022) throw new UsageError(`${cmd}: --max-len ${maxLength} is more than the 1022 residues ESM-2 takes`);
  const seedCount = intOption(p, 'seeds', 3, 1, cmd);
  const o = {
    examplesPerClass: countOrAll(p, 'examples', 3, cmd),
    testPerClass: countOrAll(p, 'test-examples', 6, cmd),
    steps: intOption(p, 'steps', 20, 1, cmd),
    internalBatch: p.values.has('internal-batch') ? intOption(p, 'internal-batch', 1, 1, cmd) : undefined,
    fractions: fractionList(p, cmd),
    seeds: Array.from({ length: seedCount }, (_, i) => i),
    classEditFraction: percent(p, 'class-edit-top', 1, cmd),
    densityTop: percent(p, 'density-top', 1, cmd),
    bootstrap: intOption(p, 'bootstrap', 200, 0, cmd),
    seed: intOption(p, 'seed', 0, 0, cmd),
    batching: evalBatching(p, maxLength, cmd),
  };
  const quiet = p.flags.has('quiet');

  await initEngine();
  const started = new Date();
  const setup = await loadStudySetup(p.values.get('model') ?? 'default', p.values.get('data') ?? 'default', taskOption(p, cmd),
    p.values.has('split-seed') ? intOption(p, 'split-seed', 0, 0, cmd) : undefined);
  const progress = stageBars(quiet, (stage) => (stage === 'ablation' || stage === 'class edits' ? 'evals' : 'seq'));
  try {
    const { clf, split } = setup;
    const model = `${setup.modelName} (${clf.checkpoint.path}, ${clf.config.name} ${clf.config.numLayers} layers x ${clf.config.embedDim})`;
    const testSplit = `test of ${split.splitFile ? split.splitFile.split('/').pop() : setup.splitSource}`;
    if (!quiet) console.error(`experiment: ${model}, task ${setup.task}; writing ${out}`);
    const r = await runStudy(clf.model, clf.head, {
      ...o, classNames: setup.classNames, train: split.parts.train, test: split.parts.test, rule, positions, modules, rankings, replacement,
      provenance: { model: setup.modelName, split: testSplit },
      onProgress: progress,
    });
    const meta: Record<string, unknown> = {
      model: setup.modelName, model_path: clf.checkpoint.path, architecture: `${clf.config.name}: ${clf.config.numLayers} layers, dim ${clf.config.embedDim}, ${clf.config.attentionHeads} heads`,
      task: setup.task, classes: setup.classNames, data: split.dataset.file, data_sha256: split.dataset.sha256,
      test_split: testSplit, split_source: setup.splitSource, split_seed: split.splitSeed, test_records: r.tested.length, test_per_class: o.testPerClass,
      scored_split: 'train', scored_records: r.scored.length, examples_per_class: o.examplesPerClass, sample_seed: o.seed,
      steps: o.steps, rule, positions, ig_baseline: 'zero', internal_batch: r.ig.meta.internal_batch, random_seeds: o.seeds,
      fractions: o.fractions, rankings, replacement, modules, max_length: maxLength, class_edit_fraction: o.classEditFraction,
      density_top_fraction: o.densityTop, bootstrap_resamples: o.bootstrap, command_line: `esm-kn experiment ${argv.join(' ')}`.trim(),
      started_at: started.toISOString(), wall_seconds: (Date.now() - started.getTime()) / 1000, stage_seconds: r.seconds,
      machine: { platform: platform(), arch: arch(), cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version }, adapter: rt().info.description,
    };
    const files = await writeReport(out, r, meta);
    if (!quiet) {
      console.error(`experiment: ${provenanceLine(meta)}`);
      console.error(`experiment: ${r.density.keyStatement}`);
      console.error(`experiment: wrote ${files.length} files to ${out} in ${(meta.wall_seconds as number).toFixed(0)} s`);
    }
  } finally {
    disposeClassifier(setup.clf);
  }
}
