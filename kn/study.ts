/**
 * The whole knowledge-neuron study on one fine-tuned classifier (what `esm-kn experiment` runs):
 *   1. score every neuron on a class-stratified subsample of the training split: mean |activation| (or
 *      signed) and integrated gradients of a target class (true, predicted, or true on correctly
 *      classified examples only), each example's IG row normalised by its maximum before averaging;
 *      query and key scored per rotary pair (pairs.ts); optionally Dai et al.'s refined neurons;
 *   2. the ablation grid (ablation_grid.ts): keep each method's top neurons of one module type, against
 *      S layer-matched random selections, and test each cell (tests.ts: empirical p, paired bootstrap
 *      interval, Holm per (module, method, metric) family); zero each whole module type;
 *   3. per class, suppress and amplify its top IG neurons of each module type, against layer-matched
 *      random neurons of the same count, with a class x class specificity matrix;
 *   4. density of the global top IG neurons per module type and layer, attribution mass, a sensitivity
 *      curve over top fractions and the key-versus-others contrasts (density.ts).
 * Every number carries the model, split, seeds and sample that produced it (the CLI writes them).
 */
import type { TaskRecord } from '../data/dataset.js';
import { argmaxRows } from '../data/metrics.js';
import { type EvalBatching, classifierLogits } from '../model/classifier.js';
import type { EsmModel, NeuronModule } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import { type Replacement, editedMetrics } from './ablate.js';
import { type AblationRow, type ZeroingRow, ablationGrid, moduleZeroing } from './ablation_grid.js';
import { type ActivationDensity, type ZeroingContrast, activationDensity, zeroingContrasts } from './basis_free.js';
import { activationScores } from './activation.js';
import { type ClassEditKind, type ClassEditRow, type SpecificityRow, classEdits } from './class_edits.js';
import { type Density, neuronDensity } from './density.js';
import { stratifiedSample } from './examples.js';
import type { IgPositions } from './ig.js';
import { igScores } from './ig_scores.js';
import { type NeuronLayout, neuronLayout, sameLayout } from './layout.js';
import { type QkUnits, pairScores } from './pairs.js';
import type { QuadratureRule } from './quadrature.js';
import { type RefinedOptions, normaliseExamples, refinedNeurons } from './refined.js';
import { type CompletenessSummary, type NeuronScores, overallScores, summariseCompleteness } from './scores.js';
import type { Ranking } from './select.js';
import { type AblationTest, type BeatsRandom, type TestMetric, ablationTests, attainableAlpha, beatsRandom } from './tests.js';
import { spearman } from './stats.js';

export type { AblationRow } from './ablation_grid.js';

/** Which class's probability IG explains, and on which examples. */
export type IgTarget = 'true' | 'predicted' | 'correct';

/** Every target, for option parsing. */
export const IG_TARGETS: readonly IgTarget[] = ['true', 'predicted', 'correct'];

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
  /** Seed of the example subsamples and of every bootstrap. */
  readonly seed: number;
  readonly steps: number;
  readonly rule: QuadratureRule;
  readonly internalBatch?: number;
  readonly positions: IgPositions;
  readonly target: IgTarget;
  /** Divide each example's IG row by its largest |score| before averaging (refined.ts). */
  readonly normalise: boolean;
  /** Rank activations by mean |activation| ('abs', default) or the signed mean. */
  readonly activation: 'abs' | 'signed';
  /** Query and key per rotary pair (default) or per unit. */
  readonly qk: QkUnits;
  /** Dai et al.'s refined neurons as a third method, or null. */
  readonly refined: RefinedOptions | null;
  readonly modules: readonly NeuronModule[];
  /** Preserved fractions in [0, 1]. */
  readonly fractions: readonly number[];
  /** Seeds of the random selections. */
  readonly seeds: readonly number[];
  readonly rankings: readonly Ranking[];
  readonly replacement: Replacement;
  /** Bootstrap resamples of the test records for the ablation tests' intervals. */
  readonly resamples: number;
  /** The metric the verdicts are stated on. */
  readonly primaryMetric: TestMetric;
  /** Share of a module type's neurons suppressed or amplified per class, and the control seeds. */
  readonly classEditFraction: number;
  readonly classEditSeeds: readonly number[];
  /** The class edits made (default both). */
  readonly classEditKinds?: readonly ClassEditKind[];
  /** Skip the class edits (null models). */
  readonly skipClassEdits?: boolean;
  /** Global top share for the density analysis, and its bootstrap resamples over scored examples. */
  readonly densityTop: number;
  readonly bootstrap: number;
  /** Also score IG with the predicted class as target and report its rank agreement with the main target. */
  readonly targetAgreement?: boolean;
  /**
   * Scores computed elsewhere (e.g. merged shards of `neurons score --shard K/N`): their examples, which
   * must be training records, are the scored ones; activation scores are computed when absent.
   */
  readonly precomputed?: { readonly ig: NeuronScores; readonly activation?: NeuronScores };
  readonly batching: EvalBatching;
  /** A progress callback per stage: (stage, done, total). */
  readonly onProgress?: (stage: string, done: number, total: number) => void;
}

/** Spearman correlation of overall IG scores under two targets, per module type. */
export interface TargetAgreement {
  readonly targets: [IgTarget, IgTarget];
  /** Scored examples the second target's IG ran on ('correct': the correctly classified ones). */
  readonly examples: number;
  readonly overall: number;
  readonly modules: { readonly module: NeuronModule; readonly spearman: number }[];
}

/** Everything the report shows. */
export interface StudyResult {
  readonly unablated: { readonly accuracy: number; readonly macro_f1: number };
  readonly rows: AblationRow[];
  readonly tests: AblationTest[];
  readonly verdicts: { readonly beats_random: BeatsRandom[]; readonly key_density: Density['keyDensity'] };
  /** Smallest Holm-adjusted p-value this grid can reach (>= 0.05: nothing can be called significant). */
  readonly attainable_p: number;
  readonly zeroing: ZeroingRow[];
  /** Basis-free density checks: key's whole-module zeroing drop against each other type's, and density by activation among the residual writers. */
  readonly basisFree: { readonly zeroing: ZeroingContrast[]; readonly activation: ActivationDensity };
  readonly classEdits: ClassEditRow[];
  readonly specificity: SpecificityRow[];
  readonly density: Density;
  readonly completeness: CompletenessSummary | null;
  readonly refined: { readonly t: number; readonly p: number; readonly per_class: number[] } | null;
  /** One entry per other IG target (empty unless asked for). */
  readonly agreement: TargetAgreement[];
  /** Raw per-example scores (as computed, before pairing or normalisation), for `esm-kn neurons`. */
  readonly activation: NeuronScores;
  readonly ig: NeuronScores;
  /** The IG scores the study ranks by (normalised and paired as its options say). */
  readonly igRanked: NeuronScores;
  readonly scored: readonly TaskRecord[];
  readonly tested: readonly TaskRecord[];
  /** Forward passes of the ablation grid. */
  readonly passes: number;
  /** Seconds per stage. */
  readonly seconds: Record<string, number>;
}

/** The scored records relabelled or filtered for an IG target (predictions: one class per record). */
export function targetRecords(records: readonly TaskRecord[], predictions: Int32Array, target: IgTarget): TaskRecord[] {
  if (target === 'true') return [...records];
  if (target === 'predicted') return records.map((r, i) => ({ ...r, label: predictions[i]! }));
  return records.filter((r, i) => predictions[i] === r.label);
}

/** The training records behind precomputed scores, checked against the model and the task. */
function precomputedRecords(s: NeuronScores, train: readonly TaskRecord[], layout: NeuronLayout, classNames: readonly string[]): TaskRecord[] {
  if (!sameLayout(s.layout, layout)) throw new Error('the precomputed scores were computed on a model of another shape');
  if (s.classNames.join('\n') !== classNames.join('\n')) throw new Error(`the precomputed scores have classes ${s.classNames.join(', ')}, the task has ${classNames.join(', ')}`);
  const byId = new Map(train.map((r) => [r.id, r]));
  return s.examples.map((e) => {
    const r = byId.get(e.id);
    if (!r) throw new Error(`the precomputed scores' example '${e.id}' is not a record of the task's training split`);
    return r;
  });
}

/** Runs the study. */
export async function runStudy(model: EsmModel, head: ClassifierHead, o: StudyOptions): Promise<StudyResult> {
  const layout = neuronLayout(model.config);
  const C = o.classNames.length;
  const headDim = model.config.embedDim / model.config.attentionHeads;
  const seconds: Record<string, number> = {};
  const timed = async <T>(stage: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    seconds[stage] = (performance.now() - t0) / 1000;
    return r;
  };
  const progress = (stage: string) => (done: number, total: number) => o.onProgress?.(stage, done, total);
  const scored = o.precomputed ? precomputedRecords(o.precomputed.ig, o.train, layout, o.classNames) : stratifiedSample(o.train, C, o.examplesPerClass, o.seed);
  const tested = stratifiedSample(o.test, C, o.testPerClass, o.seed);
  if (!scored.length || !tested.length) throw new Error(`the study needs scored and test examples (got ${scored.length} and ${tested.length})`);
  const meta = { split: 'train', seed: o.seed, examples_per_class: o.examplesPerClass };
  const maxLength = o.batching.maxLength;
  const paired = (s: NeuronScores) => (o.qk === 'pair' ? pairScores(s, headDim) : s);

  const activation = o.precomputed?.activation ?? await timed('activation', () => activationScores(model, scored, o.classNames, {
    abs: o.activation === 'abs', maxLength, batchSize: o.batching.batchSize, tokenBudget: o.batching.tokenBudget, onProgress: progress('activation scores'), meta,
  }));
  const signedMeans = o.replacement === 'mean'
    ? overallScores(o.activation === 'signed' ? activation : await activationScores(model, scored, o.classNames, { maxLength, batchSize: o.batching.batchSize, tokenBudget: o.batching.tokenBudget, meta }))
    : undefined;
  const needPredictions = !o.precomputed && (o.target !== 'true' || o.targetAgreement);
  const scoredPred = needPredictions ? argmaxRows(await classifierLogits(model, head, scored, o.batching), C) : new Int32Array(0);
  const igOptions = { steps: o.steps, rule: o.rule, internalBatch: o.internalBatch, maxLength, positions: o.positions, onProgress: progress('integrated gradients') };
  const igRecords = o.precomputed ? scored : targetRecords(scored, scoredPred, o.target);
  if (!igRecords.length) throw new Error(`IG target '${o.target}': no scored example qualifies (none is classified correctly)`);
  const ig = o.precomputed?.ig ?? await timed('ig', () => igScores(model, head, igRecords, o.classNames, { ...igOptions, meta: { ...meta, target: o.target } }));
  const igUsed = paired(o.normalise ? normaliseExamples(ig) : ig);
  const methods = new Map<string, Float64Array>([['activation', overallScores(paired(activation))], ['ig', overallScores(igUsed)]]);
  const refined = o.refined ? refinedNeurons(paired(ig), o.refined) : null;
  if (refined) methods.set('ig-refined', refined.ranking);

  // Rank agreement of the main target's IG with each other target's, on the same scored records.
  const agreement: TargetAgreement[] = [];
  if (o.targetAgreement && !o.precomputed) {
    const a = methods.get('ig')!;
    for (const other of IG_TARGETS.filter((t) => t !== o.target)) {
      const recs = targetRecords(scored, scoredPred, other);
      if (!recs.length) continue; // 'correct' with no correctly classified example
      const s2 = await timed(`ig_agreement_${other}`, () => igScores(model, head, recs, o.classNames, { ...igOptions, onProgress: progress(`IG (${other} target)`), meta: { ...meta, target: other } }));
      const b = overallScores(paired(o.normalise ? normaliseExamples(s2) : s2));
      agreement.push({
        targets: [o.target, other],
        examples: recs.length,
        overall: spearman(a, b),
        modules: o.modules.map((module) => {
          const st = layout.starts[module];
          const e = st + layout.numLayers * layout.widths[module];
          return { module, spearman: spearman(a.subarray(st, e), b.subarray(st, e)) };
        }),
      });
    }
  }

  const base = await editedMetrics(model, head, layout, tested, o.classNames, o.batching, []);
  const unablated = { accuracy: base.accuracy, macro_f1: base.macro_f1 };
  const grid = await timed('ablation', () => ablationGrid(model, head, layout, tested, o.classNames, {
    modules: o.modules, rankings: o.rankings, fractions: o.fractions, seeds: o.seeds, replacement: o.replacement,
    methods, means: signedMeans, batching: o.batching, pairs: o.qk === 'pair' ? headDim : null, onProgress: progress('ablation'),
  }));
  const truth = Int32Array.from(tested, (r) => r.label);
  const tests = ablationTests(grid.cells, truth, { numClasses: C, resamples: o.resamples, seed: o.seed });
  const zeroed = await timed('zeroing', () => moduleZeroing(model, head, layout, tested, o.classNames, o.modules, o.batching, unablated));
  const zeroing = zeroed.rows;
  const edits = o.skipClassEdits
    ? { rows: [], specificity: [] }
    : await timed('class_edits', () => classEdits(model, head, tested, igUsed, {
      modules: o.modules, fraction: o.classEditFraction, batching: o.batching, controlSeeds: o.classEditSeeds, kinds: o.classEditKinds, pairs: o.qk === 'pair' ? headDim : null, onProgress: progress('class edits'),
    }));
  // Under joint scaling query and key IG are equal per rotary pair by construction (pairs.ts).
  const tied: NeuronModule[] = o.positions === 'cls' ? [] : ['query'];
  const density = neuronDensity(igUsed, o.densityTop, o.bootstrap, o.seed, undefined, paired(ig), tied);
  const basisFree = {
    zeroing: zeroingContrasts(truth, zeroed.zeroed, o.bootstrap, o.seed),
    activation: activationDensity(activation, o.densityTop, o.bootstrap, o.seed),
  };
  const familySize = o.rankings.length * o.fractions.length;
  return {
    unablated, rows: grid.rows, tests,
    verdicts: { beats_random: beatsRandom(tests, o.primaryMetric, o.seeds.length), key_density: density.keyDensity },
    attainable_p: attainableAlpha(familySize, o.seeds.length),
    zeroing, basisFree, classEdits: edits.rows, specificity: edits.specificity, density, completeness: summariseCompleteness(ig),
    refined: refined ? { t: refined.options.t, p: refined.options.p, per_class: refined.perClass.map((l) => l.length) } : null,
    agreement, activation, ig, igRanked: igUsed, scored, tested, passes: grid.passes, seconds,
  };
}

/** A null model's study, as results.json `nulls` keeps it. */
export interface NullResult {
  readonly name: string;
  readonly description: string;
  readonly unablated: { readonly accuracy: number; readonly macro_f1: number };
  readonly tests: AblationTest[];
  readonly verdicts: StudyResult['verdicts'];
  readonly zeroing: ZeroingRow[];
  readonly mass: Density['mass'];
  readonly basisFree: StudyResult['basisFree'];
  readonly rows: AblationRow[];
}

/** The parts of a null model's study the report shows. */
export function nullSummary(name: string, description: string, r: StudyResult): NullResult {
  return { name, description, unablated: r.unablated, tests: r.tests, verdicts: r.verdicts, zeroing: r.zeroing, mass: r.density.mass, basisFree: r.basisFree, rows: r.rows };
}
