/**
 * Editing neurons during a forward pass and measuring the classifier: ablations (every neuron of a
 * module type outside a selection replaced by zero or by its mean activation) and Dai et al.'s
 * suppression (x0) and amplification (x2) of chosen neurons are all one broadcast multiply per layer
 * by a per-neuron factor vector (W), plus a broadcast add (W) for mean replacement.
 *
 * Axis letters: B batch, L tokens, W module width, C classes, N neurons.
 */
import { type Tensor, add, keep, mul, tensor } from '../engine/index.js';
import type { TaskRecord } from '../data/dataset.js';
import { argmaxRows, computeMetrics } from '../data/metrics.js';
import type { EsmModel, NeuronHook, NeuronModule } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import { type EvalBatching, classifierLogits } from '../model/classifier.js';
import { type NeuronLayout, neuronOffset } from './layout.js';
import type { Selection } from './select.js';

/** What replaces an ablated neuron. */
export type Replacement = 'zero' | 'mean';

/** Every replacement, for option parsing. */
export const REPLACEMENTS: readonly Replacement[] = ['zero', 'mean'];

/** A per-neuron edit of one module type in every layer: out * factors + offsets, (layers, W) each. */
export interface ModuleEdit {
  readonly module: NeuronModule;
  readonly factors: Float32Array;
  /** Added after the multiply (mean replacement); none when absent. */
  readonly offsets?: Float32Array;
}

/**
 * The edit that keeps a selection and replaces every other neuron of its module type by zero or by
 * its mean activation (`means`: overall activation scores (N) in layout order).
 */
export function ablationEdit(layout: NeuronLayout, s: Selection, replacement: Replacement, means?: ArrayLike<number>): ModuleEdit {
  const factors = Float32Array.from(s.keep);
  if (replacement === 'zero') return { module: s.module, factors };
  if (!means || means.length !== layout.total) throw new Error('mean replacement needs the mean activation of every neuron (activation scores)');
  const start = neuronOffset(layout, s.module, 0);
  const offsets = Float32Array.from(s.keep, (k, i) => (k ? 0 : means[start + i]!));
  return { module: s.module, factors, offsets };
}

/** Scales chosen neurons (flat indices within the module type's (layers, W)) by `factor`, others 1. */
export function scaleEdit(layout: NeuronLayout, module: NeuronModule, neurons: readonly number[], factor: number): ModuleEdit {
  const factors = new Float32Array(layout.numLayers * layout.widths[module]).fill(1);
  for (const i of neurons) factors[i] = factor;
  return { module, factors };
}

/** A forward hook applying edits; dispose() frees its per-layer vectors. */
export interface EditHook {
  readonly hook: NeuronHook;
  dispose(): void;
}

/** Uploads the edits' per-layer vectors (W) and returns the hook that applies them. */
export function editHook(layout: NeuronLayout, edits: readonly ModuleEdit[]): EditHook {
  const vectors = new Map<string, { factors: Tensor; offsets: Tensor | null }>();
  for (const e of edits) {
    const W = layout.widths[e.module];
    if (e.factors.length !== layout.numLayers * W) throw new Error(`edit of ${e.module}: ${e.factors.length} factors for ${layout.numLayers} layers of ${W}`);
    for (let l = 0; l < layout.numLayers; l++) {
      const part = (v: Float32Array) => keep(tensor(v.subarray(l * W, (l + 1) * W), [W], 'f32', `edit_${e.module}_${l}`));
      vectors.set(`${e.module}:${l}`, { factors: part(e.factors), offsets: e.offsets ? part(e.offsets) : null });
    }
  }
  return {
    hook: (layer, module, out) => {
      const v = vectors.get(`${module}:${layer}`);
      if (!v) return out;
      const scaled = mul(out, v.factors); // (B, L, W)
      return v.offsets ? add(scaled, v.offsets) : scaled;
    },
    dispose() {
      for (const v of vectors.values()) {
        v.factors.dispose();
        v.offsets?.dispose();
      }
    },
  };
}

/** Accuracy and macro-F1 of logits (R, C) against the records' labels. */
export function logitMetrics(logits: Float32Array, records: readonly TaskRecord[], classNames: readonly string[]): { accuracy: number; macro_f1: number } {
  const m = computeMetrics(records.map((r) => r.label), argmaxRows(logits, classNames.length), classNames);
  return { accuracy: m.accuracy, macro_f1: m.macro_f1 };
}

/** Metrics of the classifier with edits applied (none: the unedited model). */
export async function editedMetrics(model: EsmModel, head: ClassifierHead, layout: NeuronLayout, records: readonly TaskRecord[], classNames: readonly string[], batching: EvalBatching, edits: readonly ModuleEdit[]): Promise<{ accuracy: number; macro_f1: number; logits: Float32Array }> {
  const h = edits.length ? editHook(layout, edits) : null;
  try {
    const logits = await classifierLogits(model, head, records, batching, h?.hook);
    return { ...logitMetrics(logits, records, classNames), logits };
  } finally {
    h?.dispose();
  }
}
