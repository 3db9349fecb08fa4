/**
 * Checks of the fused families (softmax, layernorm, crossEntropy) that the case tables cannot
 * express: shape errors that name the shapes, an attention-sized masked softmax, exact zeros for
 * masked entries, stability at large magnitudes, the scalar loss end to end (default seed, item(),
 * default ignoreIndex, no submit before the read), a layernorm -> crossEntropy chain, and no leaked
 * intermediates.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward, noGrad, reshape, tapeLength, tensor, tidy, tidyAsync } from '../engine/index.js';
import { rt } from '../engine/context.js';
import { crossEntropy } from '../engine/ops/cross_entropy.js';
import { layernorm } from '../engine/ops/layernorm.js';
import type { TensorMeta } from '../engine/ops/op.js';
import { OPS } from '../engine/ops/registry.js';
import { softmax } from '../engine/ops/softmax.js';
import { type Arr, arr, map, randn } from '../engine/ref/array.js';
import { rng } from '../engine/random.js';
import { REF } from '../engine/ref/index.js';
import type { Tensor } from '../engine/tensor.js';
import { assertClose, f32Tolerance } from './lib/compare.js';
import { gpu } from './lib/gpu.js';

test.before(async () => {
  await gpu();
});

const f32 = (...shape: number[]): TensorMeta => ({ shape, dtype: 'f32' });
const i32 = (...shape: number[]): TensorMeta => ({ shape, dtype: 'i32' });
const CE = { ignoreIndex: -100, reduction: 'mean' } as const;

/** A leaf tensor from a reference array. */
function leaf(a: Arr, requiresGrad = true): Tensor {
  const t = tensor(a.data, a.shape, 'f32', 'leaf');
  t.requiresGrad = requiresGrad;
  return t;
}

test('shape errors name the op and the shapes (no GPU needed)', () => {
  const ln = OPS.layernorm;
  assert.throws(() => ln.infer([f32(2, 3, 4), f32(5), f32(4)], { eps: 1e-5 }), /^layernorm: gamma \[5\] does not match x \[2, 3, 4\] last axis 4$/);
  assert.throws(() => ln.infer([f32(2, 3, 4), f32(4), f32(4, 1)], { eps: 1e-5 }), /layernorm: beta \[4, 1\] does not match x \[2, 3, 4\] last axis 4/);
  assert.throws(() => ln.infer([f32(2, 0), f32(0), f32(0)], { eps: 1e-5 }), /layernorm: x \[2, 0\] has no last axis/);
  assert.throws(() => ln.infer([f32(2, 4), i32(4), f32(4)], { eps: 1e-5 }), /layernorm: input 1 must be f32, got i32/);

  const sm = OPS.softmax;
  assert.throws(() => sm.infer([f32(2, 3, 4), f32(2, 5)], {}), /softmax: mask \[2, 5\] must be \[B, N\] for x \[2, 3, 4\]/);
  assert.throws(() => sm.infer([f32(2, 3, 4), f32(3, 4)], {}), /softmax: mask \[3, 4\] must be \[B, N\] for x \[2, 3, 4\]/);
  assert.throws(() => sm.infer([f32(4), f32(1, 4)], {}), /softmax: mask \[1, 4\] must be \[B, N\] for x \[4\]/);

  const ce = OPS.crossEntropy;
  assert.throws(() => ce.infer([f32(2, 3, 4), i32(2)], CE), /crossEntropy: logits \[2, 3, 4\] must be \[N, C\]/);
  assert.throws(() => ce.infer([f32(4, 5), i32(3)], CE), /crossEntropy: labels \[3\] must be \[N\] = \[4\] \(logits \[4, 5\], labels \[3\]\)/);
  assert.throws(() => ce.infer([f32(4, 5), f32(4)], CE), /crossEntropy: input 1 must be i32, got f32/);
  assert.throws(() => ce.infer([f32(4, 5), i32(4), f32(4)], CE), /crossEntropy: weights \[4\] must be \[C\] = \[5\]/);
  assert.throws(() => ce.infer([f32(4, 5), i32(4)], { ignoreIndex: 1.5, reduction: 'mean' }), /ignoreIndex must be a 32-bit integer/);
  assert.equal(ce.infer([f32(4, 5), i32(4)], CE).shape, [], 'the loss is rank 0');
});

test('masked attention softmax [2, 4, 300, 300] matches the reference, forward and backward', async () => {
  const shape = [2, 4, 300, 300];
  const x = randn(shape, rng(5), 3);
  // Batch 0 keeps every key, batch 1 only its first 200 (key padding).
  const mask = arr([2, 300], Array.from({ length: 600 }, (_, i) => (i < 300 || i % 300 < 200 ? 1 : 0)));
  const dy = randn(shape, rng(6));
  const ref = REF.softmax;
  const tol = f32Tolerance(300);
  await tidyAsync(async () => {
    const xt = leaf(x);
    const y = softmax(xt, leaf(mask, false));
    assertClose(await y.f32(), ref.forward([x, mask], {}), tol, 'softmax forward');
    backward(y, tensor(dy.data, shape));
    assertClose(await xt.grad!.f32(), ref.vjp([x, mask], {}, dy)[0]!, 2 * tol, 'softmax backward');
  });
});

test('masked entries and fully masked rows are exactly 0 (never NaN), forward and backward', async () => {
  await tidyAsync(async () => {
    const x = leaf(randn([3, 2, 5, 70], rng(7)));
    const keep = [1, 0, 1]; // batch 1 fully masked
    const mask = tensor(Array.from({ length: 210 }, (_, i) => (keep[Math.floor(i / 70)]! && i % 7 !== 3 ? 1 : 0)), [3, 70]);
    const y = softmax(x, mask);
    backward(y, tensor(randn([3, 2, 5, 70], rng(8)).data, [3, 2, 5, 70]));
    const [yv, gv, mv] = [await y.f32(), await x.grad!.f32(), await mask.f32()];
    for (let i = 0; i < yv.length; i++) {
      const b = Math.floor(i / 700);
      if (mv[b * 70 + (i % 70)] === 0) {
        assert.is(yv[i], 0, `y[${i}] masked`);
        assert.is(gv[i], 0, `dx[${i}] masked`);
      }
      assert.ok(Number.isFinite(yv[i]) && Number.isFinite(gv[i]), `finite at ${i}`);
    }
  });
});

test('softmax and crossEntropy are stable for logits near 1e4', async () => {
  // Rounded to float32 first: at 1e4 the input's own rounding (ulp 1e-3) would dominate the comparison.
  const big = map(randn([6, 33], rng(9)), (v) => Math.fround(1e4 + 10 * v));
  const labels = arr([6], [0, 5, 32, 7, 7, 1]);
  await tidyAsync(async () => {
    assertClose(await softmax(leaf(big, false)).f32(), REF.softmax.forward([big], {}), f32Tolerance(33), 'softmax at 1e4');
    const loss = crossEntropy(leaf(big, false), tensor(labels.data, [6], 'i32'));
    const want = REF.crossEntropy.forward([big, labels], CE).data[0]!;
    const got = await loss.item();
    assert.ok(Math.abs(got - want) < 1e-3 * Math.max(1, Math.abs(want)), `loss ${got} vs ${want}`);
  });
});

test('crossEntropy end to end: rank-0 loss, default seed, item(), ignoreIndex -100, no submit before the read', async () => {
  const [n, c] = [37, 33];
  const logits = randn([n, c], rng(10), 2);
  const labels = arr([n], Array.from({ length: n }, (_, i) => (i % 4 === 0 ? -100 : (i * 7) % c)));
  const weights = map(randn([c], rng(11)), (v) => 1 + 0.5 * Math.abs(v));
  for (const [opts, inputs, name] of [
    [{}, [logits, labels], 'mean'],
    [{ reduction: 'sum' as const }, [logits, labels], 'sum'],
    [{ weights: true }, [logits, labels, weights], 'weighted mean'],
  ] as const) {
    const attrs = { ignoreIndex: -100, reduction: 'reduction' in opts ? opts.reduction : 'mean' } as const;
    const want = REF.crossEntropy.forward(inputs, attrs);
    const wantGrad = REF.crossEntropy.vjp(inputs, attrs, arr([], [1]))[0]!;
    await tidyAsync(async () => {
      await rt().sync();
      const submits = rt().submitCount;
      const x = leaf(logits);
      const y = tensor(labels.data, [n], 'i32');
      const w = 'weights' in opts ? tensor(weights.data, [c]) : undefined;
      const loss = crossEntropy(x, y, { ...opts, weights: w });
      assert.equal(loss.shape, [], `${name}: shape []`);
      backward(loss);
      assert.is(rt().submitCount, submits, `${name}: forward and backward stay on the GPU`);
      assertClose([await loss.item()], want, f32Tolerance(n), `${name} loss`);
      assertClose(await x.grad!.f32(), wantGrad, f32Tolerance(c), `${name} d_logits`);
      assert.is(tapeLength(), 0);
    });
  }
});

test('layernorm -> crossEntropy chain matches the composed reference gradients', async () => {
  const [n, d] = [1030, 40];
  const x = randn([n, d], rng(12));
  const gamma = map(randn([d], rng(13)), (v) => 1 + 0.3 * v);
  const beta = randn([d], rng(14), 0.3);
  const labels = arr([n], Array.from({ length: n }, (_, i) => (i % 9 === 0 ? -100 : (i * 13) % d)));
  const h = REF.layernorm.forward([x, gamma, beta], { eps: 1e-5 });
  const dh = REF.crossEntropy.vjp([h, labels], CE, arr([], [1]))[0]!;
  const [dx, dGamma, dBeta] = REF.layernorm.vjp([x, gamma, beta], { eps: 1e-5 }, dh);
  await tidyAsync(async () => {
    const [xt, gt, bt] = [leaf(x), leaf(gamma), leaf(beta)];
    const loss = crossEntropy(layernorm(xt, gt, bt), tensor(labels.data, [n], 'i32'));
    backward(loss);
    const tol = 2 * f32Tolerance(n);
    assertClose([await loss.item()], REF.crossEntropy.forward([h, labels], CE), tol, 'loss');
    assertClose(await xt.grad!.f32(), dx!, tol, 'd_x');
    assertClose(await gt.grad!.f32(), dGamma!, tol, 'd_gamma');
    assertClose(await bt.grad!.f32(), dBeta!, tol, 'd_beta');
  });
});

test('forward and backward release every intermediate (mean, rstd, lse, partial sums)', async () => {
  const run = () =>
    tidy(() => {
      const x = leaf(randn([5, 6, 33], rng(15)));
      const g = leaf(randn([33], rng(16)));
      const b = leaf(randn([33], rng(17)));
      const mask = tensor(Array.from({ length: 165 }, (_, i) => i % 5), [5, 33]);
      const h = softmax(layernorm(x, g, b), mask);
      const loss = crossEntropy(reshape(h, [30, 33]), tensor(Array.from({ length: 30 }, (_, i) => i % 33), [30], 'i32'));
      backward(loss);
      for (const t of [x, g, b]) t.grad!.dispose();
      noGrad(() => layernorm(x, g, b));
    });
  run();
  await rt().sync();
  const live = rt().pool.snapshot().liveBytes;
  run();
  await rt().sync();
  assert.is(rt().pool.snapshot().liveBytes, live);
  assert.is(tapeLength(), 0);
});

test.run();
