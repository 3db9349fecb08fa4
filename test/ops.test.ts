/**
 * Every GPU op, forward and backward under a random upstream gradient, against the float64
 * reference on random inputs (one line per case in test/cases/).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward, rt, sum, tensor, tidyAsync } from '../engine/index.js';
import { type OpName } from '../engine/ops/op.js';
import { apply } from '../engine/ops/op.js';
import { OPS } from '../engine/ops/registry.js';
import { forceColumnChunks } from '../engine/ops/reduce.js';
import { randn } from '../engine/ref/array.js';
import { rng } from '../engine/random.js';
import { REF } from '../engine/ref/index.js';
import type { RefOp } from '../engine/ref/op.js';
import { ALL_CASES } from './cases/index.js';
import { drawInputs, isIntInput } from './lib/case.js';
import { assertClose, f32Tolerance } from './lib/compare.js';
import { gpu } from './lib/gpu.js';

test.before(async () => {
  await gpu();
});

test('every op has at least one case', () => {
  const covered = new Set(ALL_CASES.map((c) => c.op));
  const missing = (Object.keys(OPS) as OpName[]).filter((k) => !covered.has(k));
  assert.equal(missing, [], `ops without cases: ${missing.join(', ')}`);
});

/** Runs one case (forward, and backward under a random upstream gradient) against float64. */
async function checkCase(c: (typeof ALL_CASES)[number]): Promise<void> {
  const ref = REF[c.op] as RefOp<unknown>;
  const def = OPS[c.op];
  const xs = drawInputs(c, 4321);
  const want = ref.forward(xs, c.attrs);
  const dyRef = randn(want.shape, rng(77));
  const wantGrads = ref.vjp(xs, c.attrs, dyRef);
  const tol = f32Tolerance(c.reduce);
  await tidyAsync(async () => {
    const inputs = xs.map((x, i) => {
      const t = tensor(x.data, x.shape, isIntInput(c, i) ? 'i32' : 'f32', `in${i}`);
      t.requiresGrad = !isIntInput(c, i) && !c.noGrad?.includes(i);
      return t;
    });
    const y = apply(def as never, inputs, c.attrs as never);
    assert.equal([...y.shape], [...want.shape], 'output shape');
    assertClose(await y.f32(), want, tol, `${c.op} ${c.name} forward`);
    if (!inputs.some((t) => t.requiresGrad)) return;
    backward(y, tensor(dyRef.data, dyRef.shape, 'f32', 'dy'));
    for (const [i, t] of inputs.entries()) {
      if (!t.requiresGrad) continue;
      assert.ok(t.grad, `input ${i} got a gradient`);
      assertClose(await t.grad!.f32(), wantGrads[i]!, tol * 2, `${c.op} ${c.name} d_input${i}`);
    }
  });
}

for (const c of ALL_CASES) test(`gpu = ref: ${c.op} ${c.name}`, () => checkCase(c));

for (const c of ALL_CASES.filter((k) => k.op === 'sum' || k.op === 'mean' || k.op === 'max')) {
  test(`gpu = ref, column reductions in row chunks: ${c.op} ${c.name}`, async () => {
    const was = forceColumnChunks('always');
    try {
      await checkCase(c);
    } finally {
      forceColumnChunks(was);
    }
  });
}

test('forced row chunks do run the chunked kernel (vec4 columns), and the device choice is restored', async () => {
  const key = 'reduce.wgsl:reduce_cols4_chunks';
  const before = rt().kernelCounts()[key] ?? 0;
  const was = forceColumnChunks('always');
  try {
    await tidyAsync(async () => {
      await sum(tensor(new Float32Array(300 * 8).fill(1), [300, 8]), 0).f32();
    });
  } finally {
    forceColumnChunks(was);
  }
  assert.is((rt().kernelCounts()[key] ?? 0) - before, 1);
  assert.is(forceColumnChunks(was), 'auto');
});

test.run();
