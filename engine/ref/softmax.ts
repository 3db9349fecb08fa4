/** Float64 reference for softmax over the last axis with an optional key mask (engine/ops/softmax.ts). */
import type { SoftmaxAttrs } from '../ops/softmax.js';
import { type Arr, arr } from './array.js';
import type { RefOp } from './op.js';

/** y = softmax(x) per row of the last axis; masked entries (mask 0) and fully masked rows give 0. */
function forward(x: Arr, mask: Arr | undefined): Arr {
  const n = x.shape[x.shape.length - 1] ?? 1;
  const rows = n ? x.data.length / n : 0;
  const rowsPerBatch = mask ? rows / x.shape[0]! : rows;
  const y = arr(x.shape);
  for (let r = 0; r < rows; r++) {
    const b = Math.floor(r / rowsPerBatch);
    const keep = (j: number) => !mask || mask.data[b * n + j] !== 0;
    let m = -Infinity;
    for (let j = 0; j < n; j++) if (keep(j)) m = Math.max(m, x.data[r * n + j]!);
    let s = 0;
    for (let j = 0; j < n; j++) {
      const e = keep(j) ? Math.exp(x.data[r * n + j]! - m) : 0;
      y.data[r * n + j] = e;
      s += e;
    }
    for (let j = 0; j < n; j++) y.data[r * n + j] = s > 0 ? y.data[r * n + j]! / s : 0;
  }
  return y;
}

const softmax: RefOp<SoftmaxAttrs> = {
  forward: ([x, mask]) => forward(x!, mask),
  vjp([x, mask], _a, dy) {
    // dx = y * (dy - sum(dy * y)) per row; masked entries have y = 0 and so get 0.
    const y = forward(x!, mask);
    const n = x!.shape[x!.shape.length - 1] ?? 1;
    const dx = arr(x!.shape);
    for (let r = 0; n && r < y.data.length / n; r++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += dy.data[r * n + j]! * y.data[r * n + j]!;
      for (let j = 0; j < n; j++) dx.data[r * n + j] = y.data[r * n + j]! * (dy.data[r * n + j]! - dot);
    }
    return mask ? [dx, null] : [dx];
  },
};

/** Reference entry (ref/index.ts). */
export const softmaxRef = { softmax };
