/**
 * Evaluation outside any command line: the classifier's metrics on labelled records (its logits come
 * from model/classifier.ts), validation MLM loss and perplexity, and loading a fine-tuned classifier.
 * Training (finetune.ts, pretrain.ts) and `esm-kn evaluate` call these; so can later experiments.
 *
 * Evaluation batches are length-sorted and never random: sequences longer than maxLength keep their
 * first maxLength residues, or with batching.window are scored as the mean of their windows' logits
 * (classifierLogits), so a record gets the same prediction every time. MLM evaluation ignores window.
 *
 * Axis letters: B batch, L tokens, C classes, V vocabulary.
 */
import { crossEntropy, reshape, type Tensor, tensor } from '../engine/index.js';
import { loadCheckpoint } from '../model/checkpoint/node.js';
import { type Classifier, type EvalBatching, classifierLogits, eachEvalBatch, uploadClassifier } from '../model/classifier.js';
import { type BatchRecord, mixSeed } from '../model/batching.js';
import { TASK_NAMES, type TaskName, type TaskRecord } from '../data/dataset.js';
import { type Metrics, argmaxRows, computeMetrics } from '../data/metrics.js';
import { maskBatch } from '../data/mlm.js';
import { type EsmModel, esmForward, prepareBatch } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import { FormatError } from '../io/errors.js';
import { resolveModel } from '../model/assets.node.js';

/** A classifier's results on labelled records. */
export interface ClassifierEvaluation {
  readonly metrics: Metrics;
  /** Mean cross-entropy (unweighted), computed in float64 from the logits. */
  readonly loss: number;
  /** Predicted class per record. */
  readonly predictions: Int32Array;
  /** [N, C] logits in record order. */
  readonly logits: Float32Array;
}

/** Predicts every record and compares with its label. */
export async function evaluateClassifier(
  model: EsmModel,
  head: ClassifierHead,
  records: readonly TaskRecord[],
  classNames: readonly string[],
  batching: EvalBatching,
): Promise<ClassifierEvaluation> {
  const C = head.numClasses;
  if (classNames.length !== C) throw new Error(`evaluateClassifier: ${classNames.length} class names for a ${C}-class head`);
  const logits = await classifierLogits(model, head, records, batching);
  const predictions = argmaxRows(logits, C);
  let nll = 0;
  records.forEach((r, n) => {
    const row = logits.subarray(n * C, (n + 1) * C);
    const m = Math.max(...row);
    let z = 0;
    for (const v of row) z += Math.exp(v - m);
    nll += m + Math.log(z) - row[r.label]!;
  });
  const metrics = computeMetrics(records.map((r) => r.label), predictions, classNames);
  return { metrics, loss: nll / records.length, predictions, logits };
}

/** Records the MLM loss summed over the masked positions of a masked batch (a scalar). */
export function mlmLossSum(model: EsmModel, tokens: Int32Array, targets: Int32Array, B: number, L: number): Tensor {
  const V = model.config.vocabSize;
  const logits = esmForward(model, prepareBatch(model.config, tokens, B, L), { logits: true }).logits!; // (B, L, V)
  return crossEntropy(reshape(logits, [B * L, V]), tensor(targets, [B * L], 'i32', 'mlm_targets'), { reduction: 'sum' }); // ()
}

/** Validation MLM results. */
export interface MlmEvaluation {
  /** Mean cross-entropy per masked position (nats). */
  readonly loss: number;
  /** exp(loss). */
  readonly perplexity: number;
  /** Masked positions the loss averages over. */
  readonly masked: number;
}

/**
 * MLM loss and perplexity on records, with ESM-2's masking (15%, 80/10/10) drawn from `seed` and the
 * batch index, so repeated evaluations of a model see the same masks.
 */
export async function evaluateMlm(model: EsmModel, records: readonly BatchRecord[], batching: EvalBatching, seed: number): Promise<MlmEvaluation> {
  let sum = 0;
  let masked = 0;
  await eachEvalBatch(records, batching, (tb, i) => {
    const m = maskBatch(tb, { seed: mixSeed(seed, i) });
    masked += m.chosen;
    return mlmLossSum(model, m.tokens, m.targets, m.batch, m.length);
  }, (values) => {
    sum += values[0]!;
  });
  const loss = masked ? sum / masked : 0;
  return { loss, perplexity: Math.exp(loss), masked };
}

/** Loads a model with a classification head (an esm-kn folder written by finetune) onto the GPU. */
export async function loadClassifier(path: string): Promise<Classifier> {
  const ckpt = await loadCheckpoint(resolveModel(path));
  if (!ckpt.head) throw new FormatError(path, 'has no classification head (evaluate needs a model written by esm-kn finetune)');
  return uploadClassifier(ckpt);
}

/** The task a classifier was trained for, when its checkpoint says. */
export function classifierTask(c: Classifier): TaskName | null {
  return TASK_NAMES.find((t) => t === c.checkpoint.meta.task) ?? null;
}
