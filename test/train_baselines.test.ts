/** Baselines on hand-checked cases: majority ties, crop, composition features and regression, 3-mer profiles and cosine, 1-NN ties, the similarity split. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  compositionBaseline, compositionFeatures, cosineSimilarity, cropRecords, DEFAULT_REMOTE_THRESHOLD, kmerNearestNeighbour,
  kmerProfile, majorityBaseline, profileNorm, splitBySimilarity, STANDARD_RESIDUES,
} from '../train/baselines.js';

const close = (a: number, b: number, what: string, tol = 1e-12): void => assert.ok(Math.abs(a - b) < tol, `${what}: ${a} vs ${b}`);
const rec = (sequence: string, label: number) => ({ sequence, label });

// ---------------------------------------------------------------------------------------------------------------
// crop and majority

test('cropRecords keeps the first maxLen residues, copies other fields, leaves the input alone', () => {
  const input = [{ sequence: 'ACDEFG', label: 1, id: 'x' }, { sequence: 'AC', label: 0, id: 'y' }];
  const out = cropRecords(input, 4);
  assert.equal(out, [{ sequence: 'ACDE', label: 1, id: 'x' }, { sequence: 'AC', label: 0, id: 'y' }]);
  assert.is(input[0]!.sequence, 'ACDEFG');
  assert.is.not(out[1], input[1]); // new objects even when nothing is cut
  assert.equal(cropRecords(input, 6).map((r) => r.sequence), ['ACDEFG', 'AC']);
  assert.throws(() => cropRecords(input, 0), /maxLen/);
  assert.throws(() => cropRecords(input, 2.5), /maxLen/);
});

test('majority: the most frequent training class for every record; a tie goes to the lowest class', () => {
  // counts [2, 1, 2, 0]: classes 0 and 2 tie.
  const m = majorityBaseline([rec('A', 2), rec('C', 0), rec('D', 2), rec('E', 0), rec('F', 1)], 4);
  assert.is(m.label, 0);
  assert.equal([...m.counts], [2, 1, 2, 0]);
  assert.equal([...m.predict([rec('W', 3), rec('Y', 2), rec('', 1)])], [0, 0, 0]);
  assert.equal([...m.predict({ length: 0 })], []);
  // A clear winner above a lower index.
  assert.is(majorityBaseline([rec('A', 0), rec('A', 3), rec('A', 3)], 4).label, 3);
  assert.throws(() => majorityBaseline([], 3), /no training records/);
  assert.throws(() => majorityBaseline([rec('A', 3)], 3), /label 3/);
});

// ---------------------------------------------------------------------------------------------------------------
// composition

test('composition features: standard residues only; dipeptides of adjacent standard pairs', () => {
  // 'AACX': A 2/3, C 1/3, X ignored.
  const f = compositionFeatures('AACX');
  assert.is(f.length, 20);
  close(f[0]!, 2 / 3, 'A');
  close(f[1]!, 1 / 3, 'C');
  close(f.reduce((a, b) => a + b, 0), 1, 'sum');
  // 'AACXC': residues A A C C; pairs AA and AC (X breaks C-X and X-C).
  const d = compositionFeatures('AACXC', true);
  assert.is(d.length, 420);
  close(d[0]!, 0.5, 'A');
  close(d[1]!, 0.5, 'C');
  close(d[20 + 0 * 20 + 0]!, 0.5, 'AA');
  close(d[20 + 0 * 20 + 1]!, 0.5, 'AC');
  close(d.slice(20).reduce((a, b) => a + b, 0), 1, 'dipeptide sum');
  assert.equal([...compositionFeatures('XBZ', true)], new Array(420).fill(0));
});

test('composition regression separates all-A from all-C sequences, deterministically', () => {
  const train = [rec('AAAA', 0), rec('AAAAAAA', 0), rec('AAA', 0), rec('CCCC', 1), rec('CC', 1), rec('CCCCCC', 1)];
  const testSet = [{ sequence: 'AAAAAA' }, { sequence: 'CCC' }, { sequence: 'AAAC' }, { sequence: 'ACCC' }];
  const r = compositionBaseline(train, testSet, 2);
  assert.equal([...r.predictions], [0, 1, 0, 1]);
  for (let n = 0; n < testSet.length; n++) close(r.probabilities[2 * n]! + r.probabilities[2 * n + 1]!, 1, `row ${n} sums to 1`);
  assert.ok(r.probabilities[0]! > 0.95 && r.probabilities[3]! > 0.95, `confident on the pure sequences: ${[...r.probabilities]}`);
  // Standardisation: A has mean 1/2, sd 1/2; D (never seen) is constant, gets sd 0 and keeps weight 0.
  close(r.mean[0]!, 0.5, 'mean A');
  close(r.sd[0]!, 0.5, 'sd A');
  assert.is(r.sd[2], 0);
  assert.is(r.weights[2], 0);
  assert.is(r.weights[20 + 2], 0);
  // Starts at W = 0, b = 0 (loss ln 2) and goes down at every step.
  assert.is(r.trainLoss.length, 501);
  close(r.trainLoss[0]!, Math.log(2), 'initial loss');
  for (let i = 1; i < r.trainLoss.length; i++) assert.ok(r.trainLoss[i]! < r.trainLoss[i - 1]!, `loss went up at step ${i}`);
  // Bit-identical on a second run, with or without dipeptides.
  const again = compositionBaseline(train, testSet, 2);
  assert.equal([...again.probabilities], [...r.probabilities]);
  assert.equal([...again.weights], [...r.weights]);
  const dip = compositionBaseline(train, testSet, 2, { dipeptides: true, iterations: 50 });
  assert.is(dip.weights.length, 2 * 420);
  assert.equal([...dip.predictions], [0, 1, 0, 1]);
  assert.equal([...compositionBaseline(train, testSet, 2, { dipeptides: true, iterations: 50 }).probabilities], [...dip.probabilities]);
});

test('composition regression: zero iterations predict uniformly; bad options and labels throw', () => {
  const r = compositionBaseline([rec('AAAA', 0), rec('CCCC', 2)], [{ sequence: 'AC' }], 3, { iterations: 0 });
  assert.equal([...r.probabilities], [1 / 3, 1 / 3, 1 / 3]);
  assert.equal([...r.predictions], [0]); // a tie goes to the lowest class
  assert.throws(() => compositionBaseline([rec('A', 3)], [], 3), /label 3/);
  assert.throws(() => compositionBaseline([], [], 3), /no training records/);
  assert.throws(() => compositionBaseline([rec('A', 0)], [], 3, { learningRate: 0 }), /learningRate/);
  assert.throws(() => compositionBaseline([rec('A', 0)], [], 3, { iterations: -1 }), /iterations/);
});

// ---------------------------------------------------------------------------------------------------------------
// k-mer profiles, cosine, 1-NN

// 3-mer ids: base 20 in STANDARD_RESIDUES order (A 0, C 1, D 2, W 18, Y 19).
const ID = (s: string): number => [...s].reduce((a, ch) => a * 20 + STANDARD_RESIDUES.indexOf(ch), 0);

test('3-mer profiles by hand; non-standard letters break k-mers', () => {
  assert.equal([ID('ACD'), ID('CDA'), ID('DAC'), ID('YYY')], [22, 440, 801, 7999]);
  // 'ACDAC': ACD, CDA, DAC once each.
  const p1 = kmerProfile('ACDAC');
  assert.equal([...p1.ids], [22, 440, 801]);
  assert.equal([...p1.counts], [1, 1, 1]);
  // 'ACDACD': ACD twice, CDA and DAC once.
  const p2 = kmerProfile('ACDACD');
  assert.equal([...p2.ids], [22, 440, 801]);
  assert.equal([...p2.counts], [2, 1, 1]);
  close(profileNorm(p2), Math.sqrt(6), 'norm');
  // 'AACXDAC': AAC and DAC; ACX, CXD and XDA are skipped.
  const p3 = kmerProfile('AACXDAC');
  assert.equal([...p3.ids], [ID('AAC'), ID('DAC')]);
  assert.equal([...p3.counts], [1, 1]);
  assert.equal([...kmerProfile('ACXDA').ids], []);
  assert.equal([...kmerProfile('AC').ids], []);
  // 2-mers of 'ACDAC': AC twice, CD, DA.
  const k2 = kmerProfile('ACDAC', 2);
  assert.equal([...k2.ids], [1, 22, 40]);
  assert.equal([...k2.counts], [2, 1, 1]);
  assert.throws(() => kmerProfile('ACD', 0), /k must be/);
  assert.throws(() => kmerProfile('ACD', 6), /k must be/);
});

test('cosine by hand', () => {
  // (1, 1, 1) . (2, 1, 1) = 4; norms sqrt 3 and sqrt 6: 4 / sqrt 18.
  close(cosineSimilarity(kmerProfile('ACDAC'), kmerProfile('ACDACD')), 4 / Math.sqrt(18), 'ACDAC vs ACDACD');
  // 'AACXDAC' shares only DAC with 'ACDAC': 1 / (sqrt 2 sqrt 3).
  close(cosineSimilarity(kmerProfile('AACXDAC'), kmerProfile('ACDAC')), 1 / Math.sqrt(6), 'AACXDAC vs ACDAC');
  close(cosineSimilarity(kmerProfile('YYY'), kmerProfile('YYYYY')), 1, 'same direction');
  assert.is(cosineSimilarity(kmerProfile('ACDAC'), kmerProfile('YYYY')), 0);
  assert.is(cosineSimilarity(kmerProfile('AC'), kmerProfile('ACD')), 0); // an empty profile
});

test('1-NN: label of the most similar training record; ties go to the lowest training index', () => {
  const train = [rec('YYYYY', 2), rec('ACDACD', 1), rec('WWWW', 3), rec('ACDACD', 0)];
  const r = kmerNearestNeighbour(train, [{ sequence: 'ACDAC' }, { sequence: 'YYY' }, { sequence: 'AC' }, { sequence: 'ACDACDWWWW' }]);
  // 'ACDAC': 4 / sqrt 18 to both copies of ACDACD (1 and 3): index 1 wins.
  assert.equal([...r.nearest], [1, 0, 0, 1]);
  assert.equal([...r.predictions], [1, 2, 2, 1]);
  close(r.maxSimilarity[0]!, 4 / Math.sqrt(18), 'ACDAC');
  close(r.maxSimilarity[1]!, 1, 'YYY');
  assert.is(r.maxSimilarity[2], 0); // no 3-mer: similarity 0 to all, training record 0
  // 'ACDACDWWWW': ACD 2, CDA 1, DAC 1, CDW 1, DWW 1, WWW 2; dot with ACDACD 6, with WWWW 4; norm sqrt 12.
  close(r.maxSimilarity[3]!, 6 / (Math.sqrt(12) * Math.sqrt(6)), 'ACDACDWWWW');
  // Swap the two copies: the tie now goes to the copy labelled 0.
  const swapped = kmerNearestNeighbour([train[0]!, train[3]!, train[2]!, train[1]!], [{ sequence: 'ACDAC' }]);
  assert.equal([...swapped.predictions], [0]);
  assert.throws(() => kmerNearestNeighbour([], [{ sequence: 'ACD' }]), /no training records/);
  assert.throws(() => kmerNearestNeighbour([rec('ACD', -1)], []), /label -1/);
});

test('1-NN through the inverted index equals a direct scan with cosineSimilarity', () => {
  let s = 12345;
  const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  // Sequences over a skewed 6-letter alphabet with an occasional X, so that many 3-mers are shared.
  const seq = (n: number): string => Array.from({ length: n }, () => 'ACDEKX'[Math.floor(next() ** 1.5 * 6)]).join('');
  const train = Array.from({ length: 40 }, (_, i) => rec(seq(5 + Math.floor(next() * 60)), i % 5));
  const tests = Array.from({ length: 25 }, () => ({ sequence: seq(2 + Math.floor(next() * 60)) }));
  for (const k of [2, 3]) {
    const r = kmerNearestNeighbour(train, tests, { k });
    tests.forEach((t, n) => {
      const sims = train.map((x) => cosineSimilarity(kmerProfile(t.sequence, k), kmerProfile(x.sequence, k)));
      const best = sims.indexOf(Math.max(...sims));
      assert.is(r.nearest[n], best, `k ${k} test ${n}`);
      assert.is(r.predictions[n], train[best]!.label);
      close(r.maxSimilarity[n]!, sims[best]!, `k ${k} test ${n} similarity`, 1e-15);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// homology-aware view

test('splitBySimilarity: remote below the threshold, near at or above it', () => {
  const sp = splitBySimilarity(Float64Array.from([0.1, 0.3, 0.29, 0.9, 0.3, 0]), 0.3);
  assert.equal([...sp.remote], [0, 2, 5]);
  assert.equal([...sp.near], [1, 3, 4]);
  assert.is(DEFAULT_REMOTE_THRESHOLD, 0.3);
  assert.equal([...splitBySimilarity([], 0.3).remote], []);
  assert.throws(() => splitBySimilarity([0.2, NaN], 0.3), /NaN/);
  assert.throws(() => splitBySimilarity([0.2], NaN), /threshold/);
});

test.run();
