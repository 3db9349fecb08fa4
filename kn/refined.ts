/**
 * Per-example normalisation and Dai et al.'s refined knowledge neurons, on per-example scores. Pure code.
 *
 * Raw IG scores averaged over examples are dominated by the few examples with a large
 * f(x) - f(baseline). Dividing each example's row by its largest |score| first gives every example one
 * vote. Dai et al. (2022) go further: per example (prompt) keep the neurons whose attribution is at
 * least t x that example's maximum (t = 0.2; EleutherAI's code uses 0.3), then keep the neurons that
 * pass in at least a share p of a fact's prompts (here: of a class's examples). As a ranking for
 * ablations, a neuron's refined score is the largest such share over the classes (ties broken by its
 * normalised mean score, scaled far below one example's share).
 *
 * Axis letters: E examples, C classes, N neurons.
 */
import { type NeuronScores, examplesByClass, overallScores } from './scores.js';

/** Scores with every example's row divided by its largest absolute value (rows of zeros stay). */
export function normaliseExamples(s: NeuronScores): NeuronScores {
  const N = s.layout.total;
  const values = new Float32Array(s.values);
  for (let e = 0; e < s.examples.length; e++) {
    const row = values.subarray(e * N, (e + 1) * N);
    let max = 0;
    for (let n = 0; n < N; n++) max = Math.max(max, Math.abs(row[n]!));
    if (max > 0) for (let n = 0; n < N; n++) row[n]! /= max;
  }
  return { ...s, values, meta: { ...s.meta, normalised: 'per-example max |score|' } };
}

/** Thresholds of the refined definition. */
export interface RefinedOptions {
  /** Coarse threshold: a neuron passes in an example when its score >= t x the example's maximum. */
  readonly t: number;
  /** Share of a class's examples a neuron must pass in to be a refined knowledge neuron of it. */
  readonly p: number;
}

/** Dai et al.'s defaults. */
export const DAI_REFINED: RefinedOptions = { t: 0.2, p: 0.5 };

/** The refined knowledge neurons and the score that ranks by them. */
export interface RefinedNeurons {
  /** (C, N) share of each class's examples in which each neuron passes the coarse threshold. */
  readonly shares: Float64Array[];
  /** Per class, the flat indices of its refined neurons (share >= p), by share then index. */
  readonly perClass: number[][];
  /** (N) max share over classes, plus a tie-breaker below 1 / (2 E): a score for top-k rankings. */
  readonly ranking: Float64Array;
  readonly options: RefinedOptions;
}

/** Dai et al.'s refined knowledge neurons from per-example scores. */
export function refinedNeurons(s: NeuronScores, o: RefinedOptions = DAI_REFINED): RefinedNeurons {
  if (!(o.t > 0 && o.t <= 1) || !(o.p > 0 && o.p <= 1)) throw new Error(`refined neurons: t and p must lie in (0, 1], got t=${o.t}, p=${o.p}`);
  const N = s.layout.total;
  const byClass = examplesByClass(s);
  const shares = byClass.map((idx) => {
    const share = new Float64Array(N);
    for (const e of idx) {
      const row = s.values.subarray(e * N, (e + 1) * N);
      let max = -Infinity;
      for (let n = 0; n < N; n++) max = Math.max(max, row[n]!);
      // An example whose largest attribution is not positive supports no neuron.
      if (!(max > 0)) continue;
      for (let n = 0; n < N; n++) if (row[n]! >= o.t * max) share[n]! += 1 / idx.length;
    }
    return share;
  });
  const perClass = shares.map((share) => {
    const out: number[] = [];
    for (let n = 0; n < N; n++) if (share[n]! >= o.p - 1e-12) out.push(n);
    return out.sort((a, b) => share[b]! - share[a]! || a - b);
  });
  const tie = overallScores(normaliseExamples(s));
  let tieMax = 0;
  for (let n = 0; n < N; n++) tieMax = Math.max(tieMax, Math.abs(tie[n]!));
  const eps = 1 / (4 * Math.max(1, s.examples.length));
  const ranking = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (const share of shares) best = Math.max(best, share[n]!);
    ranking[n] = best + (tieMax > 0 ? (eps * tie[n]!) / tieMax : 0);
  }
  return { shares, perClass, ranking, options: o };
}
