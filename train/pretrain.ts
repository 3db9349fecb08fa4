/**
 * Masked-language-model training as ESM-2 was trained (the library behind `esm-kn pretrain`): 15% of
 * residues chosen, 80% of those masked, 10% replaced by a random residue, 10% kept, cross-entropy on
 * the chosen positions of the LM logits. Trains on the sequences of a task's training split; the
 * validation split's perplexity (fixed masks) selects OUT/best and drives early stopping.
 *
 * Axis letters: B batch, L tokens, V vocabulary.
 */
import { type Tensor, initEngine } from '../engine/index.js';
import type { ProjectCheckpoint } from '../model/checkpoint/node.js';
import { encodePlan, epochPlans, mixSeed } from '../model/batching.js';
import { type MlmBatch, maskBatch } from '../data/mlm.js';
import { disposeModel } from '../model/esm.js';
import { type Backbone, backboneFromCheckpoint, loadBackbone, readBackbone, uploadBackbone } from './backbone.js';
import type { SplitData } from './data.js';
import { evaluateMlm, mlmLossSum } from './evaluate.js';
import type { MicroBatch, TrainTask } from './loop.js';
import { type CommonOptions, type ResumePoint, type RunControl, type RunResult, type StoredOptions, checkCommonOptions, runBatching, loadRunData, reopenRun, runProvenance, runSeeds, runTask } from './run.js';
import { checkNewRunFolder, loadLast } from './state.js';

/** Options of a pretraining run (the common ones; the task only chooses which sequences). */
export type PretrainOptions = CommonOptions;

interface MaskedBatch extends MicroBatch {
  readonly m: MlmBatch;
}

function mlmTask(o: PretrainOptions, backbone: Backbone, data: SplitData, model: ReturnType<typeof uploadBackbone>): TrainTask<MaskedBatch> {
  const train = data.parts.train;
  const seeds = runSeeds(o.seed);
  const batching = runBatching(o);
  const plans = epochPlans(train, { mode: 'train', seed: seeds.data, ...batching });
  return {
    params: model.trainable,
    batchesInEpoch: (epoch) => plans(epoch).length,
    microBatch(epoch, index) {
      const tb = encodePlan(train, plans(epoch)[index]!, o.maxLength);
      // Masks are a function of (seed, epoch, batch): a resumed run draws the same ones.
      const m = maskBatch(tb, { seed: mixSeed(seeds.data, epoch, index) });
      return { m, weight: m.chosen, tokens: tb.lengths.reduce((a, n) => a + n, 0) };
    },
    loss: ({ m }): Tensor => mlmLossSum(model.model, m.tokens, m.targets, m.batch, m.length), // ()
    async evaluate() {
      const r = await evaluateMlm(model.model, data.parts.valid, batching, seeds.validMasks);
      return {
        score: -r.perplexity,
        scalars: { loss: r.loss, perplexity: r.perplexity },
        metrics: { split: 'valid', records: data.parts.valid.length, masked: r.masked, loss: r.loss, perplexity: r.perplexity },
        summary: `valid MLM loss ${r.loss.toFixed(4)} perplexity ${r.perplexity.toFixed(3)} (${r.masked} masked positions)`,
      };
    },
    async snapshot(): Promise<ProjectCheckpoint> {
      return { config: backbone.config, params: await readBackbone(model.model, backbone.hasContactHead), meta: { pretrain_task: data.dataset.task } };
    },
  };
}

async function run(o: PretrainOptions, backbone: Backbone, data: SplitData, provenance: Record<string, unknown>, resume: ResumePoint | null, control: RunControl): Promise<RunResult> {
  const model = uploadBackbone(backbone, 'mlm', o.weightDecay);
  try {
    return await runTask('pretrain', mlmTask(o, backbone, data, model), o, provenance, resume, control);
  } finally {
    disposeModel(model.model);
  }
}

/** Starts an MLM run in o.out (which must not hold one already). */
export async function pretrain(o: PretrainOptions, control: RunControl = {}): Promise<RunResult> {
  checkCommonOptions(o);
  checkNewRunFolder(o.out);
  const data = await loadRunData(o, 'perplexity');
  const backbone = await loadBackbone(o.backbone, runSeeds(o.seed).init);
  await initEngine();
  return run(o, backbone, data, runProvenance('pretrain', o, data, backbone, control), null, control);
}

/** Continues the MLM run in `out` from out/last exactly where it was saved. */
export async function resumePretrain(out: string, control: RunControl = {}): Promise<RunResult> {
  const last = await loadLast<StoredOptions<PretrainOptions>>(out, 'pretrain');
  const { options: o, data, provenance, resume } = await reopenRun(last, out, control);
  await initEngine();
  const backbone = backboneFromCheckpoint(last.ckpt);
  return run(o, { ...backbone, source: String(provenance.backbone ?? backbone.source) }, data, provenance, resume, control);
}
