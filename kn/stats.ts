/**
 * The statistics of the study and the neuron cards: empirical p-values against random draws, Holm and
 * Benjamini-Hochberg adjustment, percentile bootstrap intervals over resampled records, Fisher's exact
 * test on 2x2 tables, Pearson and Spearman correlation, Jaccard overlap and numpy-style quantiles.
 *
 * Pure and self-contained (no imports, no Node built-ins), so the page and the CLI share it. Every
 * function is deterministic; randomness comes only from the engine's seeded `rng(seed)` (mulberry32). Inputs that cannot carry a
 * defined answer (NaN p-values, unequal lengths) are errors naming the problem; degenerate but valid
 * inputs (zero variance, empty tables) give the value stated in each function's doc comment.
 */
import { rng } from '../engine/index.js';

/** Direction of a one-sided test: 'greater' means large observed values are evidence. */
export type Alternative = 'greater' | 'less';

/** Arithmetic mean, sum(x) / n; NaN for an empty input. */
export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}

/**
 * Standard deviation sqrt(sum((x - mean)^2) / (n - ddof)); ddof 1 (the default) is the sample standard
 * deviation (numpy's `std(ddof=1)`, R's `sd`). NaN when n <= ddof.
 */
export function sd(xs: ArrayLike<number>, ddof = 1): number {
  const n = xs.length;
  if (n <= ddof) return Number.NaN;
  const m = mean(xs);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i]! - m) ** 2;
  return Math.sqrt(ss / (n - ddof));
}

/**
 * The q-quantile of ascending `sorted` by linear interpolation between order statistics, numpy's default
 * ('linear', R type 7): at position h = q (n - 1), x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
 * NaN for an empty input; q outside [0, 1] or an unsorted input is an error.
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q = ${q}, expected a number in [0, 1]`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  for (let i = 1; i < n; i++) {
    if (!(sorted[i]! >= sorted[i - 1]!)) throw new Error(`quantile: input not sorted ascending at index ${i} (${sorted[i - 1]}, ${sorted[i]})`);
  }
  const h = q * (n - 1);
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Two-sided percentile interval [quantile((1 - level) / 2), quantile((1 + level) / 2)] of bootstrap
 * draws in any order (numpy-linear quantiles of a sorted copy). NaN draws are left out, as bootstrapCi
 * leaves them out; [NaN, NaN] when no draw is left.
 */
export function percentileInterval(draws: readonly number[], level = 0.95): [number, number] {
  const xs = draws.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (!xs.length) return [Number.NaN, Number.NaN];
  return [quantile(xs, (1 - level) / 2), quantile(xs, (1 + level) / 2)];
}

/**
 * Empirical (Monte Carlo) p-value of `observed` against draws from the null, with the +1 correction
 * (Davison and Hinkley 1997; North et al. 2002) that counts the observation as one of the draws:
 * 'greater': (1 + #{null >= observed}) / (1 + n); 'less': (1 + #{null <= observed}) / (1 + n).
 * Never 0; its smallest value is 1 / (1 + n), and with no draws it is 1. Ties count against the observation.
 */
export function empiricalPValue(observed: number, nullDraws: ArrayLike<number>, alternative: Alternative = 'greater'): number {
  if (Number.isNaN(observed)) throw new Error('empiricalPValue: observed value is NaN');
  let hits = 0;
  for (let i = 0; i < nullDraws.length; i++) {
    const x = nullDraws[i]!;
    if (Number.isNaN(x)) throw new Error(`empiricalPValue: null draw ${i} is NaN`);
    if (alternative === 'greater' ? x >= observed : x <= observed) hits++;
  }
  return (1 + hits) / (1 + nullDraws.length);
}

function checkPValues(pValues: ArrayLike<number>, what: string): void {
  for (let i = 0; i < pValues.length; i++) {
    const p = pValues[i]!;
    if (!(p >= 0 && p <= 1)) throw new Error(`${what}: p-value ${i} is ${p}, expected a number in [0, 1]`);
  }
}

/** Indices 0..m-1 ordered by ascending p-value (stable, so ties keep input order). */
function ascendingOrder(pValues: ArrayLike<number>): number[] {
  return Array.from({ length: pValues.length }, (_, i) => i).sort((i, j) => pValues[i]! - pValues[j]! || i - j);
}

/**
 * Holm-Bonferroni step-down adjusted p-values (Holm 1979), in input order. With p(1) <= ... <= p(m)
 * sorted ascending, adjusted p(i) = max over j <= i of min(1, (m - j + 1) p(j)): monotone in p, capped at
 * 1, the same as R's `p.adjust(p, 'holm')`. Rejecting where adjusted p <= alpha controls the family-wise
 * error rate at alpha under any dependence.
 */
export function holm(pValues: ArrayLike<number>): number[] {
  checkPValues(pValues, 'holm');
  const m = pValues.length;
  const out = new Array<number>(m);
  let running = 0;
  ascendingOrder(pValues).forEach((idx, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[idx]!));
    out[idx] = running;
  });
  return out;
}

/**
 * Benjamini-Hochberg q-values (step-up false discovery rate adjustment, Benjamini and Hochberg 1995), in
 * input order. With p(1) <= ... <= p(m), q(i) = min over j >= i of min(1, m p(j) / j): monotone in p,
 * capped at 1, the same as R's `p.adjust(p, 'BH')`. Rejecting where q <= alpha controls the FDR at alpha
 * for independent or positively dependent tests.
 */
export function benjaminiHochberg(pValues: ArrayLike<number>): number[] {
  checkPValues(pValues, 'benjaminiHochberg');
  const m = pValues.length;
  const order = ascendingOrder(pValues);
  const out = new Array<number>(m);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const idx = order[rank]!;
    running = Math.min(running, (m * pValues[idx]!) / (rank + 1));
    out[idx] = running;
  }
  return out;
}

/** Options of the bootstrap. */
export interface BootstrapOptions {
  /** Number of resamples (default 2000). */
  readonly resamples?: number;
  /** Seed of the rng stream that draws every resample (default 0). */
  readonly seed?: number;
  /** Coverage of the two-sided interval (default 0.95). */
  readonly level?: number;
}

/** A percentile bootstrap interval. */
export interface BootstrapInterval {
  /** The statistic on the original records (indices 0..n-1 in order). */
  readonly estimate: number;
  /** quantile((1 - level) / 2) of the resampled statistics. */
  readonly low: number;
  /** quantile((1 + level) / 2) of the resampled statistics. */
  readonly high: number;
  readonly level: number;
  /** Resamples drawn. */
  readonly resamples: number;
  /** Resamples whose statistic was NaN, left out of the quantiles (e.g. a class absent from a resample). */
  readonly dropped: number;
  readonly seed: number;
}

/**
 * Percentile bootstrap interval (Efron and Tibshirani 1993, ch. 13) of any statistic of n records.
 * Each resample draws n record indices uniformly with replacement, index = floor(u n) with u from one
 * rng(seed) stream (resample b uses draws b n .. (b + 1) n - 1, so the result is a function of the
 * seed alone), and evaluates `statistic(indices)`: the statistic sees the resampled index list, so
 * paired comparisons (method minus the mean of random seeds on the same records) and statistics that are
 * not per-record means (macro-F1) are computed on the same resample. The interval is numpy-linear
 * quantiles (1 - level) / 2 and (1 + level) / 2 of the finite-or-infinite (non-NaN) resampled values;
 * NaN values are dropped and counted. `estimate` is the statistic on indices 0..n-1.
 */
export function bootstrapCi(n: number, statistic: (indices: Int32Array) => number, options: BootstrapOptions = {}): BootstrapInterval {
  const { resamples = 2000, seed = 0, level = 0.95 } = options;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`bootstrapCi: n = ${n}, expected a positive integer number of records`);
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new Error(`bootstrapCi: resamples = ${resamples}, expected a positive integer`);
  if (!(level > 0 && level < 1)) throw new Error(`bootstrapCi: level = ${level}, expected a number in (0, 1)`);
  const rand = rng(seed);
  const values: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const idx = new Int32Array(n); // fresh per resample: the callback may keep it
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rand() * n);
    const v = statistic(idx);
    if (!Number.isNaN(v)) values.push(v);
  }
  values.sort((x, y) => x - y);
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  return {
    estimate: statistic(identity),
    low: quantile(values, (1 - level) / 2),
    high: quantile(values, (1 + level) / 2),
    level,
    resamples,
    dropped: resamples - values.length,
    seed,
  };
}

/**
 * Paired bootstrap interval of the mean per-record difference, mean over records of (a[i] - b[i]), where
 * a and b are two scores of the same records (e.g. correct-or-not of the method and of a random control).
 * `bootstrapCi` with the statistic mean of a[idx] - b[idx].
 */
export function pairedBootstrap(a: ArrayLike<number>, b: ArrayLike<number>, options: BootstrapOptions = {}): BootstrapInterval {
  if (a.length !== b.length) throw new Error(`pairedBootstrap: ${a.length} values in a but ${b.length} in b, expected pairs`);
  const diff = Float64Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!);
  return bootstrapCi(a.length, (idx) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += diff[idx[i]!]!;
    return s / idx.length;
  }, options);
}

/** Fisher's exact test on a 2x2 table. */
export interface FisherResult {
  /**
   * Sample odds ratio ad / (bc), as scipy's `fisher_exact` (R reports the conditional MLE instead):
   * Infinity when bc = 0 < ad, 0 when ad = 0 < bc, NaN when ad = bc = 0.
   */
  readonly oddsRatio: number;
  /** Sum of P(table) over tables at most as probable as the observed one (relative tolerance 1e-7). */
  readonly pValueTwoSided: number;
  /** P(X >= a): evidence that the odds ratio exceeds 1 (enrichment). */
  readonly pValueGreater: number;
  /** P(X <= a): evidence that the odds ratio is below 1 (depletion). */
  readonly pValueLess: number;
}

/** ln k! for k = 0..n as cumulative sums of ln k: exact to rounding, no gamma approximation needed. */
function logFactorials(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let k = 2; k <= n; k++) out[k] = out[k - 1]! + Math.log(k);
  return out;
}

/**
 * Fisher's exact test of independence on the table [[a, b], [c, d]] (rows: e.g. in the neuron's top
 * windows or not; columns: in the EC class or not). Conditioning on the margins, X = the top-left cell is
 * hypergeometric: P(X = x) = C(a + b, x) C(c + d, a + c - x) / C(n, a + c) over max(0, a + c - c - d) <=
 * x <= min(a + b, a + c). The probabilities are computed from log-factorials (cumulative sums of ln k)
 * relative to the most probable table and normalised by their sum, so tables with counts in the thousands
 * neither overflow nor lose the small tail. Two-sided: sum of P(x) over x with P(x) <= P(a) (1 + 1e-7),
 * the relative tolerance of R's `fisher.test` and scipy, so tables tied in probability count despite
 * rounding. Each p-value is capped at 1. Counts must be non-negative integers.
 */
export function fisherExact(a: number, b: number, c: number, d: number): FisherResult {
  for (const [name, v] of [['a', a], ['b', b], ['c', c], ['d', d]] as const) {
    if (!(Number.isInteger(v) && v >= 0)) throw new Error(`fisherExact: ${name} = ${v}, expected a non-negative integer count`);
  }
  const ad = a * d;
  const bc = b * c;
  const oddsRatio = bc === 0 ? (ad === 0 ? Number.NaN : Number.POSITIVE_INFINITY) : ad / bc;
  const row1 = a + b;
  const row2 = c + d;
  const col1 = a + c;
  const n = row1 + row2;
  const lf = logFactorials(n);
  const lo = Math.max(0, col1 - row2);
  const hi = Math.min(row1, col1);
  // ln P(x) up to the constant ln C(n, col1), which the normalisation below removes.
  const logP = new Float64Array(hi - lo + 1);
  let maxLog = Number.NEGATIVE_INFINITY;
  for (let x = lo; x <= hi; x++) {
    const v = -(lf[x]! + lf[row1 - x]! + lf[col1 - x]! + lf[row2 - col1 + x]!);
    logP[x - lo] = v;
    if (v > maxLog) maxLog = v;
  }
  const prob = logP.map((v) => Math.exp(v - maxLog));
  let total = 0;
  for (const p of prob) total += p;
  const observed = prob[a - lo]!;
  let two = 0;
  let greater = 0;
  let less = 0;
  for (let x = lo; x <= hi; x++) {
    const p = prob[x - lo]!;
    if (p <= observed * (1 + 1e-7)) two += p;
    if (x >= a) greater += p;
    if (x <= a) less += p;
  }
  return {
    oddsRatio,
    pValueTwoSided: Math.min(1, two / total),
    pValueGreater: Math.min(1, greater / total),
    pValueLess: Math.min(1, less / total),
  };
}

function checkPaired(x: ArrayLike<number>, y: ArrayLike<number>, what: string): void {
  if (x.length !== y.length) throw new Error(`${what}: ${x.length} values in x but ${y.length} in y, expected pairs`);
}

/**
 * Pearson's product-moment correlation sum((x - mx)(y - my)) / sqrt(sum((x - mx)^2) sum((y - my)^2)),
 * clamped to [-1, 1] against rounding. NaN when n < 2 or either input has zero variance.
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPaired(x, y, 'pearson');
  const n = x.length;
  if (n < 2) return Number.NaN;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return Number.NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/**
 * Ranks 1..n of the values, ties given the average of the ranks they span (R's `rank`, scipy's
 * `rankdata` 'average'): [10, 20, 20, 30] -> [1, 2.5, 2.5, 4].
 */
export function averageRanks(xs: ArrayLike<number>): Float64Array {
  const n = xs.length;
  for (let i = 0; i < n; i++) if (Number.isNaN(xs[i]!)) throw new Error(`averageRanks: value ${i} is NaN`);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => xs[i]! - xs[j]!);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && xs[order[end]!]! === xs[order[start]!]!) end++;
    const r = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]!] = r;
    start = end;
  }
  return ranks;
}

/**
 * Spearman's rank correlation: Pearson's correlation of the average ranks (`averageRanks`), which is
 * the tie-correct definition (scipy's `spearmanr`, R's `cor(method = 'spearman')`). NaN when n < 2 or
 * either input is constant.
 */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPaired(x, y, 'spearman');
  return pearson(averageRanks(x), averageRanks(y));
}

/**
 * Jaccard index |A intersect B| / |A union B| of two sets (duplicates in an iterable count once). Two
 * empty sets are identical and give 1.
 */
export function jaccard<T>(setA: Iterable<T>, setB: Iterable<T>): number {
  const a = new Set(setA);
  const b = new Set(setB);
  if (a.size === 0 && b.size === 0) return 1;
  let both = 0;
  for (const v of a) if (b.has(v)) both++;
  return both / (a.size + b.size - both);
}
