/** The study's statistics on hand-checked cases; Fisher's exact test against R's fisher.test / scipy's fisher_exact. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  averageRanks,
  benjaminiHochberg,
  bootstrapCi,
  empiricalPValue,
  fisherExact,
  holm,
  jaccard,
  mean,
  pairedBootstrap,
  pearson,
  percentileInterval,
  quantile,
  sd,
  spearman,
} from '../kn/stats.js';

/** |a - b| <= tol (absolute), or within a relative tolerance when `relative` is set. */
const close = (a: number, b: number, what: string, tol = 1e-12, relative = false): void =>
  assert.ok(Math.abs(a - b) <= (relative ? tol * Math.abs(b) : tol), `${what}: ${a} vs ${b}`);
const closeAll = (a: readonly number[], b: readonly number[], what: string): void => {
  assert.is(a.length, b.length, `${what}: length`);
  a.forEach((v, i) => close(v, b[i]!, `${what}[${i}]`));
};

test('mean and sd: hand values, ddof, degenerate inputs', () => {
  close(mean([1, 2, 3, 4]), 2.5, 'mean');
  close(sd([1, 2, 3, 4]), Math.sqrt(5 / 3), 'sample sd (squares 2.25 + 0.25 + 0.25 + 2.25 = 5, over 3)');
  close(sd([1, 2, 3, 4], 0), Math.sqrt(5 / 4), 'population sd');
  assert.ok(Number.isNaN(mean([])));
  assert.ok(Number.isNaN(sd([3])));
});

test('quantile: numpy linear interpolation at h = q (n - 1)', () => {
  // h = 0.3 -> 1 + 0.3 (2 - 1); h = 0.75 -> 1.75; h = 1.5 -> 2 + 0.5 (4 - 2); h = 2.7 -> 4 + 0.7 (8 - 4).
  closeAll([0, 0.1, 0.25, 0.5, 0.9, 1].map((q) => quantile([1, 2, 4, 8], q)), [1, 1.3, 1.75, 3, 6.8, 8], 'quantiles');
  assert.is(quantile([5], 0.3), 5);
  assert.ok(Number.isNaN(quantile([], 0.5)));
  assert.throws(() => quantile([1, 2], 1.5), /q = 1.5, expected a number in \[0, 1\]/);
  assert.throws(() => quantile([2, 1], 0.5), /not sorted ascending at index 1/);
});

test('percentileInterval: quantiles (1 -/+ level) / 2 of the draws in any order, NaN left out', () => {
  // Draws 1..21 shuffled: h = 0.025 x 20 = 0.5 -> 1.5; h = 0.975 x 20 = 19.5 -> 20.5.
  const draws = Array.from({ length: 21 }, (_, i) => ((i * 8) % 21) + 1);
  closeAll(percentileInterval(draws), [1.5, 20.5], '95%');
  closeAll(percentileInterval(draws, 0.5), [6, 16], '50%: h = 5 and 15');
  assert.equal(draws.slice(0, 3), [1, 9, 17], 'input left in its order');
  closeAll(percentileInterval([Number.NaN, ...draws, Number.NaN]), [1.5, 20.5], 'NaN draws left out');
  for (const none of [[], [Number.NaN]]) {
    const [lo, hi] = percentileInterval(none);
    assert.ok(Number.isNaN(lo) && Number.isNaN(hi), `no finite draws (${none.length}): NaN`);
  }
});

test('empiricalPValue: (1 + #{null at least as extreme}) / (1 + n), ties count against', () => {
  const nulls = [1, 2, 5, 6, 3];
  close(empiricalPValue(5, nulls, 'greater'), 3 / 6, 'greater: 5 and 6 are >= 5');
  close(empiricalPValue(5, nulls, 'less'), 5 / 6, 'less: 1, 2, 3, 5 are <= 5');
  close(empiricalPValue(5, nulls), 3 / 6, 'greater is the default');
  // Beyond all 19 draws: the smallest p-value possible, never 0.
  close(empiricalPValue(100, Array.from({ length: 19 }, (_, i) => i)), 1 / 20, 'beyond every draw');
  close(empiricalPValue(-1, Array.from({ length: 19 }, (_, i) => i), 'less'), 1 / 20, 'below every draw');
  assert.is(empiricalPValue(0.3, []), 1);
  assert.throws(() => empiricalPValue(Number.NaN, nulls), /observed value is NaN/);
  assert.throws(() => empiricalPValue(1, [0, Number.NaN]), /null draw 1 is NaN/);
});

test('holm: step-down, monotone, capped at 1, input order', () => {
  // Sorted 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04, raised to 0.06 by monotonicity).
  closeAll(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06], 'brief example');
  // Sorted 0.01 x4 = 0.04, 0.02 x3 = 0.06, 0.04 x2 = 0.08, 0.5 x1 = 0.5.
  closeAll(holm([0.04, 0.01, 0.02, 0.5]), [0.08, 0.04, 0.06, 0.5], 'four tests');
  closeAll(holm([0.5, 0.6]), [1, 1], 'capped: 0.5 x2 = 1, then 0.6 raised to 1');
  closeAll(holm([0.01, 0.01]), [0.02, 0.02], 'ties');
  closeAll(holm([0.2]), [0.2], 'one test');
  assert.equal(holm([]), []);
  assert.throws(() => holm([0.1, 1.2]), /p-value 1 is 1.2/);
  assert.throws(() => holm([Number.NaN]), /p-value 0 is NaN/);
});

test('benjaminiHochberg: step-up q-values, monotone, capped at 1, input order', () => {
  // m p / j = 0.05 for every j.
  closeAll(benjaminiHochberg([0.01, 0.02, 0.03, 0.04, 0.05]), [0.05, 0.05, 0.05, 0.05, 0.05], 'all 0.05');
  // Sorted 0.005, 0.01, 0.03, 0.04, 0.2: 5p/j = 0.025, 0.025, 0.05, 0.05, 0.2; minima from the right are the same.
  closeAll(benjaminiHochberg([0.01, 0.04, 0.03, 0.2, 0.005]), [0.025, 0.05, 0.05, 0.2, 0.025], 'mixed');
  // Sorted 0.01 (3 x 0.01 / 1 = 0.03), 0.03 (3 x 0.03 / 2 = 0.045), 0.04 (3 x 0.04 / 3 = 0.04): step-up lowers 0.045 to 0.04.
  closeAll(benjaminiHochberg([0.04, 0.01, 0.03]), [0.04, 0.03, 0.04], 'step-up');
  closeAll(benjaminiHochberg([0.6, 1]), [1, 1], 'capped: 2 x 0.6 / 1 = 1.2 -> 1');
  assert.equal(benjaminiHochberg([]), []);
  assert.throws(() => benjaminiHochberg([-0.1]), /p-value 0 is -0.1/);
});

test('fisherExact: R / scipy p-values and sample odds ratios', () => {
  // [table, odds ratio, two-sided, greater, less]: scipy.stats.fisher_exact 1.17 (two-sided matches R's fisher.test).
  const cases: [[number, number, number, number], number, number, number, number][] = [
    [[8, 2, 1, 5], 20, 0.034965034965034975, 0.024475524475524483, 0.9991258741258742],
    [[1, 9, 11, 3], 3 / 99, 0.0027594561852200836, 0.9999663480953022, 0.0013797280926100418],
    // Fisher's tea tasting: 0.4857143 = 34/70, greater 17/70.
    [[3, 1, 1, 3], 9, 34 / 70, 17 / 70, 69 / 70],
    // Counts in the thousands: the tails need the log-factorials.
    [[1200, 800, 950, 1050], 1200 * 1050 / (800 * 950), 2.6431612918148805e-15, 1.3215806459074403e-15, 0.9999999999999994],
    [[20, 2980, 5, 2995], 20 * 2995 / (2980 * 5), 0.0040037990877548, 0.0020018995438774, 0.9995552158062992],
  ];
  for (const [[a, b, c, d], or, two, greater, less] of cases) {
    const r = fisherExact(a, b, c, d);
    const what = `[[${a}, ${b}], [${c}, ${d}]]`;
    close(r.oddsRatio, or, `${what} odds ratio`, 1e-12, true);
    close(r.pValueTwoSided, two, `${what} two-sided`, 1e-9, true);
    close(r.pValueGreater, greater, `${what} greater`, 1e-9, true);
    close(r.pValueLess, less, `${what} less`, 1e-9, true);
  }
});

test('fisherExact: ties in probability, infinite, zero and undefined odds ratios', () => {
  // [[0, 5], [5, 0]]: the two extreme tables are equally probable, 1 / C(10, 5) = 1/252 each.
  const tie = fisherExact(0, 5, 5, 0);
  assert.is(tie.oddsRatio, 0);
  close(tie.pValueTwoSided, 2 / 252, 'two-sided counts both tied tails');
  close(tie.pValueLess, 1 / 252, 'less');
  close(tie.pValueGreater, 1, 'greater');
  const perfect = fisherExact(10, 0, 0, 10);
  assert.is(perfect.oddsRatio, Number.POSITIVE_INFINITY);
  close(perfect.pValueGreater, 1 / 184756, 'greater = 1 / C(20, 10)', 1e-12, true);
  close(perfect.pValueTwoSided, 2 / 184756, 'two-sided', 1e-12, true);
  const empty = fisherExact(0, 0, 0, 0);
  assert.ok(Number.isNaN(empty.oddsRatio));
  assert.equal([empty.pValueTwoSided, empty.pValueGreater, empty.pValueLess], [1, 1, 1]);
  // A margin of zero: one possible table, p = 1.
  const column = fisherExact(5, 0, 3, 0);
  assert.ok(Number.isNaN(column.oddsRatio));
  assert.is(column.pValueTwoSided, 1);
  assert.throws(() => fisherExact(1, -1, 2, 3), /b = -1, expected a non-negative integer count/);
  assert.throws(() => fisherExact(1, 1, 2.5, 3), /c = 2.5/);
});

test('pairedBootstrap: contains the true mean difference, reproducible by seed', () => {
  const a = Array.from({ length: 10 }, (_, i) => i + 1); // 1..10
  const b = new Array<number>(10).fill(1); // differences 0..9, mean 4.5
  const ci = pairedBootstrap(a, b, { resamples: 4000, seed: 11, level: 0.95 });
  close(ci.estimate, 4.5, 'estimate');
  assert.ok(ci.low < 4.5 && 4.5 < ci.high, `[${ci.low}, ${ci.high}] contains 4.5`);
  // Normal approximation: the population sd of 0..9 is sqrt(8.25), so the se is about 0.91 and the interval about +-1.8.
  assert.ok(ci.low > 2.3 && ci.low < 3.3 && ci.high > 5.7 && ci.high < 6.7, `[${ci.low}, ${ci.high}] about 4.5 +- 1.8`);
  assert.equal([ci.level, ci.resamples, ci.dropped, ci.seed], [0.95, 4000, 0, 11]);
  assert.equal(pairedBootstrap(a, b, { resamples: 4000, seed: 11 }), ci, 'same seed, same interval');
  assert.not.equal(pairedBootstrap(a, b, { resamples: 4000, seed: 12 }), ci, 'another seed, another interval');
  const narrow = pairedBootstrap(a, b, { resamples: 4000, seed: 11, level: 0.5 });
  assert.ok(narrow.low > ci.low && narrow.high < ci.high, 'a 50% interval lies inside the 95% one');
  // No variation: every resample gives the same difference.
  const flat = pairedBootstrap([1, 0, 1], [0, -1, 0], { resamples: 50 });
  assert.equal([flat.estimate, flat.low, flat.high], [1, 1, 1]);
  assert.throws(() => pairedBootstrap([1, 2], [1], {}), /2 values in a but 1 in b/);
});

test('bootstrapCi: a statistic of the resampled indices (method accuracy minus the mean of random seeds)', () => {
  // Correct (1) or not (0) per test record for the method and three random selections.
  const method = [1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1];
  const randoms = [
    [1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1],
    [0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0],
    [1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1],
  ];
  const n = method.length;
  const accuracy = (xs: readonly number[], idx: Int32Array): number => idx.reduce((s, i) => s + xs[i]!, 0) / idx.length;
  let calls = 0;
  const stat = (idx: Int32Array): number => {
    calls++;
    assert.is(idx.length, n);
    assert.ok(idx.every((i) => i >= 0 && i < n));
    return accuracy(method, idx) - mean(randoms.map((r) => accuracy(r, idx)));
  };
  const ci = bootstrapCi(n, stat, { resamples: 1000, seed: 3 });
  assert.is(calls, 1001, 'one call per resample and one for the estimate');
  close(ci.estimate, 9 / 12 - (5 + 5 + 4) / 36, 'estimate: 0.75 - 14/36');
  assert.ok(ci.low < ci.estimate && ci.estimate < ci.high);
  // The statistic is linear in the records, so it equals the paired mean of method - mean(randoms) on the same resamples.
  const randomMean = method.map((_, i) => mean(randoms.map((r) => r[i]!)));
  const paired = pairedBootstrap(method, randomMean, { resamples: 1000, seed: 3 });
  close(paired.low, ci.low, 'low, same seed');
  close(paired.high, ci.high, 'high, same seed');
});

test('bootstrapCi: NaN statistics are dropped and counted; bad options are errors', () => {
  // NaN when record 0 is missing from the resample: probability (4/5)^5 = 0.328 per resample.
  const ci = bootstrapCi(5, (idx) => (idx.includes(0) ? 1 : Number.NaN), { resamples: 2000, seed: 5 });
  assert.ok(ci.dropped > 550 && ci.dropped < 760, `dropped ${ci.dropped} of 2000`);
  assert.equal([ci.estimate, ci.low, ci.high], [1, 1, 1]);
  assert.throws(() => bootstrapCi(0, () => 0), /n = 0, expected a positive integer/);
  assert.throws(() => bootstrapCi(3, () => 0, { resamples: 0 }), /resamples = 0/);
  assert.throws(() => bootstrapCi(3, () => 0, { level: 1 }), /level = 1, expected a number in \(0, 1\)/);
});

test('pearson: hand values, perfect and undefined correlations', () => {
  // dx = dy' = [-1.5, -0.5, 0.5, 1.5] permuted: sxy = 2.25 - 0.25 - 0.25 + 2.25 = 4, sxx = syy = 5.
  close(pearson([1, 2, 3, 4], [1, 3, 2, 4]), 0.8, 'hand value');
  close(pearson([1, 2, 3], [2, 4, 6]), 1, 'perfect');
  close(pearson([1, 2, 3], [3, 2, 1]), -1, 'perfect negative');
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])), 'zero variance');
  assert.ok(Number.isNaN(pearson([1], [2])), 'one point');
  assert.throws(() => pearson([1, 2], [1]), /2 values in x but 1 in y/);
});

test('spearman: average ranks for ties', () => {
  assert.equal([...averageRanks([10, 20, 20, 30])], [1, 2.5, 2.5, 4]);
  assert.equal([...averageRanks([3, 1, 3, 3])], [3, 1, 3, 3]);
  // Ranks [1, 2.5, 2.5, 4, 5] and [1, 2, 3.5, 3.5, 5]: sxy = 8.75, sxx = syy = 9.5 -> 35/38 (scipy 0.9210526).
  close(spearman([1, 2, 2, 3, 4], [10, 20, 30, 30, 50]), 35 / 38, 'ties in both');
  // Ranks [1.5, 1.5, 3, 4] and [4, 3, 2, 1]: sxy = -4.5, sxx = 4.5, syy = 5 -> -3 / sqrt(10) (scipy -0.9486833).
  close(spearman([1, 1, 2, 3], [4, 3, 2, 1]), -3 / Math.sqrt(10), 'ties in x');
  close(spearman([1, 2, 3, 4], [1, 8, 27, 64]), 1, 'monotone, not linear');
  assert.ok(Number.isNaN(spearman([2, 2, 2], [1, 2, 3])));
  assert.throws(() => spearman([1], [1, 2]), /spearman: 1 values in x but 2 in y/);
});

test('jaccard: intersection over union; two empty sets are identical', () => {
  close(jaccard([1, 2, 3], [2, 3, 4]), 2 / 4, 'half');
  close(jaccard(new Set(['a', 'b']), new Set(['a', 'b'])), 1, 'same');
  assert.is(jaccard([1, 2], [3]), 0);
  assert.is(jaccard([], [1]), 0);
  assert.is(jaccard([], []), 1);
  close(jaccard([1, 1, 2], [2, 2, 3]), 1 / 3, 'duplicates count once');
});

test.run();
