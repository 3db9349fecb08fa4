/**
 * Neuron scores: one flat row per example (kn/layout.ts), from which the per-class and overall
 * scores are means. Keeping the examples' rows (not only class sums) is what lets the density analysis
 * bootstrap over examples. Pure code.
 *
 * Axis letters: E examples, C classes, N neurons of the whole model.
 */
import { rng } from '../engine/index.js';
import { NEURON_MODULES } from '../model/esm.js';
import type { NeuronLayout } from './layout.js';

/**
 * How a score was computed. activation: mean activation over a sequence's residue positions;
 * abs-activation: mean |activation|; ig: integrated gradients of the true class's probability.
 */
export type ScoreMethod = 'activation' | 'abs-activation' | 'ig';

/** Every score method, for option parsing. */
export const SCORE_METHODS: readonly ScoreMethod[] = ['activation', 'abs-activation', 'ig'];

/** One scored example. */
export interface ScoredExample {
  readonly id: string;
  /** Class index. */
  readonly label: number;
  /** Residues scored (after cropping to the maximum length). */
  readonly residues: number;
}

/** Scores of every neuron for every example. */
export interface NeuronScores {
  readonly method: ScoreMethod;
  readonly layout: NeuronLayout;
  readonly classNames: readonly string[];
  readonly examples: readonly ScoredExample[];
  /** (E, N) one row per example. */
  readonly values: Float32Array;
  /**
   * IG only: (E, P, 3) per example and (module, layer) pair P = modules x layers in NEURON_MODULES
   * order: sum of the attributions, f(x) and f(baseline); f = probability of the true class.
   */
  readonly completeness?: Float32Array;
  /** Provenance and settings: model, data, split, steps, rule, baseline, seeds. */
  readonly meta: Readonly<Record<string, unknown>>;
}

/** Example indices per class. */
export function examplesByClass(s: Pick<NeuronScores, 'examples' | 'classNames'>): number[][] {
  const out = s.classNames.map((): number[] => []);
  s.examples.forEach((e, i) => out[e.label]!.push(i));
  return out;
}

/** Mean of the rows `indices` of values (E, N); zeros when there are none. */
export function meanRows(values: Float32Array, N: number, indices: readonly number[]): Float64Array {
  const out = new Float64Array(N);
  for (const i of indices) {
    const row = values.subarray(i * N, (i + 1) * N);
    for (let n = 0; n < N; n++) out[n]! += row[n]!;
  }
  if (indices.length) for (let n = 0; n < N; n++) out[n]! /= indices.length;
  return out;
}

/** Per-class mean scores (C, N) as one array per class; classes without examples get zeros. */
export function classScores(s: NeuronScores, byClass: readonly (readonly number[])[] = examplesByClass(s)): Float64Array[] {
  return byClass.map((idx) => meanRows(s.values, s.layout.total, idx));
}

/**
 * Overall scores (N): the mean of the class means over the classes that have examples, so that a
 * frequent class does not outweigh the rest (with equal examples per class, the plain mean).
 */
export function overallScores(s: NeuronScores, byClass: readonly (readonly number[])[] = examplesByClass(s)): Float64Array {
  const N = s.layout.total;
  const out = new Float64Array(N);
  const present = byClass.filter((idx) => idx.length > 0);
  for (const idx of present) {
    const m = meanRows(s.values, N, idx);
    for (let n = 0; n < N; n++) out[n]! += m[n]! / present.length;
  }
  return out;
}

/** A bootstrap resample of the examples: within each class, as many draws with replacement. */
export function bootstrapClasses(byClass: readonly (readonly number[])[], seed: number): number[][] {
  const rand = rng(seed);
  return byClass.map((idx) => idx.map(() => idx[Math.floor(rand() * idx.length)]!));
}

/** Completeness of IG per example and (module, layer): the gap and its size relative to |f(x) - f(b)|. */
export interface CompletenessSummary {
  /** Mean over pairs and examples of |sum of attributions - (f(x) - f(baseline))|. */
  readonly meanAbsGap: number;
  readonly maxAbsGap: number;
  /** Mean |f(x) - f(baseline)|, for scale. */
  readonly meanAbsDelta: number;
  readonly pairs: number;
  /** The same means per module type (a sharp path, e.g. through a near-degenerate LayerNorm, shows here). */
  readonly byModule: Record<string, { readonly meanAbsGap: number; readonly meanAbsDelta: number }>;
}

/** Summarises the completeness rows of IG scores (null for other methods). */
export function summariseCompleteness(s: NeuronScores): CompletenessSummary | null {
  const c = s.completeness;
  if (!c) return null;
  let gap = 0;
  let worst = 0;
  let delta = 0;
  const pairs = c.length / 3;
  const n = s.layout.numLayers;
  const perModule = NEURON_MODULES.map(() => ({ gap: 0, delta: 0, count: 0 }));
  for (let i = 0; i < pairs; i++) {
    const d = c[i * 3 + 1]! - c[i * 3 + 2]!;
    const g = Math.abs(c[i * 3]! - d);
    gap += g;
    delta += Math.abs(d);
    worst = Math.max(worst, g);
    // Rows are (example, module, layer), module-major within an example.
    const m = perModule[Math.floor((i % (NEURON_MODULES.length * n)) / n)]!;
    m.gap += g;
    m.delta += Math.abs(d);
    m.count++;
  }
  const byModule = Object.fromEntries(NEURON_MODULES.map((name, k) => {
    const m = perModule[k]!;
    return [name, { meanAbsGap: m.count ? m.gap / m.count : 0, meanAbsDelta: m.count ? m.delta / m.count : 0 }];
  }));
  return { meanAbsGap: pairs ? gap / pairs : 0, maxAbsGap: worst, meanAbsDelta: pairs ? delta / pairs : 0, pairs, byModule };
}
