/** Baselines on hand-checked cases: majority ties, crop, composition features and regression. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compositionBaseline, compositionFeatures, cropRecords, majorityBaseline } from '../train/baselines.js';

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

test.run();
