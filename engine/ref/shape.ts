/** Float64 reference for shape ops (engine/ops/shape.ts). */
import { type ConcatAttrs, type PermuteAttrs, type ReshapeAttrs, type SliceAttrs, resolveShape } from '../ops/shape.js';
import { type Arr, arr, ravel, unravel } from './array.js';
import type { RefOp } from './op.js';

const reshape: RefOp<ReshapeAttrs> = {
  forward: ([x], a) => arr(resolveShape('reshape', x!.shape, a.shape), x!.data),
  vjp: ([x], _a, dy) => [arr(x!.shape, dy.data)],
};

function permuteArr(x: Arr, perm: readonly number[]): Arr {
  const out = arr(perm.map((p) => x.shape[p]!));
  for (let i = 0; i < out.data.length; i++) {
    const o = unravel(i, out.shape);
    const src = new Array<number>(perm.length);
    perm.forEach((p, k) => (src[p] = o[k]!));
    out.data[i] = x.data[ravel(src, x.shape)]!;
  }
  return out;
}

const permute: RefOp<PermuteAttrs> = {
  forward: ([x], a) => permuteArr(x!, a.perm),
  vjp([_x], a, dy) {
    const inv = new Array<number>(a.perm.length);
    a.perm.forEach((p, i) => (inv[p] = i));
    return [permuteArr(dy, inv)];
  },
};

const slice: RefOp<SliceAttrs> = {
  forward([x], a) {
    const out = arr(a.sizes);
    for (let i = 0; i < out.data.length; i++) {
      const idx = unravel(i, a.sizes).map((v, k) => v + a.starts[k]!);
      out.data[i] = x!.data[ravel(idx, x!.shape)]!;
    }
    return out;
  },
  vjp([x], a, dy) {
    const dx = arr(x!.shape);
    for (let i = 0; i < dy.data.length; i++) {
      const idx = unravel(i, a.sizes).map((v, k) => v + a.starts[k]!);
      dx.data[ravel(idx, x!.shape)] = dy.data[i]!;
    }
    return [dx];
  },
};

const concat: RefOp<ConcatAttrs> = {
  forward(xs, a) {
    const total = xs.reduce((n, x) => n + x.shape[a.axis]!, 0);
    const out = arr(xs[0]!.shape.map((d, i) => (i === a.axis ? total : d)));
    let start = 0;
    for (const x of xs) {
      for (let i = 0; i < x.data.length; i++) {
        const idx = unravel(i, x.shape);
        idx[a.axis]! += start;
        out.data[ravel(idx, out.shape)] = x.data[i]!;
      }
      start += x.shape[a.axis]!;
    }
    return out;
  },
  vjp(xs, a, dy) {
    let start = 0;
    return xs.map((x) => {
      const dx = arr(x.shape);
      for (let i = 0; i < dx.data.length; i++) {
        const idx = unravel(i, x.shape);
        idx[a.axis]! += start;
        dx.data[i] = dy.data[ravel(idx, dy.shape)]!;
      }
      start += x.shape[a.axis]!;
      return dx;
    });
  },
};

export const shapeRef = { reshape, permute, slice, concat };
