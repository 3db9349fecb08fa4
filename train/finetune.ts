/**
 * Fine-tuning ESM-2 with a classification head on a labelled task (the library behind `esm-kn
 * finetune`): mean or <cls> pooling, optional balanced class weights, freezing, dropout on the final
 * hidden states in training, macro-F1 on the validation split for model selection and early stopping.
 *
 * Axis letters: B batch, L tokens, C classes.
 */
import { crossEntropy, dropoutSeed, initEngine, keep, type Tensor, tensor } from '../engine/index.js';
import type { ProjectCheckpoint } from '../model/checkpoint/node.js';
import { type TokenBatch, encodePlan, epochPlans } from '../model/batching.js';
import { CORPUS_TASK, TASKS } from '../data/dataset.js';
import { disposeModel } from '../model/esm.js';
import { type ClassifierHead, type Pooling, headFromTensors, initHead } from '../model/head.js';
import { FormatError } from '../io/errors.js';
import { type Backbone, type Freeze, FREEZE_MODES, type NamedParam, backboneFromCheckpoint, loadBackbone, readBackbone, uploadBackbone } from './backbone.js';
import { type SplitData, balancedClassWeights } from './data.js';
import { classifierForward } from '../model/classifier.js';
import { evaluateClassifier } from './evaluate.js';
import { OptionError } from './errors.js';
import type { MicroBatch, TrainTask } from './loop.js';
import { type CommonOptions, type ResumePoint, type RunControl, type RunResult, type StoredOptions, checkCommonOptions, runBatching, loadRunData, reopenRun, runProvenance, runSeeds, runTask } from './run.js';
import { checkNewRunFolder, loadLast } from './state.js';

/** Options of a fine-tuning run. */
export interface FinetuneOptions extends CommonOptions {
  readonly pooling: Pooling;
  readonly classWeights: 'none' | 'balanced';
  readonly freeze: Freeze;
  /** Layers that train with freeze 'all-but-last'. */
  readonly trainLast: number;
  /** Dropout on the final hidden states in training (0 = none, ESM-2 fine-tuning's usual choice). */
  readonly dropout: number;
}

/** Checks fine-tuning options; errors name the option. */
export function checkFinetuneOptions(o: FinetuneOptions): void {
  checkCommonOptions(o);
  if (o.task === CORPUS_TASK) throw new OptionError(`task '${o.task}' is the pretraining corpus, not a classification task`);
  if (o.pooling !== 'mean' && o.pooling !== 'cls') throw new OptionError(`pooling '${o.pooling}' must be mean or cls`);
  if (o.classWeights !== 'none' && o.classWeights !== 'balanced') throw new OptionError(`class-weights '${o.classWeights}' must be none or balanced`);
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
  const hostWeights = o.classWeights === 'balanced' ? balancedClassWeights(train, classNames.length) : null;
  const weights = hostWeights ? keep(tensor(hostWeights, [classNames.length], 'f32', 'class_weights')) : undefined; // (C)
  const headParams: NamedParam[] = [...head.params].map(([name, t]) => ({ name, tensor: t, weightDecay: name.endsWith('.bias') ? 0 : o.weightDecay }));
  const plans = epochPlans(train, { mode: 'train', seed: seeds.data, ...batching });
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
      const r = await evaluateClassifier(model.model, head, data.parts.valid, classNames, batching);
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
        meta: { task: data.dataset.task, task_description: TASKS[data.dataset.task].description },
      };
    },
  };
  return { task, release: () => weights?.dispose() };
}

async function run(o: FinetuneOptions, parts: FinetuneParts, provenance: Record<string, unknown>, resume: ResumePoint | null, control: RunControl): Promise<RunResult> {
  const model = uploadBackbone(parts.backbone, 'classify', o.weightDecay, o.freeze, o.trainLast);
  const { task, release } = classifierTask(o, parts, model);
  try {
    return await runTask('finetune', task, o, provenance, resume, control);
  } finally {
    release();
    disposeModel(model.model);
    for (const t of parts.head.params.values()) t.dispose();
  }
}

/** Starts a fine-tuning run in o.out (which must not hold one already). */
export async function finetune(o: FinetuneOptions, control: RunControl = {}): Promise<RunResult> {
  checkFinetuneOptions(o);
  checkNewRunFolder(o.out);
  const data = await loadRunData(o, 'macro-F1');
  const backbone = await loadBackbone(o.backbone, runSeeds(o.seed).init);
  if (o.freeze === 'all-but-last' && o.trainLast > backbone.config.numLayers) {
    throw new OptionError(`train-last ${o.trainLast} is more than the backbone's ${backbone.config.numLayers} layers`);
  }
  await initEngine();
  const head = initHead(backbone.config.embedDim, data.dataset.classNames.length, o.pooling, runSeeds(o.seed).head);
  const provenance = runProvenance('finetune', o, data, backbone.source, control);
  return run(o, { backbone, head, data }, provenance, null, control);
}

/** Continues the run in `out` from out/last exactly where it was saved. */
export async function resumeFinetune(out: string, control: RunControl = {}): Promise<RunResult> {
  const last = await loadLast<StoredOptions<FinetuneOptions>>(out, 'finetune');
  const { options: o, data, provenance, resume } = await reopenRun(last, out, control);
  await initEngine();
  const stored = last.ckpt.head;
  if (!stored) throw new FormatError(last.ckpt.path, 'has no classification head to resume');
  const backbone = backboneFromCheckpoint(last.ckpt);
  const head = headFromTensors(backbone.config.embedDim, stored.labels.length, stored.pooling, (n) => stored.params.get(n)?.data);
  for (const t of head.params.values()) t.requiresGrad = true;
  return run(o, { backbone: { ...backbone, source: String(provenance.backbone ?? backbone.source) }, head, data }, provenance, resume, control);
}
