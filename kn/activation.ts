/**
 * Activation scores: each neuron's mean activation over the residue positions of a sequence (or its
 * mean |activation|), one row per example; per-class and overall scores are means of those rows
 * (scores.ts), so every example counts the same whatever its length.
 *
 * The sums run on the GPU: a forward hook hands every module output to the neuron_sum kernel, which
 * adds position-weighted sums into a (R, N) score block; the block is read once when full.
 *
 * Axis letters: B batch, L tokens, W module width, R rows of a score block, N neurons.
 */
import { keep, neuronSum, noGrad, tensor, tidy, zeros } from '../engine/index.js';
import { type TaskRecord } from '../data/dataset.js';
import { encodePlan, planBatches } from '../model/batching.js';
import { type EsmModel, esmForward, prepareBatch } from '../model/esm.js';
import { residueWeights } from './examples.js';
import { type NeuronLayout, neuronLayout, neuronOffset } from './layout.js';
import type { NeuronScores } from './scores.js';

/** Options of activationScores. */
export interface ActivationOptions {
  /** Mean |activation| instead of the signed mean. */
  readonly abs?: boolean;
  /** Residues kept per sequence (its first ones). */
  readonly maxLength: number;
  /** Most sequences per batch (default 16), and most tokens per batch, padding included (default none). */
  readonly batchSize?: number;
  readonly tokenBudget?: number;
  /** Called after each batch with the examples done so far. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Provenance stored with the scores. */
  readonly meta?: Record<string, unknown>;
}

/** Bytes of one GPU score block; rows beyond it are scored in further blocks. */
const BLOCK_BYTES = 64 * 2 ** 20;

/** Examples per score block for a model with N neurons. */
export function blockRows(layout: NeuronLayout, examples: number): number {
  return Math.max(1, Math.min(examples, Math.floor(BLOCK_BYTES / (4 * layout.total))));
}

/** Mean (or mean absolute) activation of every neuron over each record's residues. */
export async function activationScores(model: EsmModel, records: readonly TaskRecord[], classNames: readonly string[], opts: ActivationOptions): Promise<NeuronScores> {
  const layout = neuronLayout(model.config);
  const N = layout.total;
  const E = records.length;
  const values = new Float32Array(E * N); // (E, N)
  const R = blockRows(layout, E);
  let done = 0;
  for (let start = 0; start < E; start += R) {
    const block = records.slice(start, start + R);
    const score = keep(zeros([block.length, N], 'f32', 'activation_scores')); // (R, N)
    try {
      for (const plan of planBatches(block, { mode: 'eval', batchSize: opts.batchSize ?? 16, tokenBudget: opts.tokenBudget, maxLength: opts.maxLength })) {
        const tb = encodePlan(block, plan, opts.maxLength);
        noGrad(() =>
          tidy(() => {
            const pw = tensor(residueWeights(tb.lengths, tb.length), [tb.batch, tb.length], 'f32', 'residue_weights'); // (B, L)
            const rows = tensor(Int32Array.from(plan.indices), [tb.batch], 'i32', 'score_rows'); // (B)
            esmForward(model, prepareBatch(model.config, tb.tokens, tb.batch, tb.length), {
              hook: (layer, module, out) => {
                neuronSum(out, pw, rows, score, neuronOffset(layout, module, layer), opts.abs === true);
                return out;
              },
            });
          }),
        );
        done += tb.batch;
        opts.onProgress?.(done, E);
      }
      values.set(await score.f32(), start * N);
    } finally {
      score.dispose();
    }
  }
  return {
    method: opts.abs ? 'abs-activation' : 'activation',
    layout,
    classNames,
    examples: records.map((r) => ({ id: r.id, label: r.label, residues: Math.min(r.sequence.length, opts.maxLength) })),
    values,
    meta: { ...opts.meta, max_length: opts.maxLength },
  };
}
