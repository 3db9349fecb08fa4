/** Float64 reference for reductions (engine/ops/reduce.ts). */
import type { ReduceAttrs } from '../ops/reduce.js';
import { arr, numel, ravel, unravel } from './array.js';
import type { RefOp } from './op.js';

/** Output index (in the kept-dims shape) of input multi-index idx. */
function keptIndex(idx: readonly number[], shape: readonly number[], axes: readonly number[]): number {
  return ravel(idx.map((v, k) => (axes.includes(k) ? 0 : v)), shape.map((d, k) => (axes.includes(k) ? 1 : d)));
}

function outShape(shape: readonly number[], a: ReduceAttrs): number[] {
  return a.keepDims ? shape.map((d, i) => (a.axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !a.axes.includes(i));
}

function reduce(kind: 'sum' | 'mean' | 'max'): RefOp<ReduceAttrs> {
  return {
    forward([x], a) {
      const out = arr(outShape(x!.shape, a));
      const count = a.axes.reduce((n, ax) => n * x!.shape[ax]!, 1);
      if (kind === 'max') out.data.fill(-Infinity);
      for (let i = 0; i < numel(x!.shape); i++) {
        const o = keptIndex(unravel(i, x!.shape), x!.shape, a.axes);
        const v = x!.data[i]!;
        out.data[o] = kind === 'max' ? Math.max(out.data[o]!, v) : out.data[o]! + v;
      }
      if (kind === 'mean') for (let o = 0; o < out.data.length; o++) out.data[o]! /= count;
      return out;
    },
    vjp([x], a, dy) {
      const dx = arr(x!.shape);
      const count = a.axes.reduce((n, ax) => n * x!.shape[ax]!, 1);
      const y = kind === 'max' ? this.forward([x!], a) : null;
      const ties = new Float64Array(dy.data.length);
      const outIdx = (i: number) => keptIndex(unravel(i, x!.shape), x!.shape, a.axes);
      if (y) for (let i = 0; i < dx.data.length; i++) if (x!.data[i] === y.data[outIdx(i)]) ties[outIdx(i)]! += 1;
      for (let i = 0; i < dx.data.length; i++) {
        const o = outIdx(i);
        if (kind === 'sum') dx.data[i] = dy.data[o]!;
        else if (kind === 'mean') dx.data[i] = dy.data[o]! / count;
        else dx.data[i] = x!.data[i] === y!.data[o] ? dy.data[o]! / ties[o]! : 0;
      }
      return [dx];
    },
  };
}

export const reduceRef = { sum: reduce('sum'), mean: reduce('mean'), max: reduce('max') };
