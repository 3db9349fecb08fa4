/**
 * Integrated gradients on the GPU: the ig.wgsl kernels against their float64 references (one line per
 * case), the fused IG of every (module, layer) against a float64 IG computed on the reference model by
 * central differences on each neuron's scale, fused against naive, chunking, completeness convergence.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tensor, tidyAsync } from '../engine/index.js';
import { gaussian, rng } from '../engine/random.js';
import { refIgAccumulate, refIgScale, refNeuronSum } from '../engine/ref/ig.js';
import { NEURON_MODULES } from '../model/esm.js';
import { type NodeChunk, igAccumulate, igScale, neuronSum } from '../engine/ops/ig.js';
import { igScores } from '../kn/ig_scores.js';
import { neuronOffset } from '../kn/layout.js';
import { type QuadratureRule, quadrature } from '../kn/quadrature.js';
import { refIntegratedGradients } from '../kn/ref/ig.js';
import { type NeuronScores, summariseCompleteness } from '../kn/scores.js';
import { exampleTokens } from '../kn/examples.js';
import { assertClose } from './lib/compare.js';
import { gpu } from './lib/gpu.js';
import { disposeTiny, randomRecords, refHead, tinyClassifier, uploadTiny } from './lib/kn_fixtures.js';

test.before(async () => {
  await gpu();
});

const randn = (n: number, seed: number): Float32Array => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => gaussian(r));
};

// M rows from node0 of a K-node table, L positions, W neurons, scaled positions [lo, hi).
// W = 300 and 700 take ig_scale4 (W a multiple of 4); W = 1 and 7 the one-neuron-per-invocation kernel.
const KERNEL_CASES: readonly { name: string; M: number; L: number; W: number; node0: number; K: number; lo: number; hi: number }[] = [
  { name: 'one of everything', M: 1, L: 1, W: 1, node0: 0, K: 1, lo: 0, hi: 1 },
  { name: 'all positions', M: 3, L: 5, W: 7, node0: 0, K: 4, lo: 0, hi: 5 },
  { name: 'residues only, later chunk', M: 2, L: 9, W: 300, node0: 2, K: 5, lo: 1, hi: 8 },
  { name: 'W over one workgroup', M: 4, L: 3, W: 700, node0: 1, K: 6, lo: 0, hi: 3 },
];

for (const c of KERNEL_CASES) {
  test(`ig kernels: ${c.name}`, async () => {
    await tidyAsync(async () => {
      const a = randn(c.L * c.W, 1);
      const base = randn(c.W, 2);
      const table = Float32Array.from({ length: c.K * 2 }, (_, i) => (i % 2 ? 0.1 + i / 10 : i / (2 * c.K)));
      const g = randn(c.M * c.L * c.W, 3);
      const chunk: NodeChunk = { node0: c.node0, m: c.M };
      const pos = { lo: c.lo, hi: c.hi };
      const at = tensor(a, [1, c.L, c.W]);
      const bt = tensor(base, [c.W]);
      const nt = tensor(table, [c.K, 2]);
      const x = igScale(at, bt, nt, chunk, pos);
      assertClose(await x.f32(), { shape: [c.M, c.L, c.W], data: refIgScale(a, base, table, c.node0, c.M, c.L, c.W, pos) }, 1e-6, 'ig_scale');
      const R = 2;
      const score0 = randn(R * (c.W + 3), 4);
      const score = tensor(score0, [R, c.W + 3]);
      const ex = tensor(new Float32Array(c.W), [c.W]);
      igAccumulate(tensor(g, [c.M, c.L, c.W]), at, bt, nt, chunk, pos, { score, offset: c.W + 5, ex, reset: true });
      const want = refIgAccumulate(g, a, base, table, c.node0, c.M, c.L, c.W, pos);
      const wantScore = Float64Array.from(score0);
      want.forEach((v, w) => (wantScore[c.W + 5 + w]! += v));
      assertClose(await score.f32(), { shape: [R, c.W + 3], data: wantScore }, 1e-5, 'ig_accumulate score');
      assertClose(await ex.f32(), { shape: [c.W], data: want }, 1e-5, 'ig_accumulate ex');
      // neuron_sum: a batch of M sequences into rows (1, 0, 1, ...) of the same block, |x| and x.
      const pw = randn(c.M * c.L, 5);
      const rows = Int32Array.from({ length: c.M }, (_, b) => (b + 1) % R);
      for (const abs of [false, true]) {
        const s = tensor(score0, [R, c.W + 3]);
        neuronSum(tensor(g, [c.M, c.L, c.W]), tensor(pw, [c.M, c.L]), tensor(rows, [c.M], 'i32'), s, 3, abs);
        assertClose(await s.f32(), { shape: [R, c.W + 3], data: refNeuronSum(score0, g, pw, rows, c.M, c.L, c.W, c.W + 3, 3, abs) }, 1e-5, `neuron_sum abs=${abs}`);
      }
    });
  });
}

const tiny = tinyClassifier(3);
const record = randomRecords(1, 3, 7, 8, 1)[0]!; // 8 residues, L = 10, class 0
const names = ['a', 'b', 'c'];

async function gpuIg(rule: QuadratureRule, steps: number, extra: Partial<Parameters<typeof igScores>[4]> = {}): Promise<NeuronScores> {
  const { model, head } = uploadTiny(tiny);
  try {
    return await igScores(model, head, [record], names, { steps, rule, maxLength: 100, ...extra });
  } finally {
    disposeTiny({ model, head });
  }
}

/** One (module, layer)'s attributions of example 0. */
function slice(s: NeuronScores, module: (typeof NEURON_MODULES)[number], layer: number): Float32Array {
  const start = neuronOffset(s.layout, module, layer);
  return s.values.subarray(start, start + s.layout.widths[module]);
}

test('fused IG of every (module, layer) matches a float64 central-difference IG on the reference model', async () => {
  for (const rule of ['riemann', 'gauss-legendre'] as const) {
    const q = quadrature(rule, 3);
    const got = await gpuIg(rule, 3);
    const tokens = exampleTokens(record, 100);
    for (const module of NEURON_MODULES) {
      for (let layer = 0; layer < tiny.config.numLayers; layer++) {
        const want = refIntegratedGradients(tiny.config, tiny.params, refHead(tiny), tokens, { layer, module, label: record.label, alphas: q.alphas, weights: q.weights });
        assertClose(slice(got, module, layer), { shape: [want.attributions.length], data: want.attributions }, 2e-4, `${rule} ${module} layer ${layer}`);
        const p = (NEURON_MODULES.indexOf(module) * tiny.config.numLayers + layer) * 3;
        assert.ok(Math.abs(got.completeness![p + 1]! - want.fx) < 1e-5, `f(x) ${got.completeness![p + 1]} vs ${want.fx}`);
        assert.ok(Math.abs(got.completeness![p + 2]! - want.fb) < 1e-5, `f(b) ${got.completeness![p + 2]} vs ${want.fb}`);
        const sum = want.attributions.reduce((x, y) => x + y, 0);
        assert.ok(Math.abs(got.completeness![p]! - sum) < 1e-4 * (1 + Math.abs(sum)), `sum of attributions ${got.completeness![p]} vs ${sum}`);
      }
    }
  }
});

test('mean baseline and residue-only positions match the reference too', async () => {
  const q = quadrature('gauss-legendre', 2);
  const { layout } = await gpuIg('gauss-legendre', 1, { modules: ['key'] });
  const base = Float64Array.from(randn(layout.total, 9));
  const got = await gpuIg('gauss-legendre', 2, { baseline: base, positions: 'residues', modules: ['key', 'ffn_in'] });
  const tokens = exampleTokens(record, 100);
  for (const module of ['key', 'ffn_in'] as const) {
    const start = neuronOffset(layout, module, 1);
    const want = refIntegratedGradients(tiny.config, tiny.params, refHead(tiny), tokens, {
      layer: 1, module, label: record.label, alphas: q.alphas, weights: q.weights,
      baseline: base.subarray(start, start + layout.widths[module]), positions: { lo: 1, hi: tokens.length - 1 },
    });
    assertClose(slice(got, module, 1), { shape: [want.attributions.length], data: want.attributions }, 2e-4, `${module} mean baseline, residues`);
  }
  assert.is(slice(got, 'query', 0).every((v) => v === 0), true, 'modules not asked for stay 0');
});

test('fused equals naive (m full passes), and chunked steps equal one batch', async () => {
  const fused = await gpuIg('riemann', 5);
  const naive = await gpuIg('riemann', 5, { path: 'naive' });
  const chunked = await gpuIg('riemann', 5, { internalBatch: 2 });
  const scale = Math.max(...fused.values.map(Math.abs));
  for (let i = 0; i < fused.values.length; i++) {
    assert.ok(Math.abs(fused.values[i]! - naive.values[i]!) <= 1e-5 * scale, `neuron ${i}: fused ${fused.values[i]} naive ${naive.values[i]}`);
    assert.ok(Math.abs(fused.values[i]! - chunked.values[i]!) <= 1e-5 * scale, `neuron ${i}: one batch ${fused.values[i]} chunked ${chunked.values[i]}`);
  }
  assert.equal(fused.meta.path, 'fused');
  assert.equal(naive.meta.path, 'naive');
});

test('onPair reports every (module, layer) pair of the example in order; one call for all modules equals one per module', async () => {
  const seen: [number, number][] = [];
  const all = await gpuIg('riemann', 4, { completeness: false, onPair: async (d, t) => void seen.push([d, t]) });
  const P = NEURON_MODULES.length * all.layout.numLayers;
  assert.equal(seen, Array.from({ length: P }, (_, i) => [i + 1, P]));
  for (const module of NEURON_MODULES) {
    const one = await gpuIg('riemann', 4, { completeness: false, modules: [module] });
    for (let layer = 0; layer < all.layout.numLayers; layer++) assert.equal([...slice(one, module, layer)], [...slice(all, module, layer)], `${module} layer ${layer}`);
  }
});

test('the completeness gap shrinks as m grows (Riemann), and Gauss-Legendre converges faster', async () => {
  const gap = async (rule: QuadratureRule, m: number) => summariseCompleteness(await gpuIg(rule, m))!.meanAbsGap;
  const steps = [1, 2, 4, 8, 16, 32];
  const riemann: number[] = [];
  for (const m of steps) riemann.push(await gap('riemann', m));
  const gl = [await gap('gauss-legendre', 4), await gap('gauss-legendre', 8)];
  const shown = `Riemann m=${steps.join(',')}: ${riemann.map((g) => g.toExponential(2))}; Gauss-Legendre m=4,8: ${gl.map((g) => g.toExponential(2))}`;
  for (let i = 1; i < riemann.length; i++) assert.ok(riemann[i]! < riemann[i - 1]!, shown);
  // The midpoint rule's error is O(1/m^2): doubling m divides the gap by about 4 once m is large enough.
  assert.ok(riemann[5]! < riemann[4]! / 3, shown);
  assert.ok(gl[0]! < riemann[2]!, `same m: ${shown}`);
  assert.ok(gl[1]! < riemann[5]!, `8 Gauss-Legendre nodes beat 32 Riemann steps: ${shown}`);
});

test.run();
