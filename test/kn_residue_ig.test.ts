/**
 * Per-residue integrated gradients (kn/residue_ig.ts) against the float64 reference by central
 * differences (kn/ref/residue_ig.ts): both quadrature rules, mean and <cls> pooling, awkward
 * lengths, chunked and unchunked; and completeness converging as m grows.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type QuadratureRule, quadrature } from '../kn/quadrature.js';
import { refResidueIg } from '../kn/ref/residue_ig.js';
import { residueIg } from '../kn/residue_ig.js';
import { encodeSequence } from '../model/tokenizer.js';
import { assertClose } from './lib/compare.js';
import { gpu } from './lib/gpu.js';
import { disposeTiny, randomRecords, refHead, tinyClassifier, uploadTiny } from './lib/kn_fixtures.js';

test.before(async () => {
  await gpu();
});

const CASES: readonly { name: string; seed: number; len: number; rule: QuadratureRule; steps: number; batch?: number; pooling: 'mean' | 'cls'; label: number }[] = [
  { name: 'one residue, riemann', seed: 1, len: 1, rule: 'riemann', steps: 3, pooling: 'mean', label: 0 },
  { name: 'odd length, gauss-legendre', seed: 2, len: 13, rule: 'gauss-legendre', steps: 4, pooling: 'mean', label: 2 },
  { name: 'chunks of 2 nodes', seed: 3, len: 9, rule: 'riemann', steps: 5, batch: 2, pooling: 'mean', label: 1 },
  { name: 'cls pooling', seed: 4, len: 7, rule: 'riemann', steps: 3, pooling: 'cls', label: 1 },
];

for (const c of CASES) {
  test(`residue IG matches the float64 reference: ${c.name}`, async () => {
    const tiny = tinyClassifier(c.seed, 2, 16, 3, c.pooling);
    const { model, head } = uploadTiny(tiny);
    try {
      const sequence = randomRecords(1, 3, c.seed, c.len, 1)[0]!.sequence;
      const tokens = encodeSequence(sequence);
      const got = await residueIg(model, head, tokens, c.label, { steps: c.steps, rule: c.rule, internalBatch: c.batch });
      const q = quadrature(c.rule, c.steps);
      const want = refResidueIg(tiny.config, tiny.params, refHead(tiny), tokens, c.label, q.alphas, q.weights);
      assert.is(got.attributions.length, c.len);
      assertClose(got.attributions, { shape: [c.len], data: want.attributions }, 2e-4, `attributions ${c.name}`);
      assert.ok(Math.abs(got.fx - want.fx) < 1e-5, `f(x) ${got.fx} vs ${want.fx}`);
      assert.ok(Math.abs(got.fb - want.fb) < 1e-5, `f(baseline) ${got.fb} vs ${want.fb}`);
      const sum = got.attributions.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(got.gap - (sum - (got.fx - got.fb))) < 1e-9, 'gap is sum - (fx - fb)');
    } finally {
      disposeTiny({ model, head });
    }
  });
}

test('residue IG completeness gap shrinks as m grows', async () => {
  const tiny = tinyClassifier(7, 2, 16, 3, 'mean');
  const { model, head } = uploadTiny(tiny);
  try {
    const tokens = encodeSequence(randomRecords(1, 3, 7, 11, 1)[0]!.sequence);
    const gaps: number[] = [];
    let progress = 0;
    for (const steps of [1, 4, 32, 256]) {
      const r = await residueIg(model, head, tokens, 0, { steps, rule: 'gauss-legendre', onProgress: () => { progress++; } });
      assert.ok(Math.abs(r.fx - r.fb) > 1e-3, `the path moves the probability (${r.fx} vs ${r.fb})`);
      gaps.push(Math.abs(r.gap));
    }
    assert.ok(progress >= 4, 'progress was reported');
    // LayerNorm makes the integrand steep near a zero embedding, so the gap falls slowly with m; the
    // tiny model is smooth enough that it is small by m = 256.
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! < gaps[i - 1]!, `gaps ${gaps.join(', ')}`);
    assert.ok(gaps[3]! < 1e-4, `gap at m=256: ${gaps[3]}`);
  } finally {
    disposeTiny({ model, head });
  }
});

test('residue IG rejects a class outside the head and an empty sequence', async () => {
  const tiny = tinyClassifier(8, 1, 16, 3, 'mean');
  const { model, head } = uploadTiny(tiny);
  try {
    await residueIg(model, head, encodeSequence('ACD'), 3, { steps: 2 }).then(() => assert.unreachable('class 3 of 3'), (e: Error) => assert.match(e.message, /class 3 outside \[0, 3\)/));
    await residueIg(model, head, new Int32Array([0, 2]), 0, { steps: 2 }).then(() => assert.unreachable('no residue'), (e: Error) => assert.match(e.message, /at least one residue/));
  } finally {
    disposeTiny({ model, head });
  }
});

test.run();
