/**
 * Float64 reference for gather (engine/ops/gather.ts). Indices arrive as float64 values; out-of-range
 * ones (negative or >= V) read a zero row and receive no gradient, as on the GPU.
 */
import { arr } from './array.js';
import type { RefOp } from './op.js';

const gather: RefOp<Record<string, never>> = {
  forward([table, indices]) {
    const [v, d] = table!.shape as [number, number];
    const out = arr([...indices!.shape, d]);
    indices!.data.forEach((row, n) => {
      if (row < 0 || row >= v) return;
      for (let k = 0; k < d; k++) out.data[n * d + k] = table!.data[row * d + k]!;
    });
    return out;
  },
  vjp([table, indices], _a, dy) {
    const [v, d] = table!.shape as [number, number];
    const dTable = arr([v, d]);
    indices!.data.forEach((row, n) => {
      if (row < 0 || row >= v) return;
      for (let k = 0; k < d; k++) dTable.data[row * d + k] += dy.data[n * d + k]!;
    });
    return [dTable, null];
  },
};

/** Reference entry (ref/index.ts). */
export const gatherRef = { gather };
