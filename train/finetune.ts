/**
 * Fine-tuning ESM-2 with a classification head on a labelled task (the library behind `esm-kn
 * finetune`): mean or <cls> pooling, optional balanced or sqrt class weights, shuffled or
 * class-balanced sampling, a learning-rate multiplier for the head, freezing, dropout on the final
 * hidden states in training, macro-F1 on the validation split (first windows or window-averaged
 * scoring) for model selection and early stopping, and shuffled training labels for a null twin.
 *
 * Axis letters: B batch, L tokens, C classes.
 */
import { crossEntropy, dropoutSeed, initEngine, keep, type Tensor, tensor } from '../engine/index.js';
import { type LoadedCheckpoint, type ProjectCheckpoint, loadCheckpoint } from '../model/checkpoint/node.js';
import { resolveModel } from '../model/assets.node.js';
import { type Sampler, SAMPLERS, type TokenBatch, encodePlan, epochPlans, mixSeed } from '../model/batching.js';
import { CORPUS_TASK, TASKS } from '../data/dataset.js';
import { disposeModel } from '../model/esm.js';
import { type ClassifierHead, type Pooling, headFromTensors, initHead } from '../model/head.js';
import { FormatError } from '../io/errors.js';
import { type Backbone, type Freeze, FREEZE_MODES, type NamedParam, backboneFromCheckpoint, loadBackbone, readBackbone, uploadBackbone } from './backbone.js';
import { CLASS_WEIGHTINGS, type ClassWeighting, type SplitData, classWeightsFor, shuffleLabels } from './data.js';
import { type EvalBatching, classifierForward } from '../model/classifier.js';
import { MAX_RESIDUES } from '../model/tokenizer.js';
import { evaluateClassifier } from './evaluate.js';
import { OptionError } from './errors.js';
import type { MicroBatch, TrainTask } from './loop.js';
import { type CommonOptions, type ResumePoint, type RunControl, type RunResult, type StoredOptions, checkCommonOptions, runBatching, loadRunData, reopenRun, runProvenance, runSeeds, runTask } from './run.js';
import { checkNewRunFolder, loadLast } from './state.js';

/** Options of a fine-tuning run. */
export interface FinetuneOptions extends CommonOptions {
  readonly pooling: Pooling;
  /** Loss weight per class: none, balanced (n / (k n_c)) or sqrt (see sqrtClassWeights). */
  readonly classWeights: ClassWeighting;
  readonly freeze: Freeze;
  /** Layers that train with freeze 'all-but-last'. */
  readonly trainLast: number;
  /** Dropout on the final hidden states in training (0 = none, ESM-2 fine-tuning's usual choice). */
  readonly dropout: number;
  /** How an epoch draws training records: shuffle (each once) or balanced (classes uniformly, see balancedDraw). */
  readonly sampler: Sampler;
  /** The head's learning rate is lr x this (its AdamW group); 1 = the backbone's. */
  readonly headLrMult: number;
  /** Window-averaged validation scoring: W residues per window, or null for the first maxLength residues. */
  readonly evalWindow: number | null;
  /** Stride S between windows; null = floor(W / 2). Needs evalWindow. */
  readonly evalStride: number | null;
  /** Seed of a permutation of the training split's labels (the null twin), or null for the real labels. */
  readonly shuffleLabels: number | null;
  /**
   * Start from the --backbone checkpoint's classification head instead of a fresh one (a second stage
   * of fine-tuning: its labels and pooling must be the task's and --pooling's).
   */
  readonly keepHead: boolean;
}

/**
 * Defaults of the fine-tuning options added after runs were already being saved: they keep the
 * earlier behaviour, and a resumed run that stored none of them gets these.
 */
export const FINETUNE_DEFAULTS = {
  sampler: 'shuffle', headLrMult: 1, evalWindow: null, evalStride: null, shuffleLabels: null, keepHead: false,
} as const satisfies Partial<FinetuneOptions>;

/** The window of window-averaged validation scoring, with the stride resolved, or undefined when off. */
export function evalWindowOf(o: Pick<FinetuneOptions, 'evalWindow' | 'evalStride'>): { size: number; stride: number } | undefined {
  if (o.evalWindow === null) return undefined;
  return { size: o.evalWindow, stride: o.evalStride ?? Math.max(1, Math.floor(o.evalWindow / 2)) };
}

/** How a run's validation batches are formed (checkpoint choice): the run's batching and eval window. */
export function finetuneEvalBatching(o: FinetuneOptions): EvalBatching {
  return { ...runBatching(o), window: evalWindowOf(o) };
}

/** Checks fine-tuning options; errors name the option. */
export function checkFinetuneOptions(o: FinetuneOptions): void {
  checkCommonOptions(o);
  if (o.task === CORPUS_TASK) throw new OptionError(`task '${o.task}' is the pretraining corpus, not a classification task`);
  if (o.pooling !== 'mean' && o.pooling !== 'cls') throw new OptionError(`pooling '${o.pooling}' must be mean or cls`);
  if (!CLASS_WEIGHTINGS.includes(o.classWeights)) throw new OptionError(`class-weights '${o.classWeights}' must be one of ${CLASS_WEIGHTINGS.join(', ')}`);
  if (!SAMPLERS.includes(o.sampler)) throw new OptionError(`sampler '${o.sampler}' must be one of ${SAMPLERS.join(', ')}`);
  if (!(o.headLrMult > 0 && Number.isFinite(o.headLrMult))) throw new OptionError(`head-lr-mult must be a positive number, got ${o.headLrMult}`);
  if (o.evalWindow !== null && !(Number.isInteger(o.evalWindow) && o.evalWindow >= 1 && o.evalWindow <= MAX_RESIDUES)) {
    throw new OptionError(`eval-window must be an integer in [1, ${MAX_RESIDUES}], got ${o.evalWindow}`);
  }
  if (o.evalStride !== null && o.evalWindow === null) throw new OptionError('eval-stride needs eval-window');
  if (o.evalStride !== null && !(Number.isInteger(o.evalStride) && o.evalStride >= 1)) throw new OptionError(`eval-stride must be an integer >= 1, got ${o.evalStride}`);
  if (o.evalStride !== null && o.evalWindow !== null && o.evalStride > o.evalWindow) throw new OptionError(`eval-stride ${o.evalStride} is more than eval-window ${o.evalWindow}: residues between windows would never be scored`);
  if (o.evalWindow !== null && o.tokensPerBatch !== null && o.tokensPerBatch < o.evalWindow + 2) {
    throw new OptionError(`tokens-per-batch ${o.tokensPerBatch} cannot hold one window of eval-window ${o.evalWindow} (${o.evalWindow + 2} tokens)`);
  }
  if (o.shuffleLabels !== null && !(Number.isInteger(o.shuffleLabels) && o.shuffleLabels >= 0)) throw new OptionError(`shuffle-labels must be an integer seed >= 0, got ${o.shuffleLabels}`);
  if (!FREEZE_MODES.includes(o.freeze)) throw new OptionError(`freeze '${o.freeze}' is not one of ${FREEZE_MODES.join(', ')}`);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new OptionError(`dropout must be in [0, 1), got ${o.dropout}`);
  if (o.freeze === 'all-but-last' && !(Number.isInteger(o.trainLast) && o.trainLast >= 1)) throw new OptionError('freeze all-but-last needs train-last N >= 1');
}

interface ClsBatch extends MicroBatch {
  readonly tb: TokenBatch;
}

/** The pieces of a fine-tuning run on the GPU. */
interface FinetuneParts {
  readonly backbone: Backbone;
  readonly head: ClassifierHead;
  readonly data: SplitData;
}

function classifierTask(o: FinetuneOptions, parts: FinetuneParts, model: ReturnType<typeof uploadBackbone>): { task: TrainTask<ClsBatch>; release: () => void } {
  const { head, data, backbone } = parts;
  const train = data.parts.train;
  const classNames = data.dataset.classNames;
  const seeds = runSeeds(o.seed);
  const batching = runBatching(o);
  const evalBatching = finetuneEvalBatching(o);
  const hostWeights = classWeightsFor(o.classWeights, train, classNames.length);
  const weights = hostWeights ? keep(tensor(hostWeights, [classNames.length], 'f32', 'class_weights')) : undefined; // (C)
  const headParams: NamedParam[] = [...head.params].map(([name, t]) => ({
    name, tensor: t, weightDecay: name.endsWith('.bias') ? 0 : o.weightDecay, lrScale: o.headLrMult,
  }));
  const plans = epochPlans(train, { mode: 'train', seed: seeds.data, sampler: o.sampler, ...batching });
  const task: TrainTask<ClsBatch> = {
    params: [...model.trainable, ...headParams],
    batchesInEpoch: (epoch) => plans(epoch).length,
    microBatch(epoch, index) {
      const tb = encodePlan(train, plans(epoch)[index]!, o.maxLength);
      const weight = hostWeights ? tb.labels.reduce((a, c) => a + hostWeights[c]!, 0) : tb.batch;
      return { tb, weight, tokens: tb.lengths.reduce((a, n) => a + n, 0) };
    },
    loss({ tb }, step, micro): Tensor {
      const logits = classifierForward(model.model, head, tb, { p: o.dropout, seed: dropoutSeed(seeds.dropout, step, micro) }); // (B, C)
      return crossEntropy(logits, tensor(tb.labels, [tb.batch], 'i32', 'labels'), { weights, reduction: 'sum' }); // ()
    },
    async evaluate() {
      const r = await evaluateClassifier(model.model, head, data.parts.valid, classNames, evalBatching);
      const m = r.metrics;
      return {
        score: m.macro_f1,
        scalars: { macro_f1: m.macro_f1, accuracy: m.accuracy, loss: r.loss },
        metrics: { split: 'valid', records: data.parts.valid.length, loss: r.loss, ...m },
        summary: `valid macro-F1 ${m.macro_f1.toFixed(4)} accuracy ${m.accuracy.toFixed(4)} loss ${r.loss.toFixed(4)}`,
      };
    },
    async snapshot(): Promise<ProjectCheckpoint> {
      const params = await readBackbone(model.model, backbone.hasContactHead);
      const hp = new Map<string, { shape: readonly number[]; data: Float32Array }>();
      for (const [name, t] of head.params) hp.set(name, { shape: t.shape, data: await t.f32() });
      return {
        config: backbone.config, params, head: { pooling: head.pooling, labels: classNames, params: hp },
        meta: { task: data.dataset.task, task_description: TASKS[data.dataset.task].description, inference: { max_len: o.maxLength, window: evalWindowOf(o) ?? null } },
      };
    },
  };
  return { task, release: () => weights?.dispose() };
}

/**
 * The run's data. With o.shuffleLabels (the null twin) the training and validation labels are shuffled
 * (validation with its own stream), the test split untouched: a twin whose checkpoint were chosen and
 * early-stopped on real validation labels would carry a little real-label signal into the control.
 */
export function finetuneData(o: Pick<FinetuneOptions, 'shuffleLabels'>, data: SplitData): SplitData {
  if (o.shuffleLabels === null) return data;
  return { ...data, parts: { ...data.parts, train: shuffleLabels(data.parts.train, o.shuffleLabels), valid: shuffleLabels(data.parts.valid, mixSeed(o.shuffleLabels, 1)) } };
}

/** Provenance of the fine-tuning recipe's options (esm-kn.json's provenance.recipe). */
function recipeProvenance(o: FinetuneOptions, data: SplitData, trainData: SplitData): Record<string, unknown> {
  const weights = classWeightsFor(o.classWeights, trainData.parts.train, data.dataset.classNames.length);
  const relabelled = trainData.parts.train.filter((r, i) => r.label !== data.parts.train[i]!.label).length;
  const validRelabelled = trainData.parts.valid.filter((r, i) => r.label !== data.parts.valid[i]!.label).length;
  return {
    class_weights: o.classWeights,
    class_weight_values: weights ? Array.from(weights) : null,
    sampler: o.sampler,
    head_lr_mult: o.headLrMult,
    head: o.keepHead ? 'the --backbone checkpoint\'s head' : 'fresh',
    eval_window: evalWindowOf(o) ?? null,
    shuffle_labels: o.shuffleLabels === null ? null : {
      seed: o.shuffleLabels, split: 'train and valid', records: trainData.parts.train.length, relabelled,
      valid_records: trainData.parts.valid.length, valid_relabelled: validRelabelled,
    },
  };
}

async function run(o: FinetuneOptions, parts: FinetuneParts, provenance: Record<string, unknown>, resume: ResumePoint | null, control: RunControl): Promise<RunResult> {
  const model = uploadBackbone(parts.backbone, 'classify', o.weightDecay, o.freeze, o.trainLast);
  const { task, release } = classifierTask(o, parts, model);
  const w = evalWindowOf(o);
  control.log?.(`class weights ${o.classWeights}, sampler ${o.sampler}, head lr x ${o.headLrMult}, validation on ` +
    `${w ? `windows of ${w.size} residues (stride ${w.stride})` : `the first ${o.maxLength} residues`}` +
    `${o.shuffleLabels === null ? '' : `, training and validation labels shuffled (seed ${o.shuffleLabels})`}`);
  try {
    return await runTask('finetune', task, o, provenance, resume, control);
  } finally {
    release();
    disposeModel(model.model);
    for (const t of parts.head.params.values()) t.dispose();
  }
}

/** The checkpoint's head as a trainable head, when its classes and pooling are the run's. */
function keptHead(ckpt: LoadedCheckpoint, classNames: readonly string[], pooling: Pooling): ClassifierHead {
  const stored = ckpt.head;
  if (!stored) throw new OptionError(`keep-head: ${ckpt.path} has no classification head`);
  if (stored.labels.join('\n') !== classNames.join('\n')) {
    throw new OptionError(`keep-head: ${ckpt.path}'s head has classes ${stored.labels.join(', ')}; the task has ${classNames.join(', ')}`);
  }
  if (stored.pooling !== pooling) throw new OptionError(`keep-head: ${ckpt.path}'s head pools by ${stored.pooling}, --pooling is ${pooling}`);
  const head = headFromTensors(ckpt.config.embedDim, stored.labels.length, stored.pooling, (n) => stored.params.get(n)?.data);
  for (const t of head.params.values()) t.requiresGrad = true;
  return head;
}

/** Starts a fine-tuning run in o.out (which must not hold one already). */
export async function finetune(o: FinetuneOptions, control: RunControl = {}): Promise<RunResult> {
  checkFinetuneOptions(o);
  checkNewRunFolder(o.out);
  const data = await loadRunData(o, 'macro-F1');
  if (o.keepHead && !('checkpoint' in o.backbone)) throw new OptionError('keep-head needs --backbone MODEL, a checkpoint with a classification head');
  const ckpt = 'checkpoint' in o.backbone ? await loadCheckpoint(resolveModel(o.backbone.checkpoint)) : null;
  const backbone = ckpt ? backboneFromCheckpoint(ckpt) : await loadBackbone(o.backbone, runSeeds(o.seed).init);
  if (o.freeze === 'all-but-last' && o.trainLast > backbone.config.numLayers) {
    throw new OptionError(`train-last ${o.trainLast} is more than the backbone's ${backbone.config.numLayers} layers`);
  }
  await initEngine();
  const head = o.keepHead ? keptHead(ckpt!, data.dataset.classNames, o.pooling) : initHead(backbone.config.embedDim, data.dataset.classNames.length, o.pooling, runSeeds(o.seed).head);
  const trainData = finetuneData(o, data);
  const provenance = { ...runProvenance('finetune', o, data, backbone, control), recipe: recipeProvenance(o, data, trainData) };
  return run(o, { backbone, head, data: trainData }, provenance, null, control);
}

/** Continues the run in `out` from out/last exactly where it was saved. */
export async function resumeFinetune(out: string, control: RunControl = {}): Promise<RunResult> {
  const last = await loadLast<StoredOptions<FinetuneOptions>>(out, 'finetune');
  const reopened = await reopenRun(last, out, control);
  const { data, provenance, resume } = reopened;
  // Runs saved before an option existed resume with its default (today's behaviour).
  const o: FinetuneOptions = { ...FINETUNE_DEFAULTS, ...reopened.options };
  await initEngine();
  const stored = last.ckpt.head;
  if (!stored) throw new FormatError(last.ckpt.path, 'has no classification head to resume');
  const backbone = backboneFromCheckpoint(last.ckpt);
  const head = headFromTensors(backbone.config.embedDim, stored.labels.length, stored.pooling, (n) => stored.params.get(n)?.data);
  for (const t of head.params.values()) t.requiresGrad = true;
  return run(o, { backbone: { ...backbone, source: String(provenance.backbone ?? backbone.source) }, head, data: finetuneData(o, data) }, provenance, resume, control);
}
