/**
 * The float64 reference's gradients against central finite differences, for every op case:
 * d/dx sum(dy * f(x)) by (f(x + h) - f(x - h)) / 2h, h = 1e-6.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Arr, map, randn } from '../engine/ref/array.js';
import { rng } from '../engine/random.js';
import { REF } from '../engine/ref/index.js';
import type { RefOp } from '../engine/ref/op.js';
import { ALL_CASES } from './cases/index.js';
import { drawInputs, isIntInput } from './lib/case.js';

function dot(a: Arr, b: Arr): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i]! * b.data[i]!;
  return s;
}

for (const c of ALL_CASES) {
  if (c.noFiniteDiff) continue;
  test(`ref vjp = finite differences: ${c.op} ${c.name}`, () => {
    const ref = REF[c.op] as RefOp<unknown>;
    const xs = drawInputs(c, 1234);
    const y = ref.forward(xs, c.attrs);
    const dy = randn(y.shape, rng(99));
    const grads = ref.vjp(xs, c.attrs, dy);
    const h = 1e-6;
    xs.forEach((x, i) => {
      if (isIntInput(c, i) || c.noGrad?.includes(i)) return;
      const g = grads[i];
      assert.ok(g, `input ${i} has a gradient`);
      // Check up to 40 coordinates spread over the tensor.
      const step = Math.max(1, Math.floor(x.data.length / 40));
      for (let k = 0; k < x.data.length; k += step) {
        const plus = xs.map((t, j) => (j === i ? map(t, (v, q) => (q === k ? v + h : v)) : t));
        const minus = xs.map((t, j) => (j === i ? map(t, (v, q) => (q === k ? v - h : v)) : t));
        const fd = (dot(ref.forward(plus, c.attrs), dy) - dot(ref.forward(minus, c.attrs), dy)) / (2 * h);
        const an = g!.data[k]!;
        const err = Math.abs(fd - an) / (1 + Math.abs(fd));
        assert.ok(err < 1e-6, `input ${i} element ${k}: analytic ${an}, finite difference ${fd}`);
      }
    });
  });
}

test.run();
