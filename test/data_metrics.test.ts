/** Metrics on hand-computed examples: a class never predicted, a class only predicted, a class absent from both. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { argmaxRows, computeMetrics, formatMetrics } from '../data/metrics.js';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

// 10 examples, 5 classes. 'd' (3) is never predicted; 'e' (4) is absent from truth and predictions.
const truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3];
const pred = [0, 0, 1, 2, 1, 1, 0, 2, 2, 2];
const names = ['a', 'b', 'c', 'd', 'e'];

test('hand-computed: accuracy, per-class precision/recall/F1/support, confusion, macro-F1', () => {
  const m = computeMetrics(truth, pred, names);
  assert.equal(m.confusion, [
    [2, 1, 1, 0, 0],
    [1, 2, 0, 0, 0],
    [0, 0, 2, 0, 0],
    [0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0],
  ]);
  close(m.accuracy, 0.6, 'accuracy');
  // [precision, recall, f1, support] worked out by hand from the confusion matrix.
  const expected = [
    [2 / 3, 1 / 2, 4 / 7, 4],
    [2 / 3, 2 / 3, 2 / 3, 3],
    [1 / 2, 1, 2 / 3, 2],
    [0, 0, 0, 1], // never predicted: precision 0/0 counts as 0
    [0, 0, 0, 0],
  ];
  m.per_class.forEach((c, i) => {
    assert.is(c.class, i);
    assert.is(c.name, names[i]);
    close(c.precision, expected[i]![0]!, `${c.name} precision`);
    close(c.recall, expected[i]![1]!, `${c.name} recall`);
    close(c.f1, expected[i]![2]!, `${c.name} f1`);
    assert.is(c.support, expected[i]![3]);
  });
  // Mean over a-d; e is left out because no example is or is predicted to be e.
  close(m.macro_f1, (4 / 7 + 2 / 3 + 2 / 3 + 0) / 4, 'macro-F1');
  assert.equal(m.macro_f1_excluded, [4]);
});

test('a class only predicted counts in macro-F1 with F1 0', () => {
  const m = computeMetrics([0, 0], [0, 1], ['x', 'y']);
  close(m.accuracy, 0.5, 'accuracy');
  assert.equal(m.per_class.map((c) => [c.precision, c.recall, c.support]), [[1, 0.5, 2], [0, 0, 0]]);
  close(m.per_class[0]!.f1, 2 / 3, 'x f1');
  close(m.macro_f1, 1 / 3, 'macro-F1');
  assert.equal(m.macro_f1_excluded, []);
});

test('perfect predictions; Int32Array inputs', () => {
  const m = computeMetrics(Int32Array.from([2, 0, 1, 2]), Int32Array.from([2, 0, 1, 2]), ['p', 'q', 'r']);
  assert.is(m.accuracy, 1);
  assert.is(m.macro_f1, 1);
  assert.ok(m.per_class.every((c) => c.precision === 1 && c.recall === 1 && c.f1 === 1));
});

test('JSON shape: {accuracy, macro_f1, per_class: [{class, name, precision, recall, f1, support}], confusion}', () => {
  const json = JSON.parse(JSON.stringify(computeMetrics(truth, pred, names))) as Record<string, unknown>;
  assert.equal(Object.keys(json), ['accuracy', 'macro_f1', 'per_class', 'confusion', 'macro_f1_excluded']);
  assert.equal(Object.keys((json.per_class as object[])[0]!), ['class', 'name', 'precision', 'recall', 'f1', 'support']);
});

test('bad inputs are errors naming the problem', () => {
  assert.throws(() => computeMetrics([0, 1], [0], names), /2 true labels but 1 predictions/);
  assert.throws(() => computeMetrics([], [], names), /no examples/);
  assert.throws(() => computeMetrics([0, 5], [0, 0], names), /example 1 has true class 5 and prediction 0, expected integers in \[0, 5\)/);
  assert.throws(() => computeMetrics([0], [0.5], names), /example 0/);
});

test('argmaxRows: first maximum on ties', () => {
  assert.equal([...argmaxRows([0.1, 0.9, 0.0, 5, 5, 1, -1, -2, -0.5], 3)], [1, 0, 2]);
  assert.throws(() => argmaxRows([1, 2, 3], 2), /3 values are not rows of 2 classes/);
});

test('formatMetrics: summary, per-class table with excluded classes dashed, confusion matrix', () => {
  const text = formatMetrics(computeMetrics(truth, pred, names));
  const lines = text.split('\n');
  assert.is(lines[0], 'accuracy 0.6000   macro-F1 0.4762 over 4 of 5 classes   (10 examples)');
  assert.is(lines[1], 'macro-F1 leaves out classes absent from truth and predictions: e');
  assert.is(lines[2], 'class precision    recall        f1  support');
  assert.is(lines[3], '0 a       0.667     0.500     0.571        4');
  assert.is(lines[6], '3 d       0.000     0.000     0.000        1');
  assert.is(lines[7], '4 e           -         -         -        0');
  assert.is(lines[9], 'confusion (rows: true class, columns: predicted class)');
  assert.is(lines[10], '         0    1    2    3    4');
  assert.is(lines[11], '0 a      2    1    1    0    0');
  assert.is(lines.length, 16);
});

test.run();
