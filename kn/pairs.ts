/**
 * The query/key tie, handled. Attention logits are bilinear in q and k, so scaling every query of a
 * layer by alpha gives the same logits as scaling every key: with a zero baseline and joint scaling of
 * all positions, the integrated gradients of query unit d and key unit d are equal per rotary pair
 * (d, d + Dh/2) of a head (ESM-2's rotary embedding mixes exactly those two units), and zero-ablating a
 * set of query units equals zero-ablating the same key units per whole pair. How the attribution splits
 * inside a pair is not a property of the function: rotating q and k by one angle within a pair leaves
 * the model unchanged and moves the split. So the study scores, ranks and counts query and key neurons
 * per rotary pair: both units of a pair get the pair's mean score (the module's total is unchanged), and
 * a top-k selection takes pairs whole (ties go to the lower index, and a pair's two units tie).
 * Single-position scaling (positions 'cls') breaks the tie legitimately; there per-unit scores stand.
 *
 * Axis letters: E examples, N neurons, H heads, Dh head dim.
 */
import type { NeuronModule } from '../model/esm.js';
import { type NeuronLayout, neuronOffset } from './layout.js';
import type { NeuronScores } from './scores.js';

/** The modules whose units are tied per rotary pair. */
export const PAIRED_MODULES: readonly NeuronModule[] = ['query', 'key'];

/** How query and key neurons are scored: per rotary pair (default) or per unit. */
export type QkUnits = 'pair' | 'unit';

/** Every choice, for option parsing. */
export const QK_UNITS: readonly QkUnits[] = ['pair', 'unit'];

/** The partner of unit w in its head's rotary pair: w +- Dh/2. */
export function rotaryPartner(w: number, headDim: number): number {
  const half = headDim / 2;
  return w % headDim < half ? w + half : w - half;
}

/**
 * The units one query or key neuron stands for: its rotary pair (d, d + Dh/2), first unit first (d mod
 * Dh < Dh/2), for either unit of the pair; [index] for the other modules. Neuron cards read, zero and
 * name query and key neurons by these pairs.
 */
export function neuronUnits(module: NeuronModule, index: number, headDim: number): number[] {
  if (!PAIRED_MODULES.includes(module)) return [index];
  if (headDim % 2) throw new Error(`rotary pairs need an even head dim, got ${headDim}`);
  const v = rotaryPartner(index, headDim);
  return index < v ? [index, v] : [v, index];
}

/** Replaces each query/key unit's value in a flat row (N) by its rotary pair's mean, in place. */
export function pairRowInPlace(row: Float32Array | Float64Array, layout: NeuronLayout, headDim: number): void {
  if (headDim % 2) throw new Error(`rotary pairs need an even head dim, got ${headDim}`);
  for (const module of PAIRED_MODULES) {
    const W = layout.widths[module];
    for (let layer = 0; layer < layout.numLayers; layer++) {
      const o = neuronOffset(layout, module, layer);
      for (let w = 0; w < W; w++) {
        const v = rotaryPartner(w, headDim);
        if (v < w) continue;
        const mean = (row[o + w]! + row[o + v]!) / 2;
        row[o + w] = mean;
        row[o + v] = mean;
      }
    }
  }
}

/** Scores with every example's query/key units replaced by their rotary pair's mean. */
export function pairScores(s: NeuronScores, headDim: number): NeuronScores {
  const N = s.layout.total;
  const values = new Float32Array(s.values);
  for (let e = 0; e < s.examples.length; e++) pairRowInPlace(values.subarray(e * N, (e + 1) * N), s.layout, headDim);
  return { ...s, values, meta: { ...s.meta, qk_units: 'pair' } };
}
