/**
 * Matmul beyond the case table: shape errors name both shapes before any GPU work, larger random
 * products in every transpose combination (forward and backward), batch broadcasting, `linear` against
 * PyTorch's layout, the portable kernel (forced), fused GELU and residual epilogues, and one pipeline per
 * kernel variant whatever the shape.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward, rt, tensor, tidyAsync } from '../engine/index.js';
import { forcePortableMatmul, fusedLinear, linear, matmul, planMatmul } from '../engine/ops/matmul.js';
import { elementwiseRef } from '../engine/ref/elementwise.js';
import { ShapeError } from '../engine/ops/op.js';
import { type Arr, randn } from '../engine/ref/array.js';
import { rng } from '../engine/random.js';
import { matmulRef } from '../engine/ref/matmul.js';
import { assertClose, f32Tolerance } from './lib/compare.js';
import { gpu } from './lib/gpu.js';

test.before(async () => {
  await gpu();
});

const NN = { transA: false, transB: false };

test('inner-dim mismatch names both shapes', () => {
  assert.throws(() => planMatmul([2, 3], [4, 5], NN), (e: Error) => e instanceof ShapeError && e.message === 'matmul: a [2, 3] and b [4, 5]: inner dims 3 and 4 differ');
  assert.throws(() => planMatmul([3, 2], [4, 5], { transA: true, transB: false }), /a \[3, 2\] and b \[4, 5\]: inner dims 3 and 4 differ/);
  assert.throws(() => planMatmul([2, 3], [5, 4], { transA: false, transB: true }), /inner dims 3 and 4 differ/);
});

test('rank and batch errors name both shapes', () => {
  assert.throws(() => planMatmul([3], [3, 4], NN), /a \[3\] and b \[3, 4\]: both need at least 2 dims/);
  assert.throws(() => planMatmul([2, 5, 3], [4, 3, 6], NN), /a \[2, 5, 3\] and b \[4, 3, 6\]: batch dims \[2\] and \[4\] do not broadcast/);
});

test('bias must be (N): checked before the GPU is touched', async () => {
  await tidyAsync(async () => {
    const a = tensor(new Float32Array(6), [2, 3]); // (M, K)
    const b = tensor(new Float32Array(12), [3, 4]); // (K, N)
    const before = rt().kernelCounts();
    assert.throws(() => matmul(a, b, { bias: tensor(new Float32Array(3), [3]) }), /bias \[3\] must be \[4\] for a \[2, 3\] and b \[3, 4\]/);
    assert.equal(rt().kernelCounts(), before, 'no kernel was recorded');
  });
});

test('output shapes: fold, batch broadcast, transposes', () => {
  assert.equal(planMatmul([2, 7, 33], [17, 33], { transA: false, transB: true }).out, [2, 7, 17]);
  assert.ok(planMatmul([2, 7, 33], [33, 17], NN).foldA, 'a linear layer runs as one (B L, D) matrix');
  assert.equal(planMatmul([2, 1, 5, 17], [3, 17, 7], NN).out, [2, 3, 5, 7]);
  assert.equal(planMatmul([17, 5], [4, 17, 9], { transA: true, transB: false }).out, [4, 5, 9]);
});

/** Runs matmul on the GPU and checks y and both gradients (and the bias's) against float64. */
async function checkProduct(shapes: number[][], attrs: { transA: boolean; transB: boolean }, seed: number): Promise<void> {
  const r = rng(seed);
  const xs: Arr[] = shapes.map((s) => randn(s, r));
  const want = matmulRef.matmul.forward(xs, attrs);
  const dyRef = randn(want.shape, r);
  const grads = matmulRef.matmul.vjp(xs, attrs, dyRef);
  const plan = planMatmul(shapes[0]!, shapes[1]!, attrs);
  const tol = f32Tolerance(Math.max(plan.k, plan.n, plan.m * plan.batch.reduce((p, d) => p * d, 1)));
  await tidyAsync(async () => {
    // a (..., M, K) or (..., K, M); b (..., K, N) or (..., N, K); bias (N) when given.
    const ts = xs.map((x, i) => {
      const t = tensor(x.data, x.shape, 'f32', `in${i}`);
      t.requiresGrad = true;
      return t;
    });
    const y = matmul(ts[0]!, ts[1]!, { ...attrs, bias: ts[2] }); // (..., M, N)
    assertClose(await y.f32(), want, tol, `y ${JSON.stringify(shapes)}`);
    backward(y, tensor(dyRef.data, dyRef.shape, 'f32', 'dy'));
    for (const [i, t] of ts.entries()) assertClose(await t.grad!.f32(), grads[i]!, 2 * tol, `d_input${i} ${JSON.stringify(shapes)}`);
  });
}

test('300x200 . 200x150 with bias, forward and backward', async () => {
  await checkProduct([[300, 200], [200, 150], [150]], NN, 1);
});

test('every transpose combination at 70x130x90', async () => {
  await checkProduct([[70, 130], [130, 90]], { transA: false, transB: false }, 2);
  await checkProduct([[130, 70], [130, 90]], { transA: true, transB: false }, 3);
  await checkProduct([[70, 130], [90, 130]], { transA: false, transB: true }, 4);
  await checkProduct([[130, 70], [90, 130]], { transA: true, transB: true }, 5);
});

test('vec4 load paths (contiguous dims multiples of 4), K not a multiple of 4, edge tiles', async () => {
  await checkProduct([[36, 44], [44, 52]], { transA: false, transB: false }, 10);
  await checkProduct([[45, 36], [45, 52]], { transA: true, transB: false }, 11);
  await checkProduct([[36, 44], [52, 44]], { transA: false, transB: true }, 12);
  await checkProduct([[44, 36], [52, 44]], { transA: true, transB: true }, 13);
  await checkProduct([[2, 36, 45], [45, 52], [52]], { transA: false, transB: false }, 14);
});

test('N a multiple of 2048 (row tiles walked first)', async () => {
  await checkProduct([[40, 6], [6, 2048], [2048]], { transA: false, transB: false }, 15);
});

test('batch broadcasting: size-1 batch dims, missing batch dims, both operands', async () => {
  await checkProduct([[2, 1, 37, 20], [1, 3, 20, 41]], NN, 6);
  await checkProduct([[37, 20], [4, 20, 41]], NN, 7);
  await checkProduct([[3, 20, 37], [20, 41]], { transA: true, transB: false }, 8);
  await checkProduct([[2, 3, 45, 16], [2, 3, 45, 16]], { transA: false, transB: true }, 9);
});

test('the portable kernel (devices without subgroups): transposes, bias, batches, edge tiles', async () => {
  const was = forcePortableMatmul(true);
  try {
    await checkProduct([[70, 130], [130, 90], [90]], { transA: false, transB: false }, 20);
    await checkProduct([[130, 70], [130, 90]], { transA: true, transB: false }, 21);
    await checkProduct([[36, 44], [52, 44], [52]], { transA: false, transB: true }, 22);
    await checkProduct([[45, 33], [17, 45]], { transA: true, transB: true }, 23);
    await checkProduct([[2, 1, 37, 20], [1, 3, 20, 41]], NN, 24);
    await checkProduct([[40, 6], [6, 2048], [2048]], NN, 25);
  } finally {
    forcePortableMatmul(was);
  }
});

/** fusedLinear against float64 (linear, then GELU or + residual), on the current kernel path. */
async function checkFused(seed: number): Promise<void> {
  const r = rng(seed);
  const [x, w, bias, res] = [randn([2, 37, 45], r), randn([53, 45], r), randn([53], r), randn([2, 37, 53], r)];
  const lin = matmulRef.matmul.forward([x, w, bias], { transA: false, transB: true }); // (2, 37, 53)
  const gelu = elementwiseRef.gelu.forward([lin], { alpha: 0, beta: 0 });
  const plusRes = elementwiseRef.add.forward([lin, res], {});
  await tidyAsync(async () => {
    const [tx, tw, tb, tr] = [x, w, bias, res].map((a) => tensor(a.data, a.shape));
    const tol = f32Tolerance(45);
    assertClose(await fusedLinear(tx!, tw!, tb!, { gelu: true }).f32(), gelu, tol, 'linear + gelu');
    assertClose(await fusedLinear(tx!, tw!, tb!, { residual: tr! }).f32(), plusRes, tol, 'linear + residual');
  });
}

test('fusedLinear: GELU and residual epilogues, on both kernels; refuses to run under autograd', async () => {
  await checkFused(30);
  const was = forcePortableMatmul(true);
  try {
    await checkFused(31);
  } finally {
    forcePortableMatmul(was);
  }
  await tidyAsync(async () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    const w = tensor(new Float32Array(12), [4, 3]);
    w.requiresGrad = true;
    assert.throws(() => fusedLinear(x, w, tensor(new Float32Array(4), [4]), { gelu: true }), /inference only/);
    assert.throws(() => fusedLinear(x, w, tensor(new Float32Array(4), [4]), { residual: tensor(new Float32Array(4), [1, 4]) }), /inference only/);
  });
});

test('linear uses PyTorch layout: x (B, L, in) . weight (out, in)^T + bias (out)', async () => {
  await tidyAsync(async () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [1, 2, 3]); // (B, L, in)
    const w = tensor([1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 2], [4, 3]); // (out, in)
    const bias = tensor([0.5, 0, 0, -1], [4]); // (out)
    const y = linear(x, w, bias); // (B, L, out)
    assert.equal([...y.shape], [1, 2, 4]);
    assert.equal([...(await y.f32())], [1.5, 2, 6, 5, 4.5, 5, 15, 11]);
  });
});

test('one pipeline per kernel variant, whatever the shape', async () => {
  await tidyAsync(async () => {
    // (M, K) . (K, N) with M > 24 (32-row tiles) and K, N not multiples of 4 (scalar loads): one variant.
    const run = (m: number, k: number, n: number) => matmul(tensor(new Float32Array(m * k), [m, k]), tensor(new Float32Array(k * n), [k, n]));
    run(40, 9, 3);
    const before = rt().pipelineCount;
    for (const [m, k, n] of [[33, 5, 7], [101, 13, 1], [257, 3, 70]]) run(m!, k!, n!);
    await rt().sync();
    assert.is(rt().pipelineCount, before, 'new shapes with the same tile reuse the pipeline');
  });
});

test.run();
