/**
 * The study's statistics on hand-checked cases: metricOf against data/metrics.ts, empirical p-values
 * with the +1, Holm within (module, method, metric) families, the attainable alpha, layer-matched
 * random selections (per-layer counts kept, seeded, shared by methods with equal counts), class-edit
 * random controls, per-example normalisation and Dai et al.'s refined neurons, IG targets.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { argmaxRows, computeMetrics } from '../data/metrics.js';
import { matchedRandomNeurons } from '../kn/class_edits.js';
import { neuronLayout } from '../kn/layout.js';
import { normaliseExamples, refinedNeurons } from '../kn/refined.js';
import type { NeuronScores } from '../kn/scores.js';
import { perLayerCounts, selectRandomMatched, selectTop } from '../kn/select.js';
import { targetRecords } from '../kn/study.js';
import { ablationTestSeed, densityResampleSeed } from '../kn/seeds.js';
import { bootstrapCi } from '../kn/stats.js';
import { ablationTests, attainableAlpha, beatsRandom, metricOf } from '../kn/tests.js';
import { rng } from '../engine/random.js';
import { tinyClassifier } from './lib/kn_fixtures.js';

const layout = neuronLayout(tinyClassifier(1, 3, 16, 3).config);

test('metricOf equals computeMetrics on all records and on a resample with repeats', () => {
  const rand = rng(3);
  const truth = Int32Array.from({ length: 40 }, () => Math.floor(rand() * 4));
  const pred = Int32Array.from({ length: 40 }, () => Math.floor(rand() * 4));
  const names = ['a', 'b', 'c', 'd'];
  const m = computeMetrics(truth, pred, names);
  assert.ok(Math.abs(metricOf('accuracy', truth, pred, 4) - m.accuracy) < 1e-12);
  assert.ok(Math.abs(metricOf('macro_f1', truth, pred, 4) - m.macro_f1) < 1e-12);
  const idx = Int32Array.from([0, 0, 3, 5, 5, 5, 9, 17, 30, 39]);
  const sub = computeMetrics(Array.from(idx, (i) => truth[i]!), Array.from(idx, (i) => pred[i]!), names);
  assert.ok(Math.abs(metricOf('macro_f1', truth, pred, 4, idx) - sub.macro_f1) < 1e-12);
  assert.ok(Math.abs(metricOf('accuracy', truth, pred, 4, idx) - sub.accuracy) < 1e-12);
});

test('ablation tests: empirical p with the +1, Holm per (module, method, metric) family, intervals contain the effect', () => {
  // 10 records, 2 classes. The method is right on all 10; random controls on 5, 6 and 10 of them.
  const truth = Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  const wrongFrom = (k: number) => Int32Array.from(truth, (t, i) => (i < k ? t : 1 - t));
  const cells = [0.1, 0.5].map((fraction) => ({
    module: 'key' as const, method: 'ig', ranking: 'layer' as const, fraction,
    predictions: truth.slice(), random: [wrongFrom(5), wrongFrom(6), wrongFrom(10)],
  }));
  const tests = ablationTests(cells, truth, { numClasses: 2, resamples: 200, seed: 1 });
  assert.is(tests.length, 4);
  const acc = tests.filter((t) => t.metric === 'accuracy');
  // One control ties the method: p = (1 + 1) / (1 + 3) = 0.5; Holm over the 2 cells: min(1, 2 x 0.5) = 1.
  for (const t of acc) {
    assert.ok(Math.abs(t.p_value - 0.5) < 1e-12);
    assert.ok(Math.abs(t.p_adjusted - 1) < 1e-12);
    assert.ok(Math.abs(t.effect - (1 - (0.5 + 0.6 + 1) / 3)) < 1e-12);
    assert.ok(t.ci_low <= t.effect + 1e-12 && t.effect <= t.ci_high + 1e-12);
    assert.is(t.significant, false);
  }
  assert.is(attainableAlpha(2, 3), 0.5);
  assert.is(attainableAlpha(2, 99), 0.02);
  const verdicts = beatsRandom(tests, 'accuracy', 3);
  assert.is(verdicts.length, 2);
  assert.ok(verdicts[0]!.statement.startsWith('Not shown to beat random'));
});

test('ablation tests: a method beating 99 controls is significant after Holm over 2 cells; a tie is not', () => {
  const truth = Int32Array.from({ length: 20 }, (_, i) => i % 2);
  const bad = Int32Array.from(truth, (t, i) => (i < 8 ? t : 1 - t));
  const random = Array.from({ length: 99 }, () => bad);
  const cells = [0.1, 0.5].map((fraction) => ({ module: 'query' as const, method: 'ig', ranking: 'layer' as const, fraction, predictions: truth.slice(), random }));
  const tests = ablationTests(cells, truth, { numClasses: 2, resamples: 100, seed: 2 }).filter((t) => t.metric === 'accuracy');
  for (const t of tests) {
    assert.ok(Math.abs(t.p_value - 0.01) < 1e-12);
    assert.ok(Math.abs(t.p_adjusted - 0.02) < 1e-12);
    assert.ok(t.significant);
    assert.ok(t.ci_low > 0);
  }
  assert.ok(beatsRandom(tests, 'accuracy', 99)[0]!.statement.startsWith('Beats random'));
  const tie = ablationTests([{ ...cells[0]!, predictions: bad }], truth, { numClasses: 2, resamples: 50, seed: 2 });
  assert.ok(tie.every((t) => t.p_value === 1 && !t.significant));
});

test('seed streams: the ablation tests\' bootstraps and the density resamples share no rng stream of one seed', () => {
  for (const seed of [0, 1, 7]) {
    const tests = Array.from({ length: 64 * 2 }, (_, k) => ablationTestSeed(seed, k >> 1, k & 1));
    const density = Array.from({ length: 2000 }, (_, b) => densityResampleSeed(seed, b));
    assert.is(new Set(tests).size, tests.length, `seed ${seed}: one stream per test`);
    assert.is(new Set(density).size, density.length, `seed ${seed}: one stream per resample`);
    const shared = new Set(density);
    assert.ok(tests.every((x) => !shared.has(x)), `seed ${seed}: no stream in both analyses`);
  }
  // ablationTests draws test (cell c, metric m) from ablationTestSeed(seed, c, m), so the draws are recreatable.
  const truth = Int32Array.from({ length: 12 }, (_, i) => i % 2);
  const random = [Int32Array.from(truth, (t, i) => (i < 6 ? t : 1 - t))];
  const [t] = ablationTests([{ module: 'key', method: 'ig', ranking: 'layer', fraction: 0.1, predictions: truth.slice(), random }], truth, { numClasses: 2, resamples: 100, seed: 3 });
  const ci = bootstrapCi(12, (idx) => metricOf('accuracy', truth, truth, 2, idx) - metricOf('accuracy', truth, random[0]!, 2, idx), { resamples: 100, seed: ablationTestSeed(3, 0, 0) });
  assert.equal([t!.metric, t!.ci_low, t!.ci_high], ['accuracy', ci.low, ci.high]);
});

test('layer-matched random selections keep every layer count, are seeded and depend only on the counts', () => {
  const scores = Float64Array.from({ length: layout.total }, (_, i) => Math.sin(i * 1.7));
  for (const ranking of ['layer', 'global'] as const) {
    const top = selectTop(layout, 'ffn_in', scores, 'ig', 0.1, ranking);
    const counts = perLayerCounts(layout, top);
    for (const seed of [0, 1, 2]) {
      const r = selectRandomMatched(layout, top, seed);
      assert.equal(perLayerCounts(layout, r), counts);
      assert.equal(selectRandomMatched(layout, top, seed).keep, r.keep);
    }
    assert.not.equal(selectRandomMatched(layout, top, 0).keep, selectRandomMatched(layout, top, 1).keep);
  }
  // Two methods with the same per-layer counts get the same random controls.
  const a = selectTop(layout, 'key', scores, 'activation', 0.25, 'layer');
  const b = selectTop(layout, 'key', scores.map((x) => -x), 'ig', 0.25, 'layer');
  assert.equal(selectRandomMatched(layout, a, 4).keep, selectRandomMatched(layout, b, 4).keep);
});

test('with rotary pairs, query and key selections and their random controls keep whole pairs (d, d + Dh/2)', () => {
  const Dh = 8;
  const scores = Float64Array.from({ length: layout.total }, (_, i) => Math.cos(i * 0.37));
  const whole = (keep: Uint8Array, W: number) => {
    for (let i = 0; i < keep.length; i++) {
      const w = i % W;
      const partner = w % Dh < Dh / 2 ? i + Dh / 2 : i - Dh / 2;
      if (keep[i] !== keep[partner]) return false;
    }
    return true;
  };
  for (const module of ['query', 'key'] as const) {
    const W = layout.widths[module];
    for (const ranking of ['layer', 'global'] as const) {
      for (const fraction of [0.05, 0.2, 0.33]) {
        const top = selectTop(layout, module, scores, 'ig', fraction, ranking, Dh);
        assert.ok(whole(top.keep, W), `${module} ${ranking} ${fraction}: the selection splits a pair`);
        for (const seed of [0, 1]) {
          const r = selectRandomMatched(layout, top, seed, Dh);
          assert.ok(whole(r.keep, W), `${module} ${ranking} ${fraction}: the control splits a pair`);
          assert.equal(perLayerCounts(layout, r), perLayerCounts(layout, top));
        }
      }
    }
    // The fraction counts pairs: 5% of W/2 = 8 pairs per layer rounds to 0.4, so one pair (two units).
    assert.equal(perLayerCounts(layout, selectTop(layout, module, scores, 'ig', 0.05, 'layer', Dh)), [2, 2, 2]);
  }
  // Other modules are not paired.
  assert.equal(perLayerCounts(layout, selectTop(layout, 'value', scores, 'ig', 0.2, 'layer', Dh)), [3, 3, 3]);
});

test('class-edit controls: layer-matched random neurons of the same count, seeded', () => {
  const W = layout.widths.value;
  const neurons = [0, 3, W + 1, 2 * W + 5, 2 * W + 6, 2 * W + 7];
  const r = matchedRandomNeurons(layout, 'value', neurons, 3);
  const perLayer = (xs: number[]) => [0, 1, 2].map((l) => xs.filter((i) => Math.floor(i / W) === l).length);
  assert.equal(perLayer(r), [2, 1, 3]);
  assert.equal(new Set(r).size, r.length);
  assert.equal(matchedRandomNeurons(layout, 'value', neurons, 3), r);
});

function scoresOf(values: number[][], labels: number[]): NeuronScores {
  const N = layout.total;
  const flat = new Float32Array(values.length * N);
  values.forEach((row, e) => row.forEach((v, n) => (flat[e * N + n] = v)));
  return { method: 'ig', layout, classNames: ['a', 'b'], examples: labels.map((label, i) => ({ id: `e${i}`, label, residues: 5 })), values: flat, meta: {} };
}

test('per-example normalisation divides each row by its largest |score|', () => {
  const s = normaliseExamples(scoresOf([[2, -4, 1], [0.5, 0.25]], [0, 1]));
  const N = layout.total;
  assert.equal(Array.from(s.values.subarray(0, 3)), [0.5, -1, 0.25]);
  assert.equal(Array.from(s.values.subarray(N, N + 2)), [1, 0.5]);
});

test("refined neurons (Dai et al.): t x the example's max, then a share p of the class's examples", () => {
  // Class 0: three examples. Neuron 0 passes (>= 0.2 x max) in all three, neuron 1 in two, neuron 2 in one.
  const s = scoresOf([[1, 0.5, 0.1], [1, 0.1, 0.3], [1, 0.3, 0.05], [0, 0, 2]], [0, 0, 0, 1]);
  const r = refinedNeurons(s, { t: 0.2, p: 0.6 });
  assert.ok(Math.abs(r.shares[0]![0]! - 1) < 1e-12);
  assert.ok(Math.abs(r.shares[0]![1]! - 2 / 3) < 1e-12);
  assert.ok(Math.abs(r.shares[0]![2]! - 1 / 3) < 1e-12);
  assert.equal(r.perClass[0], [0, 1]);
  assert.equal(r.perClass[1], [2]);
  // Ranking: the max share over classes, ties broken below one example's share.
  assert.ok(r.ranking[0]! > r.ranking[1]! && Math.abs(r.ranking[2]! - 1) < 0.25);
});

test('IG targets: true keeps the records, predicted relabels them, correct keeps the correctly classified', () => {
  const recs = [0, 1, 2].map((label, i) => ({ id: `r${i}`, sequence: 'ACD', label, source: 't' }));
  const pred = Int32Array.from([0, 2, 2]);
  assert.equal(targetRecords(recs, pred, 'true').map((r) => r.label), [0, 1, 2]);
  assert.equal(targetRecords(recs, pred, 'predicted').map((r) => r.label), [0, 2, 2]);
  assert.equal(targetRecords(recs, pred, 'correct').map((r) => r.id), ['r0', 'r2']);
  assert.equal(argmaxRows(Float32Array.from([0, 1, 3, 2]), 2), Int32Array.from([1, 0]));
});

test.run();
