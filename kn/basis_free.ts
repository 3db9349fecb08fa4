/**
 * Density checks that do not hang on a unit basis or an unidentifiable scale (issue #12, item 4):
 *
 * - Whole-module zeroing: the metric drop when every neuron of a module type is zeroed is a property
 *   of the function. Key minus each other module type, paired bootstrap over the test records, one-sided
 *   ("zeroing key hurts more"), Holm over the testable ones. Zeroing all queries equals zeroing all keys
 *   (both make every attention logit 0), so query is reported, not tested.
 * - Density by activation where the units compare: attention's output projection (attn_out) and the
 *   FFN's (ffn_out) both write into the residual stream, in its units and basis; rescaling the stream
 *   (embeddings and every writer by c) leaves the function unchanged and both alike. Their share of a
 *   joint top fraction by overall activation score, with a bootstrap over scored examples, is
 *   meaningful. Query, key and value are not: q -> c q with k -> k / c, or v -> c v with the output
 *   projection / c, leave the model exactly unchanged and move any activation comparison, so key's
 *   density by activation is untestable by construction and reported as such.
 *
 * Axis letters: R test records, E scored examples, N neurons. Pure code.
 */
import type { NeuronModule } from '../model/esm.js';
import { moduleSize } from './layout.js';
import { type NeuronScores, bootstrapClasses, examplesByClass, overallScores } from './scores.js';
import { keepCount, topIndices } from './select.js';
import { rng } from '../engine/index.js';
import { empiricalPValue, percentileInterval } from './stats.js';
import { type KeyTest, holmKeyTests } from './density.js';
import { basisFreeSeed } from './seeds.js';

/**
 * Key's zeroing drop minus another module type's, over the test records: difference is the accuracy
 * drop with key zeroed minus the drop with `other` zeroed; query is never testable (zeroing all queries
 * equals zeroing all keys).
 */
export type ZeroingContrast = KeyTest;

/** The classifier's predicted classes per test record with one module type zeroed. */
export interface ZeroedPredictions {
  readonly module: NeuronModule;
  /** Predicted class per test record (R). */
  readonly predictions: Int32Array;
}

/**
 * Key versus each other zeroed module type on accuracy: per record r, d_r = correct(other zeroed) -
 * correct(key zeroed); the difference is mean_r d_r, resampled over records (`resamples` times).
 */
export function zeroingContrasts(truth: Int32Array, zeroed: readonly ZeroedPredictions[], resamples: number, seed: number): ZeroingContrast[] {
  const R = truth.length;
  const correct = (p: Int32Array) => Float64Array.from(p, (c, r) => (c === truth[r] ? 1 : 0)); // (R)
  const key = zeroed.find((z) => z.module === 'key');
  if (!key) return [];
  const k = correct(key.predictions);
  const rows = zeroed.filter((z) => z.module !== 'key').map((z, zi) => {
    const o = correct(z.predictions);
    const d = Float64Array.from(o, (v, r) => v - k[r]!); // (R)
    const rand = rng(basisFreeSeed(seed, 'zeroing', zi));
    const diffs = Array.from({ length: R ? resamples : 0 }, () => {
      let s = 0;
      for (let i = 0; i < R; i++) s += d[Math.floor(rand() * R)]!;
      return s / R;
    });
    const [lo, hi] = percentileInterval(diffs);
    const p = empiricalPValue(0, diffs, 'less');
    return { other: z.module, difference: R ? d.reduce((a, v) => a + v, 0) / R : Number.NaN, ci_low: lo, ci_high: hi, p_value: p };
  });
  return holmKeyTests(rows, ['query']);
}

/** The share of one module type in the joint top set by activation. */
export interface ActivationShare {
  readonly module: NeuronModule;
  readonly count: number;
  /** count / the module type's neurons. */
  readonly share: number;
  readonly share_lo: number;
  readonly share_hi: number;
}

/** Density by activation among module types whose activations are in the same units. */
export interface ActivationDensity {
  readonly modules: readonly NeuronModule[];
  readonly top_fraction: number;
  /** Neurons in the joint top set (top_fraction of the group's neurons). */
  readonly top_count: number;
  readonly resamples: number;
  readonly shares: ActivationShare[];
  /** First module's share minus the second's, two-sided bootstrap p. */
  readonly difference: number;
  readonly ci_low: number;
  readonly ci_high: number;
  readonly p_value: number;
  /** Why key is not in the group. */
  readonly note: string;
}

/** The residual-stream writers: the module types whose activations share units and basis. */
export const ACTIVATION_COMPARABLE: readonly NeuronModule[] = ['attn_out', 'ffn_out'];

export const ACTIVATION_NOTE =
  'Query, key and value activations are not compared across module types: scaling q by c and k by 1/c, or v by c and the ' +
  'output projection by 1/c, leaves the model exactly unchanged and moves any such comparison, so key density by activation ' +
  'is untestable by construction. attn_out and ffn_out both write into the residual stream, in its units and basis.';

/**
 * Shares of `modules` in their joint top `topFraction` by overall activation score (|score|), with a
 * percentile bootstrap over scored examples (within classes) and the two-sided p of the first minus
 * the second share: 2 (1 + min(#{diff <= 0}, #{diff >= 0})) / (1 + resamples), capped at 1.
 */
export function activationDensity(act: NeuronScores, topFraction: number, resamples: number, seed: number, modules: readonly NeuronModule[] = ACTIVATION_COMPARABLE): ActivationDensity {
  const { layout } = act;
  const flat = modules.flatMap((m) => Array.from({ length: moduleSize(layout, m) }, (_, i) => layout.starts[m] + i)); // group neurons, layout order
  const owner = modules.flatMap((m, mi) => new Array<number>(moduleSize(layout, m)).fill(mi));
  const top = keepCount(flat.length, topFraction);
  const sharesOf = (overall: Float64Array): number[] => {
    const group = Float64Array.from(flat, (n) => Math.abs(overall[n]!));
    const c = new Array<number>(modules.length).fill(0);
    for (const i of topIndices(group, top)) c[owner[i]!]!++;
    return c.map((x, mi) => x / moduleSize(layout, modules[mi]!));
  };
  const byClass = examplesByClass(act);
  const point = sharesOf(overallScores(act, byClass));
  const boot = Array.from({ length: resamples }, (_, b) => sharesOf(overallScores(act, bootstrapClasses(byClass, basisFreeSeed(seed, 'activation', b)))));
  const shares = modules.map((module, mi) => {
    const [lo, hi] = percentileInterval(boot.map((s) => s[mi]!));
    return { module, count: Math.round(point[mi]! * moduleSize(layout, module)), share: point[mi]!, share_lo: lo, share_hi: hi };
  });
  const diffs = boot.map((s) => s[0]! - s[1]!);
  const [lo, hi] = percentileInterval(diffs);
  const p = Math.min(1, 2 * Math.min(empiricalPValue(0, diffs, 'less'), empiricalPValue(0, diffs, 'greater')));
  return { modules, top_fraction: topFraction, top_count: top, resamples, shares, difference: point[0]! - point[1]!, ci_low: lo, ci_high: hi, p_value: p, note: ACTIVATION_NOTE };
}
