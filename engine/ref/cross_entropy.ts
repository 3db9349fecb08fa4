/** Float64 reference for cross-entropy with PyTorch semantics (engine/ops/cross_entropy.ts). */
import type { CrossEntropyAttrs } from '../ops/cross_entropy.js';
import { type Arr, arr } from './array.js';
import type { RefOp } from './op.js';

/** Per-row log-softmax pieces: lse_i, the weight of row i's label (0 when it does not count), and the scale. */
function rows(logits: Arr, labels: Arr, weights: Arr | undefined, a: CrossEntropyAttrs) {
  const [n, c] = logits.shape as [number, number];
  const lse = new Float64Array(n);
  const w = new Float64Array(n);
  let loss = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, logits.data[i * c + j]!);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(logits.data[i * c + j]! - m);
    lse[i] = m + Math.log(s);
    const y = labels.data[i]!;
    // Out-of-range labels count for nothing, as on the GPU (which cannot raise an error).
    if (y === a.ignoreIndex || y < 0 || y >= c) continue;
    w[i] = weights ? weights.data[y]! : 1;
    loss += w[i]! * (lse[i]! - logits.data[i * c + y]!);
    total += w[i]!;
  }
  // 'mean' with nothing counted is 0 rather than PyTorch's NaN.
  const scale = a.reduction === 'sum' ? 1 : total !== 0 ? 1 / total : 0;
  return { n, c, lse, w, loss: loss * scale, scale };
}

const crossEntropy: RefOp<CrossEntropyAttrs> = {
  forward([logits, labels, weights], a) {
    return arr([], [rows(logits!, labels!, weights, a).loss]);
  },
  vjp([logits, labels, weights], a, dy) {
    // d logits_ij = (softmax_ij - [j == y_i]) * w[y_i] * scale * dy.
    const { n, c, lse, w, scale } = rows(logits!, labels!, weights, a);
    const d = arr(logits!.shape);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < c; j++) {
        const p = Math.exp(logits!.data[i * c + j]! - lse[i]!);
        const onehot = j === labels!.data[i] ? 1 : 0;
        d.data[i * c + j] = (p - onehot) * w[i]! * scale * dy.data[0]!;
      }
    }
    return weights ? [d, null, null] : [d, null];
  },
};

/** Reference entry (ref/index.ts). */
export const crossEntropyRef = { crossEntropy };
