/**
 * The study's statistical tests of ablations. Pure code.
 *
 * One test asks: does keeping a method's top neurons of one module type (and ablating the rest)
 * preserve the classifier better than keeping as many random neurons, drawn layer-matched?
 *   effect     = metric(method) - mean over S random selections of metric(random)
 *   p_value    = (1 + #{random >= method}) / (1 + S)           (empirical, one-sided; Phipson & Smyth 2010)
 *   ci         = percentile interval of the effect over test records resampled with replacement
 *                (paired: the method and every random selection are scored on the same resample)
 *   p_adjusted = Holm's step-down adjustment within a family: one module type, one method, one metric,
 *                over every (ranking, fraction) cell tested.
 *   significant = p_adjusted < ALPHA and the interval excludes 0 (ci_low > 0). The empirical p is
 *                conditional on the test records: on a small sample, a method that gets one more record
 *                right than random selections that all collapse to one class reaches p = 1/(S + 1);
 *                the interval over resampled records is what says the edge would survive another sample.
 * Accuracy is the default verdict metric: macro-F1 rewards any selection that keeps several classes
 * predicted over random selections that collapse the classifier to one class, even at chance accuracy
 * (seen on the planted model's shuffled-label null).
 * With S random selections the smallest p-value is 1 / (S + 1), and after Holm over k cells the smallest
 * adjusted one is k / (S + 1): attainableAlpha() says whether a run could call anything significant.
 *
 * Axis letters: R test records, C classes, S random selections.
 */
import type { NeuronModule } from '../model/esm.js';
import { ablationTestSeed } from './seeds.js';
import type { Ranking } from './select.js';
import { bootstrapCi, empiricalPValue, holm } from './stats.js';

/** The metrics an ablation is scored by. */
export type TestMetric = 'accuracy' | 'macro_f1';

/** Every metric, in report order. */
export const TEST_METRICS: readonly TestMetric[] = ['accuracy', 'macro_f1'];

/** The significance level of every verdict. */
export const ALPHA = 0.05;

/** Below this many test records a report is marked a smoke test: too few to carry its verdicts. */
export const SMOKE_TEST_RECORDS = 300;

/**
 * Accuracy or macro-F1 of predictions (R) against truth (R) over the records `idx` (all when absent;
 * repeats count as often as they occur). Macro-F1 follows data/metrics.ts: the mean F1 over the classes
 * present in the truth or the predictions of these records, F1 = 2 tp / (2 tp + fp + fn).
 */
export function metricOf(metric: TestMetric, truth: Int32Array, pred: Int32Array, C: number, idx?: Int32Array): number {
  const n = idx ? idx.length : truth.length;
  if (metric === 'accuracy') {
    let hit = 0;
    for (let k = 0; k < n; k++) {
      const r = idx ? idx[k]! : k;
      if (truth[r] === pred[r]) hit++;
    }
    return n ? hit / n : Number.NaN;
  }
  const tp = new Int32Array(C);
  const fp = new Int32Array(C);
  const fn = new Int32Array(C);
  for (let k = 0; k < n; k++) {
    const r = idx ? idx[k]! : k;
    const t = truth[r]!;
    const p = pred[r]!;
    if (t === p) tp[t]!++;
    else {
      fp[p]!++;
      fn[t]!++;
    }
  }
  let sum = 0;
  let present = 0;
  for (let c = 0; c < C; c++) {
    if (tp[c]! + fp[c]! + fn[c]! === 0) continue;
    present++;
    sum += (2 * tp[c]!) / (2 * tp[c]! + fp[c]! + fn[c]!);
  }
  return present ? sum / present : Number.NaN;
}

/** One cell of the ablation grid: a method's predictions and those of its random controls. */
export interface TestCell {
  readonly module: NeuronModule;
  readonly method: string;
  readonly ranking: Ranking;
  readonly fraction: number;
  /** (R) predicted classes with the method's selection kept. */
  readonly predictions: Int32Array;
  /** (S, R) predicted classes with each layer-matched random selection kept. */
  readonly random: readonly Int32Array[];
}

/** The outcome of one test (results.json `tests`). */
export interface AblationTest {
  readonly module: NeuronModule;
  readonly method: string;
  readonly ranking: Ranking;
  readonly fraction: number;
  readonly metric: TestMetric;
  /** The method's metric, and the mean and values of its random controls. */
  readonly value: number;
  readonly random_mean: number;
  readonly random_values: number[];
  /** value - random_mean, with its paired bootstrap interval over test records. */
  readonly effect: number;
  readonly ci_low: number;
  readonly ci_high: number;
  readonly p_value: number;
  readonly p_adjusted: number;
  readonly significant: boolean;
}

/** Settings of the tests. */
export interface TestOptions {
  readonly numClasses: number;
  /** Bootstrap resamples of the test records. */
  readonly resamples: number;
  /** The study's seed; each test's bootstrap draws from its own stream of it (kn/seeds.ts). */
  readonly seed: number;
  readonly level?: number;
}

/**
 * Tests every cell on every metric and adjusts within (module, method, metric) families.
 * `truth` holds the test records' classes (R).
 */
export function ablationTests(cells: readonly TestCell[], truth: Int32Array, o: TestOptions): AblationTest[] {
  const C = o.numClasses;
  const raw = cells.flatMap((cell, cellIndex) => TEST_METRICS.map((metric, mi) => {
    const score = (pred: Int32Array, idx?: Int32Array) => metricOf(metric, truth, pred, C, idx);
    const value = score(cell.predictions);
    const randomValues = cell.random.map((p) => score(p));
    const randomMean = randomValues.reduce((a, b) => a + b, 0) / Math.max(1, randomValues.length);
    const ci = bootstrapCi(truth.length, (idx) => {
      let m = 0;
      for (const p of cell.random) m += score(p, idx);
      return score(cell.predictions, idx) - m / Math.max(1, cell.random.length);
    }, { resamples: o.resamples, seed: ablationTestSeed(o.seed, cellIndex, mi), level: o.level ?? 0.95 });
    return {
      module: cell.module, method: cell.method, ranking: cell.ranking, fraction: cell.fraction, metric,
      value, random_mean: randomMean, random_values: randomValues, effect: value - randomMean,
      ci_low: ci.low, ci_high: ci.high, p_value: empiricalPValue(value, randomValues, 'greater'),
    };
  }));
  const adjusted = new Array<number>(raw.length);
  const families = new Map<string, number[]>();
  raw.forEach((t, i) => {
    const key = `${t.module}\u0000${t.method}\u0000${t.metric}`;
    const list = families.get(key) ?? [];
    list.push(i);
    families.set(key, list);
  });
  for (const idx of families.values()) {
    const adj = holm(idx.map((i) => raw[i]!.p_value));
    idx.forEach((i, k) => (adjusted[i] = adj[k]!));
  }
  return raw.map((t, i) => ({ ...t, p_adjusted: adjusted[i]!, significant: adjusted[i]! < ALPHA && t.ci_low > 0 }));
}

/**
 * The smallest Holm-adjusted p-value a family of `cells` tests can reach with `seeds` random
 * selections: cells / (seeds + 1). A run where this is >= ALPHA cannot call anything significant.
 */
export function attainableAlpha(cells: number, seeds: number): number {
  return Math.min(1, cells / (seeds + 1));
}

/** A verdict row: does a method beat random at one fraction? (results.json verdicts.beats_random) */
export interface BeatsRandom {
  readonly module: NeuronModule;
  readonly method: string;
  readonly ranking: Ranking;
  readonly fraction: number;
  readonly metric: TestMetric;
  readonly effect: number;
  readonly ci_low: number;
  readonly ci_high: number;
  readonly significant: boolean;
  readonly p_adjusted: number;
  /** One sentence that follows from the test. */
  readonly statement: string;
}

const pct = (x: number): string => `${+(100 * x).toFixed(2)}%`;
const fmtP = (p: number): string => (p < 0.001 ? p.toExponential(1) : p.toFixed(3));

/** The verdicts on `metric` (the study's primary one), one per tested cell. */
export function beatsRandom(tests: readonly AblationTest[], metric: TestMetric, seeds: number): BeatsRandom[] {
  return tests.filter((t) => t.metric === metric).map((t) => {
    const where = `keeping the top ${pct(t.fraction)} of ${t.module} neurons by ${t.method} (${t.ranking} ranking)`;
    const effect = `${metric} ${t.effect >= 0 ? '+' : ''}${t.effect.toFixed(3)} vs the mean of ${seeds} layer-matched random selections ` +
      `(95% CI ${t.ci_low.toFixed(3)} to ${t.ci_high.toFixed(3)}; Holm-adjusted p = ${fmtP(t.p_adjusted)}; significant when p < ${ALPHA} and the interval excludes 0)`;
    const statement = t.significant
      ? `Beats random: ${where} preserves ${metric} better than random: ${effect}.`
      : `Not shown to beat random: ${where}: ${effect}.`;
    return {
      module: t.module, method: t.method, ranking: t.ranking, fraction: t.fraction, metric, effect: t.effect,
      ci_low: t.ci_low, ci_high: t.ci_high, significant: t.significant, p_adjusted: t.p_adjusted, statement,
    };
  });
}
