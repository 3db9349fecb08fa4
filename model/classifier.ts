/**
 * The classifier: an ESM-2 backbone with a classification head on the GPU, made from a checkpoint that
 * stores a head, and its one inference path: logits for records, batched for evaluation (length-sorted,
 * first-window crops or window-averaged scoring, never random), with an optional neuron hook.
 * Evaluation (train/evaluate.ts), checkpoint choice in fine-tuning, the study and ablations (kn/), the
 * CLI and the page all go through here. No Node built-ins.
 *
 * Axis letters: B batch, L tokens, D model dim, C classes.
 */
import { type Tensor, dropout, noGrad, tidy } from '../engine/index.js';
import { type BatchRecord, type TokenBatch, encodePlan, planBatches } from './batching.js';
import type { LoadedCheckpoint } from './checkpoint/load.js';
import type { EsmConfig } from './config.js';
import { type EsmModel, type NeuronHook, disposeModel, esmForward, prepareBatch, uploadModel } from './esm.js';
import { type ClassifierHead, classify, headFromTensors, meanPoolWeights } from './head.js';
import { FormatError } from '../io/errors.js';

/** A classifier on the GPU. */
export interface Classifier {
  readonly config: EsmConfig;
  readonly model: EsmModel;
  readonly head: ClassifierHead;
  /** Class names, in head order. */
  readonly labels: readonly string[];
  /** The checkpoint it was uploaded from. */
  readonly checkpoint: LoadedCheckpoint;
  /** Where it came from, for the page ("esm-kn folder models/default"). */
  readonly source: string;
}

/** Explains a model without a stored head (fair-esm, Hugging Face, or a pretrained esm-kn folder). */
export function noHeadMessage(ckpt: LoadedCheckpoint): string {
  const c = ckpt.config;
  return `${ckpt.path}: a ${ckpt.format} model (${c.numLayers} layers, dim ${c.embedDim}) with no classification head. ` +
    'The page needs a fine-tuned classifier: an esm-kn folder written by `esm-kn finetune` (esm-kn.json + model.safetensors), ' +
    'or the embedded default model.';
}

/** Uploads a checkpoint with a stored head; throws a FormatError explaining a missing head. */
export function uploadClassifier(ckpt: LoadedCheckpoint): Classifier {
  const stored = ckpt.head;
  if (!stored) throw new FormatError(ckpt.path, noHeadMessage(ckpt).slice(ckpt.path.length + 2));
  const head = headFromTensors(ckpt.config.embedDim, stored.labels.length, stored.pooling, (n) => stored.params.get(n)?.data);
  const model = uploadModel(ckpt.config, ckpt.params, false);
  return { config: ckpt.config, model, head, labels: stored.labels, checkpoint: ckpt, source: `${ckpt.format} ${ckpt.path}` };
}

/** Frees a classifier's GPU memory. */
export function disposeClassifier(c: Classifier): void {
  disposeModel(c.model);
  for (const t of c.head.params.values()) t.dispose();
}

/** How evaluation batches are formed (see data/batching.ts). */
export interface EvalBatching {
  readonly batchSize?: number;
  readonly tokenBudget?: number;
  /** Residues kept per record: its first maxLength (unless `window` is set). */
  readonly maxLength: number;
  /**
   * Window-averaged scoring (classifierLogits only): a record longer than `size` residues is scored as
   * the mean of the logits of its windows of `size` residues at offsets 0, stride, 2 * stride, ...,
   * the last one flush with the end (windowStarts); a shorter record is scored whole. It replaces the
   * first-window crop, so maxLength does not apply; tokenBudget must hold size + 2 tokens.
   */
  readonly window?: EvalWindow;
}

/** Windows of window-averaged scoring. */
export interface EvalWindow {
  /** W: residues per window (at most 1022). */
  readonly size: number;
  /** S: residues between window starts (1 <= S; the usual choice is W / 2). */
  readonly stride: number;
}

/**
 * How a classifier reads a sequence, as it was validated when fine-tuned: its first `maxLength`
 * residues, or (with `window`) the mean of the logits of windows covering the whole sequence.
 * Commands that score a model (evaluate, predict, the study) default to it, so a model is read in the
 * regime its checkpoint was chosen in.
 */
export interface ModelReading {
  /** Residues kept per record when there is no window. */
  readonly maxLength: number;
  readonly window: EvalWindow | null;
}

/**
 * The model's reading from its checkpoint metadata: `inference` ({max_len, window: {size, stride} |
 * null}, written by fine-tuning), else the recipe's validation window (provenance.recipe.eval_window,
 * from runs before `inference` was stored) with the run's max length; null when neither is there.
 */
export function modelReading(meta: Readonly<Record<string, unknown>>): ModelReading | null {
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1022;
  const windowOf = (v: unknown): EvalWindow | null | undefined => {
    if (v === null) return null;
    const w = v as { size?: unknown; stride?: unknown } | undefined;
    return w && isInt(w.size) && isInt(w.stride) ? { size: w.size, stride: w.stride } : undefined;
  };
  const inf = meta.inference as { max_len?: unknown; window?: unknown } | undefined;
  if (inf && isInt(inf.max_len)) {
    const window = windowOf(inf.window ?? null);
    if (window !== undefined) return { maxLength: inf.max_len, window };
  }
  const prov = meta.provenance as { recipe?: { eval_window?: unknown }; command_line?: unknown } | undefined;
  const window = windowOf(prov?.recipe?.eval_window);
  if (!window) return null;
  const line = Array.isArray(prov?.command_line) ? (prov.command_line as unknown[]) : [];
  const i = line.indexOf('--max-len');
  const maxLength = i >= 0 ? Number(line[i + 1]) : window.size;
  return { maxLength: isInt(maxLength) ? maxLength : window.size, window };
}

/** One line naming a reading, for logs and reports. */
export function describeReading(r: ModelReading): string {
  return r.window ? `the mean of ${r.window.size}-residue windows at stride ${r.window.stride}` : `the first ${r.maxLength} residues`;
}

/**
 * Residue offsets of the windows covering a sequence of `length` residues: 0, S, 2S, ... while a
 * window ends before the sequence does, then length - W (flush with the end, after every other start).
 * A sequence of at most W residues has one window at 0.
 */
export function windowStarts(length: number, w: EvalWindow): number[] {
  if (!(Number.isInteger(w.size) && w.size >= 1 && Number.isInteger(w.stride) && w.stride >= 1)) {
    throw new Error(`eval window size ${w.size} and stride ${w.stride} must be positive integers`);
  }
  if (length <= w.size) return [0];
  const starts: number[] = [];
  for (let s = 0; s + w.size < length; s += w.stride) starts.push(s);
  starts.push(length - w.size);
  return starts;
}

/**
 * Records the classifier's logits (B, C) for an encoded batch. `drop` applies dropout to the final
 * hidden states before pooling, in training only, so evaluation never sees it; `hook` edits neurons
 * (kn/ablate.ts).
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
 * Records are cropped to their first maxLength residues; batching.window does not apply here.
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

/**
 * Logits [N, C] of the records, row n for records[n], optionally with a neuron hook. With
 * batching.window, row n is the mean (in float64) of the logits of records[n]'s windows, each window
 * scored as a record of its own in the same length-sorted batches. `onProgress` hears (records done,
 * records) after each batch (windows count as their record's share).
 */
export async function classifierLogits(
  model: EsmModel,
  head: ClassifierHead,
  records: readonly BatchRecord[],
  batching: EvalBatching,
  hook?: NeuronHook,
  onProgress?: (done: number, total: number) => void,
): Promise<Float32Array> {
  const C = head.numClasses;
  const w = batching.window;
  const pieces: BatchRecord[] = [];
  const owner: number[] = [];
  if (w) {
    records.forEach((r, n) => {
      for (const s of windowStarts(r.sequence.length, w)) {
        pieces.push({ id: `${r.id}@${s}`, sequence: r.sequence.slice(s, s + w.size), label: r.label });
        owner.push(n);
      }
    });
  }
  const sub: EvalBatching = w ? { batchSize: batching.batchSize, tokenBudget: batching.tokenBudget, maxLength: w.size } : batching;
  const sums = new Float64Array(records.length * C); // (N, C)
  const counts = new Float64Array(records.length);
  const total = w ? pieces.length : records.length;
  let done = 0;
  await eachEvalBatch(w ? pieces : records, sub, (tb) => classifierForward(model, head, tb, undefined, hook), (values, _tb, indices) => {
    indices.forEach((i, b) => {
      const n = w ? owner[i]! : i;
      counts[n]!++;
      for (let c = 0; c < C; c++) sums[n * C + c]! += values[b * C + c]!;
    });
    done += indices.length;
    onProgress?.(Math.round((done / total) * records.length), records.length);
  });
  return Float32Array.from(sums, (v, k) => v / counts[Math.floor(k / C)]!);
}

/** Class probabilities (N, C) of the records (softmax of classifierLogits, in float64). */
export async function classifierProbabilities(
  clf: Pick<Classifier, 'model' | 'head'>,
  records: readonly BatchRecord[],
  batching: EvalBatching,
  onProgress?: (done: number, total: number) => void,
): Promise<Float64Array> {
  return softmaxRows(await classifierLogits(clf.model, clf.head, records, batching, undefined, onProgress), clf.head.numClasses);
}

/** Class probabilities (R, C) from logits, in float64. */
export function softmaxRows(logits: Float32Array, C: number): Float64Array {
  const p = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / C; r++) {
    const row = logits.subarray(r * C, (r + 1) * C);
    const m = Math.max(...row);
    let z = 0;
    for (let c = 0; c < C; c++) z += Math.exp(row[c]! - m);
    for (let c = 0; c < C; c++) p[r * C + c] = Math.exp(row[c]! - m) / z;
  }
  return p;
}
