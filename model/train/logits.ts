/**
 * The classifier's logits for records, batched for evaluation (length-sorted, first-window crops, never
 * random), with an optional neuron hook: what evaluation (evaluate.ts), the ablations (model/kn) and the
 * page share. No Node built-ins.
 *
 * Axis letters: B batch, L tokens, D model dim, C classes.
 */
import { type Tensor, dropout, noGrad, tidy } from '../../engine/index.js';
import { type BatchRecord, type TokenBatch, encodePlan, planBatches } from '../data/batching.js';
import { type EsmModel, type NeuronHook, esmForward, prepareBatch } from '../esm.js';
import { type ClassifierHead, classify, meanPoolWeights } from '../head.js';

/** How evaluation batches are formed (see model/data/batching.ts). */
export interface EvalBatching {
  readonly batchSize?: number;
  readonly tokenBudget?: number;
  readonly maxLength: number;
}

/**
 * Records the classifier's logits (B, C) for an encoded batch. `drop` applies dropout to the final
 * hidden states before pooling, in training only, so evaluation never sees it; `hook` edits neurons
 * (model/kn/ablate.ts).
 */
export function classifierForward(model: EsmModel, head: ClassifierHead, tb: TokenBatch, drop?: { p: number; seed: number }, hook?: NeuronHook): Tensor {
  const { batch: B, length: L } = tb;
  let last = esmForward(model, prepareBatch(model.config, tb.tokens, B, L), { hook }).last; // (B, L, D)
  if (drop && drop.p > 0) last = dropout(last, drop);
  const pool = head.pooling === 'mean' ? meanPoolWeights(Array.from(tb.lengths, (n) => n - 2), L) : undefined; // (B, L, 1)
  return classify(head, last, pool); // (B, C)
}

/**
 * Runs `record` for every batch of an evaluation plan and hands each result to `consume` on the host.
 * Batch k + 1 is recorded while the device runs batch k (its readback is awaited one batch later).
 */
export async function eachEvalBatch(
  records: readonly BatchRecord[],
  batching: EvalBatching,
  record: (tb: TokenBatch, index: number) => Tensor,
  consume: (values: Float32Array, tb: TokenBatch, indices: readonly number[]) => void,
): Promise<void> {
  const plans = planBatches(records, { mode: 'eval', batchSize: batching.batchSize, tokenBudget: batching.tokenBudget, maxLength: batching.maxLength });
  let prev: { t: Tensor; values: Promise<Float32Array>; tb: TokenBatch; indices: readonly number[] } | null = null;
  const drain = async (): Promise<void> => {
    if (!prev) return;
    const p = prev;
    prev = null;
    const values = await p.values;
    p.t.dispose();
    consume(values, p.tb, p.indices);
  };
  try {
    for (const [i, plan] of plans.entries()) {
      const tb = encodePlan(records, plan, batching.maxLength);
      const t = noGrad(() => tidy(() => record(tb, i)));
      const values = t.f32();
      await drain();
      prev = { t, values, tb, indices: plan.indices };
    }
    await drain();
  } finally {
    (prev as { t: Tensor } | null)?.t.dispose();
  }
}

/** Logits [N, C] of the records, row n for records[n], optionally with a neuron hook. */
export async function classifierLogits(model: EsmModel, head: ClassifierHead, records: readonly BatchRecord[], batching: EvalBatching, hook?: NeuronHook): Promise<Float32Array> {
  const C = head.numClasses;
  const out = new Float32Array(records.length * C);
  await eachEvalBatch(records, batching, (tb) => classifierForward(model, head, tb, undefined, hook), (values, _tb, indices) => {
    indices.forEach((r, b) => out.set(values.subarray(b * C, (b + 1) * C), r * C));
  });
  return out;
}
