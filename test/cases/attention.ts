/**
 * Cases for fused attention: head dims 8 to 64, lengths that leave the last tile partial (L = 37,
 * 70), padded and fully masked batches, rotary off and on (default and stored inv_freq), and q widened
 * to a batch over k, v and a mask of batch 1 (a hook widening one module for integrated gradients).
 * Shapes are q, k, v (B, L, D) and the optional mask (B, L).
 */
import { type Arr, type Shape, arr } from '../../engine/ref/array.js';
import { type Draw, opCase } from '../lib/case.js';

/** A (B, L) key-padding mask: batch b keeps its first valid[b] keys. */
function padMask(valid: readonly number[]): Draw {
  return (shape: Shape): Arr => {
    const [b, n] = shape as [number, number];
    return arr(shape, Array.from({ length: b * n }, (_, i) => (i % n < valid[Math.floor(i / n)]! ? 1 : 0)));
  };
}

/** A float16-looking stored inv_freq for head dim dh (distinct from the float32 formula's values). */
function storedInvFreq(dh: number): number[] {
  return Array.from({ length: dh / 2 }, (_, j) => Math.fround(1 / 10000 ** ((2 * j) / dh)) * (1 + 1e-3 * j));
}

const ESM = (heads: number, dh: number) => ({ heads, scale: dh ** -0.5, rotary: true });
const MASKED: Draw[] = ['normal', 'normal', 'normal', padMask([13, 9])];

export const attentionCases = [
  opCase({ op: 'attention', name: 'ESM-like H4 Dh16, padded [2,13,64]', shapes: [[2, 13, 64], [2, 13, 64], [2, 13, 64], [2, 13]], attrs: ESM(4, 16), draw: MASKED, noGrad: [3], reduce: 16 }),
  opCase({ op: 'attention', name: 'no mask, partial tile L=37 H2 Dh8', shapes: [[1, 37, 16], [1, 37, 16], [1, 37, 16]], attrs: ESM(2, 8), reduce: 37 }),
  opCase({
    op: 'attention', name: 'no rotary Dh12, batch 1 fully masked', shapes: [[3, 11, 12], [3, 11, 12], [3, 11, 12], [3, 11]],
    attrs: { heads: 1, scale: 0.3, rotary: false }, draw: ['normal', 'normal', 'normal', padMask([11, 0, 5])], noGrad: [3], reduce: 12,
  }),
  opCase({
    op: 'attention', name: 'q widened over k, v and mask of batch 1', shapes: [[3, 9, 16], [1, 9, 16], [1, 9, 16], [1, 9]],
    attrs: ESM(2, 8), draw: ['normal', 'normal', 'normal', padMask([7])], noGrad: [3], reduce: 9,
  }),
  opCase({ op: 'attention', name: 'stored inv_freq H2 Dh8', shapes: [[2, 6, 16], [2, 6, 16], [2, 6, 16]], attrs: { ...ESM(2, 8), invFreq: storedInvFreq(8) }, reduce: 8 }),
  opCase({
    op: 'attention', name: 'L=70 Dh32, padded', shapes: [[2, 70, 32], [2, 70, 32], [2, 70, 32], [2, 70]],
    attrs: ESM(1, 32), draw: ['normal', 'normal', 'normal', padMask([70, 41])], noGrad: [3], reduce: 70,
  }),
  opCase({ op: 'attention', name: 'Dh64 (largest head)', shapes: [[1, 5, 128], [1, 5, 128], [1, 5, 128]], attrs: ESM(2, 64), reduce: 64 }),
];
