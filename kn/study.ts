/**
 * The whole knowledge-neuron study on one fine-tuned classifier (what `esm-kn experiment` runs):
 *   1. score every neuron on a class-stratified subsample of the training split: mean activation
 *      and integrated gradients;
 *   2. for each module type, method (activation, IG, random x seeds), ranking (per layer, global) and
 *      preserved fraction: keep the top neurons of that module type, replace the rest (zero or mean),
 *      and measure test accuracy and macro-F1;
 *   3. per class, suppress and amplify its top IG neurons of each module type (Dai et al.);
 *   4. the density of the global top IG neurons per module type and layer, with bootstrap intervals.
 * Every row carries the model, split, seeds and m that produced it.
 */
import type { TaskRecord } from '../data/dataset.js';
import type { EsmModel, NeuronModule } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import type { EvalBatching } from '../model/classifier.js';
import { type Replacement, ablationEdit, editedMetrics } from './ablate.js';
import { activationScores } from './activation.js';
import { type ClassEditRow, classEdits } from './class_edits.js';
import { type Density, neuronDensity } from './density.js';
import { stratifiedSample } from './examples.js';
import type { IgPositions } from './ig.js';
import { igScores } from './ig_scores.js';
import { type NeuronLayout, neuronLayout } from './layout.js';
import type { QuadratureRule } from './quadrature.js';
import { type CompletenessSummary, type NeuronScores, overallScores, summariseCompleteness } from './scores.js';
import { type Ranking, type Selection, selectRandom, selectTop } from './select.js';

/** What the study runs on and how much of it. */
export interface StudyOptions {
  readonly classNames: readonly string[];
  /** Training and test records of the task's split. */
  readonly train: readonly TaskRecord[];
  readonly test: readonly TaskRecord[];
  /** Scored training examples per class (null: all). */
  readonly examplesPerClass: number | null;
  /** Test examples per class (null: the whole test split). */
  readonly testPerClass: number | null;
  /** Seed of the example subsamples and of the bootstrap. */
  readonly seed: number;
  readonly steps: number;
  readonly rule: QuadratureRule;
  readonly internalBatch?: number;
  readonly positions: IgPositions;
  readonly modules: readonly NeuronModule[];
  /** Preserved fractions in [0, 1]. */
  readonly fractions: readonly number[];
  /** Seeds of the random selections. */
  readonly seeds: readonly number[];
  readonly rankings: readonly Ranking[];
  readonly replacement: Replacement;
  /** Share of a module type's neurons suppressed or amplified per class. */
  readonly classEditFraction: number;
  /** Global top share for the density analysis, and its bootstrap resamples. */
  readonly densityTop: number;
  readonly bootstrap: number;
  readonly batching: EvalBatching;
  /** Stamped on every row: model name, split description. */
  readonly provenance: { readonly model: string; readonly split: string };
  /** A progress callback per stage: (stage, done, total). */
  readonly onProgress?: (stage: string, done: number, total: number) => void;
}

/** One ablation measurement; the field order is the CSV's. */
export interface AblationRow {
  readonly module: NeuronModule;
  /** 'activation', 'ig' or 'random'. */
  readonly method: string;
  readonly ranking: Ranking;
  readonly replacement: Replacement;
  /** Preserved fraction in [0, 1]. */
  readonly fraction: number;
  /** Random selections: the seed; null for score-based ones. */
  readonly seed: number | null;
  /** Neurons of the module type kept (over all layers). */
  readonly kept: number;
  readonly accuracy: number;
  readonly macro_f1: number;
  readonly model: string;
  readonly split: string;
  readonly test_records: number;
  readonly steps: number;
  readonly rule: QuadratureRule;
  readonly examples_per_class: number | null;
  /** Seed of the scored and test example subsamples. */
  readonly sample_seed: number;
}

/** Everything the report shows. */
export interface StudyResult {
  readonly unablated: { readonly accuracy: number; readonly macro_f1: number };
  readonly rows: AblationRow[];
  readonly classEdits: ClassEditRow[];
  readonly density: Density;
  readonly completeness: CompletenessSummary | null;
  readonly activation: NeuronScores;
  readonly ig: NeuronScores;
  readonly scored: readonly TaskRecord[];
  readonly tested: readonly TaskRecord[];
  /** Seconds per stage. */
  readonly seconds: Record<string, number>;
}

/** Every selection of the grid for one module type, in report order. */
export function selections(o: Pick<StudyOptions, 'fractions' | 'rankings' | 'seeds'>, layout: NeuronLayout, module: NeuronModule, scores: { activation: Float64Array; ig: Float64Array }): Selection[] {
  const out: Selection[] = [];
  for (const ranking of o.rankings) {
    for (const fraction of o.fractions) {
      out.push(selectTop(layout, module, scores.activation, 'activation', fraction, ranking));
      out.push(selectTop(layout, module, scores.ig, 'ig', fraction, ranking));
      for (const seed of o.seeds) out.push(selectRandom(layout, module, fraction, ranking, seed));
    }
  }
  return out;
}

/** Runs the study. */
export async function runStudy(model: EsmModel, head: ClassifierHead, o: StudyOptions): Promise<StudyResult> {
  const layout = neuronLayout(model.config);
  const C = o.classNames.length;
  const seconds: Record<string, number> = {};
  const timed = async <T>(stage: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    seconds[stage] = (performance.now() - t0) / 1000;
    return r;
  };
  const progress = (stage: string) => (done: number, total: number) => o.onProgress?.(stage, done, total);
  const scored = stratifiedSample(o.train, C, o.examplesPerClass, o.seed);
  const tested = stratifiedSample(o.test, C, o.testPerClass, o.seed);
  if (!scored.length || !tested.length) throw new Error(`the study needs scored and test examples (got ${scored.length} and ${tested.length})`);
  const meta = { model: o.provenance.model, split: 'train', seed: o.seed, examples_per_class: o.examplesPerClass };
  const maxLength = o.batching.maxLength;

  const activation = await timed('activation', () => activationScores(model, scored, o.classNames, { maxLength, batchSize: o.batching.batchSize, tokenBudget: o.batching.tokenBudget, onProgress: progress('activation scores'), meta }));
  const means = overallScores(activation);
  const ig = await timed('ig', () => igScores(model, head, scored, o.classNames, {
    steps: o.steps, rule: o.rule, internalBatch: o.internalBatch, maxLength, positions: o.positions, onProgress: progress('integrated gradients'), meta,
  }));
  const overall = { activation: means, ig: overallScores(ig) };

  const stamp = {
    model: o.provenance.model, split: o.provenance.split, test_records: tested.length, steps: o.steps, rule: o.rule, examples_per_class: o.examplesPerClass, sample_seed: o.seed,
  };
  const base = await editedMetrics(model, head, layout, tested, o.classNames, o.batching, []);
  const grid = o.modules.flatMap((m) => selections(o, layout, m, overall));
  const rows: AblationRow[] = [];
  await timed('ablation', async () => {
    for (const s of grid) {
      const r = await editedMetrics(model, head, layout, tested, o.classNames, o.batching, [ablationEdit(layout, s, o.replacement, means)]);
      const kept = s.keep.reduce((a, b) => a + b, 0);
      rows.push({ module: s.module, method: s.method, ranking: s.ranking, replacement: o.replacement, fraction: s.fraction, seed: s.seed, kept, accuracy: r.accuracy, macro_f1: r.macro_f1, ...stamp });
      o.onProgress?.('ablation', rows.length, grid.length);
    }
  });
  const edits = await timed('class_edits', () => classEdits(model, head, tested, ig, { modules: o.modules, fraction: o.classEditFraction, batching: o.batching, onProgress: progress('class edits') }));
  const density = neuronDensity(ig, o.densityTop, o.bootstrap, o.seed);
  return {
    unablated: { accuracy: base.accuracy, macro_f1: base.macro_f1 },
    rows, classEdits: edits, density, completeness: summariseCompleteness(ig), activation, ig, scored, tested, seconds,
  };
}
