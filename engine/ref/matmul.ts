/** Float64 reference for matmul (engine/ops/matmul.ts): plain triple loops over broadcast batches. */
import type { MatmulAttrs } from '../ops/matmul.js';
import { type Arr, arr, numel, ravel, unravel } from './array.js';
import { broadcast } from './elementwise.js';
import type { RefOp } from './op.js';

/** Sizes of one product and, per output batch, the flat offsets of the a and b matrices. */
interface Layout {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly outShape: number[];
  readonly aOff: number[];
  readonly bOff: number[];
}

function layout(a: Arr, b: Arr, t: MatmulAttrs): Layout {
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const [m, k] = t.transA ? [a1, a0] : [a0, a1];
  const n = t.transB ? b0 : b1;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = broadcast(aBatch, bBatch);
  // Flat batch index of an operand for output batch multi-index idx (size-1 and missing dims repeat).
  const batchIndex = (idx: number[], own: readonly number[]) => {
    const off = idx.length - own.length;
    return ravel(own.map((d, i) => (d === 1 ? 0 : idx[i + off]!)), own);
  };
  const aOff: number[] = [];
  const bOff: number[] = [];
  for (let i = 0; i < numel(batch); i++) {
    const idx = unravel(i, batch);
    aOff.push(batchIndex(idx, aBatch) * m * k);
    bOff.push(batchIndex(idx, bBatch) * k * n);
  }
  return { m, n, k, outShape: [...batch, m, n], aOff, bOff };
}

/** Flat index of op(a)[i][p] and op(b)[p][j] inside one matrix. */
const aIdx = (t: MatmulAttrs, l: Layout, i: number, p: number) => (t.transA ? p * l.m + i : i * l.k + p);
const bIdx = (t: MatmulAttrs, l: Layout, p: number, j: number) => (t.transB ? j * l.k + p : p * l.n + j);

export const matmulRef: { matmul: RefOp<MatmulAttrs> } = {
  matmul: {
    forward([a, b, bias], t) {
      const l = layout(a!, b!, t);
      const y = arr(l.outShape);
      l.aOff.forEach((ao, q) => {
        const bo = l.bOff[q]!;
        for (let i = 0; i < l.m; i++) {
          for (let j = 0; j < l.n; j++) {
            let s = bias ? bias.data[j]! : 0;
            for (let p = 0; p < l.k; p++) s += a!.data[ao + aIdx(t, l, i, p)]! * b!.data[bo + bIdx(t, l, p, j)]!;
            y.data[(q * l.m + i) * l.n + j] = s;
          }
        }
      });
      return y;
    },
    vjp([a, b, bias], t, dy) {
      const l = layout(a!, b!, t);
      const da = arr(a!.shape);
      const db = arr(b!.shape);
      const dbias = bias ? arr(bias.shape) : null;
      l.aOff.forEach((ao, q) => {
        const bo = l.bOff[q]!;
        for (let i = 0; i < l.m; i++) {
          for (let j = 0; j < l.n; j++) {
            const g = dy.data[(q * l.m + i) * l.n + j]!;
            if (dbias) dbias.data[j] += g;
            for (let p = 0; p < l.k; p++) {
              da.data[ao + aIdx(t, l, i, p)] += g * b!.data[bo + bIdx(t, l, p, j)]!;
              db.data[bo + bIdx(t, l, p, j)] += g * a!.data[ao + aIdx(t, l, i, p)]!;
            }
          }
        }
      });
      return bias ? [da, db, dbias] : [da, db];
    },
  },
};
