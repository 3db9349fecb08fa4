/**
 * Per-residue integrated gradients of neuron cards (kn/positions_ig.ts): summed over positions they
 * are igScores' score of the unit (completeness of the decomposition; both rules, all and residue
 * positions, chunked nodes, query/key pairs), and each position matches a float64 central difference
 * on the reference model.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TaskRecord } from '../data/dataset.js';
import { exampleTokens } from '../kn/examples.js';
import { type IgPositions } from '../kn/ig.js';
import { igScores } from '../kn/ig_scores.js';
import { neuronOffset } from '../kn/layout.js';
import { type NeuronRef, collectPositions, groupNeurons } from '../kn/positions.js';
import { type CardIg, cardIgRun, describeCardIg, recordIg } from '../kn/positions_ig.js';
import { type QuadratureRule, quadrature } from '../kn/quadrature.js';
import { refClassifierProbs } from '../kn/ref/ig.js';
import type { EsmModel } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import { gpu } from './lib/gpu.js';
import { disposeTiny, randomRecords, refHead, tinyClassifier, uploadTiny } from './lib/kn_fixtures.js';

test.before(async () => {
  await gpu();
});

const tiny = tinyClassifier(3);
const records = randomRecords(2, 3, 7, 6, 4);
const names = ['a', 'b', 'c'];
const NEURONS: readonly NeuronRef[] = [
  { module: 'ffn_in', layer: 1, index: 7 }, { module: 'value', layer: 0, index: 2 }, { module: 'ffn_in', layer: 0, index: 30 },
  { module: 'ffn_in', layer: 1, index: 3 }, { module: 'query', layer: 1, index: 5 }, { module: 'key', layer: 0, index: 1 },
];

/** igScores of one record, for its own row. */
async function scoreOf(model: EsmModel, head: ClassifierHead, record: TaskRecord, ig: CardIg): Promise<(n: NeuronRef) => number> {
  const s = await igScores(model, head, [record], names, { steps: ig.steps, rule: ig.rule, positions: ig.positions, maxLength: 100 });
  return (n) => s.values[neuronOffset(s.layout, n.module, n.layer) + n.index]!;
}

const CASES: readonly { rule: QuadratureRule; steps: number; positions: IgPositions; internalBatch?: number }[] = [
  { rule: 'riemann', steps: 3, positions: 'residues' },
  { rule: 'gauss-legendre', steps: 4, positions: 'residues', internalBatch: 3 },
  { rule: 'gauss-legendre', steps: 2, positions: 'all' },
  { rule: 'riemann', steps: 5, positions: 'all', internalBatch: 2 },
];

for (const c of CASES) {
  test(`per-residue IG sums to igScores' score: ${c.rule} m = ${c.steps}, ${c.positions} positions${c.internalBatch ? `, chunks of ${c.internalBatch}` : ''}`, async () => {
    const u = uploadTiny(tiny);
    try {
      const ig: CardIg = { steps: c.steps, rule: c.rule, positions: c.positions, internalBatch: c.internalBatch };
      const ev = await collectPositions(u.model, u.head, records, NEURONS, { batching: { maxLength: 100, batchSize: 2 }, ig, qk: 'unit' });
      const plain = await collectPositions(u.model, u.head, records, NEURONS, { batching: { maxLength: 100, batchSize: 2 }, qk: 'unit' });
      const groups = groupNeurons(u.model, NEURONS);
      const order = groups.flatMap((g) => g.targets);
      const run = cardIgRun(u.model, u.head, ig, 100);
      try {
        for (const [r, rec] of records.entries()) {
          const score = await scoreOf(u.model, u.head, rec, ig);
          const e = ev[r]!;
          const n = e.residues;
          assert.equal([...e.activations], [...plain[r]!.activations], 'activations as without IG');
          // Residue positions: the public rows. All positions: <cls> and <eos> too, from recordIg.
          const full = await recordIg(run, rec, groups);
          const K = NEURONS.length;
          NEURONS.forEach((nr, k) => {
            const want = score(nr);
            const residues = e.attributions!.subarray(k * n, (k + 1) * n).reduce((a, b) => a + b, 0);
            let all = 0;
            for (let t = 0; t < full.L; t++) all += full.attributions[t * K + order.indexOf(k)]!;
            const got = c.positions === 'residues' ? residues : all;
            assert.ok(Math.abs(got - want) <= 2e-6 + 1e-4 * Math.abs(want), `record ${r} ${nr.module}:${nr.layer}:${nr.index}: sum ${got} vs igScores ${want}`);
            assert.ok(Math.abs(all - residues) < 1e-7 || c.positions === 'all', 'unscaled <cls>/<eos> carry no IG');
          });
        }
      } finally {
        run.dispose();
        for (const g of groups) g.sel.dispose();
      }
    } finally {
      disposeTiny(u);
    }
  });
}

test('per-residue IG of a query/key pair is the sum of its two units', async () => {
  const u = uploadTiny(tiny);
  try {
    const ig: CardIg = { steps: 3, rule: 'gauss-legendre', positions: 'residues' };
    const Dh = u.model.config.headDim;
    const pair = await collectPositions(u.model, u.head, records, [{ module: 'key', layer: 1, index: 1 }], { batching: { maxLength: 100 }, ig });
    const units = await collectPositions(u.model, u.head, records, [{ module: 'key', layer: 1, index: 1 }, { module: 'key', layer: 1, index: 1 + Dh / 2 }], { batching: { maxLength: 100 }, ig, qk: 'unit' });
    records.forEach((_, r) => {
      const n = pair[r]!.residues;
      for (let i = 0; i < n; i++) {
        const want = units[r]!.attributions![i]! + units[r]!.attributions![n + i]!;
        assert.ok(Math.abs(pair[r]!.attributions![i]! - want) < 1e-7, `record ${r} residue ${i}`);
      }
    });
  } finally {
    disposeTiny(u);
  }
});

test('per-residue IG matches float64 central differences on the reference model, position by position', async () => {
  const u = uploadTiny(tiny);
  try {
    const ig: CardIg = { steps: 3, rule: 'gauss-legendre', positions: 'all' };
    const q = quadrature(ig.rule, ig.steps);
    const neurons: readonly NeuronRef[] = [{ module: 'ffn_in', layer: 0, index: 30 }, { module: 'value', layer: 1, index: 4 }];
    const ev = await collectPositions(u.model, u.head, records, neurons, { batching: { maxLength: 100 }, ig, qk: 'unit' });
    const h = 1e-4;
    let largest = 0;
    for (const [r, rec] of records.entries()) {
      const tokens = exampleTokens(rec, 100);
      const L = tokens.length;
      neurons.forEach((nr, k) => {
        // f with the whole module output scaled by alpha, and unit w at token t by alpha + eps.
        const f = (alpha: number, t: number, eps: number): number => refClassifierProbs(tiny.config, tiny.params, refHead(tiny), tokens, 1, L, (layer, module, values, [, , W]) => {
          if (layer !== nr.layer || module !== nr.module) return;
          for (let i = 0; i < L * W; i++) values[i]! *= alpha + (i === t * W + nr.index ? eps : 0);
        })[rec.label]!;
        const n = ev[r]!.residues;
        for (let i = 0; i < n; i++) {
          let want = 0;
          q.alphas.forEach((alpha, j) => (want += q.weights[j]! * (f(alpha, i + 1, h) - f(alpha, i + 1, -h)) / (2 * h)));
          const got = ev[r]!.attributions![k * n + i]!;
          assert.ok(Math.abs(got - want) <= 2e-5 + 1e-3 * Math.abs(want), `record ${r} neuron ${k} residue ${i}: ${got} vs ${want}`);
          largest = Math.max(largest, Math.abs(want));
        }
      });
    }
    assert.ok(largest > 1e-4, `attributions are not all ~0 (largest ${largest})`);
  } finally {
    disposeTiny(u);
  }
});

test('describeCardIg names the attribution', () => {
  assert.ok(describeCardIg(undefined).startsWith('gradient x activation'));
  assert.ok(describeCardIg({ steps: 10, rule: 'gauss-legendre' }).startsWith('integrated gradients, m = 10, gauss-legendre'));
});

test.run();
