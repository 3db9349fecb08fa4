/**
 * Cases for softmax: row lengths 1 to 9000 (one invocation per row up to a whole workgroup per row),
 * row counts that do not fill the last workgroup, size-1 axes, and key masks with padded and fully
 * masked rows.
 */
import { type Arr, type Shape, arr } from '../../engine/ref/array.js';
import { type Draw, type OpCase, opCase } from '../lib/case.js';

/** A [B, N] key-padding mask: batch b keeps its first valid[b] keys. */
function padMask(valid: readonly number[]): Draw {
  return (shape: Shape): Arr => {
    const [b, n] = shape as [number, number];
    return arr(shape, Array.from({ length: b * n }, (_, i) => (i % n < valid[Math.floor(i / n)]! ? 1 : 0)));
  };
}

/** A [B, N] mask keeping each key with probability 0.7, batch `dead` fully masked. */
function randomMask(dead: number): Draw {
  return (shape: Shape, rand: () => number): Arr => {
    const n = shape[1]!;
    return arr(shape, Array.from({ length: shape[0]! * n }, (_, i) => (Math.floor(i / n) !== dead && rand() < 0.7 ? 1 : 0)));
  };
}

const NONE = {};

export const softmaxCases: OpCase[] = [
  opCase({ op: 'softmax', name: 'N=1 [4,1]', shapes: [[4, 1]], attrs: NONE }),
  opCase({ op: 'softmax', name: 'N=3 [5,3]', shapes: [[5, 3]], attrs: NONE }),
  opCase({ op: 'softmax', name: 'N=17 [257,17] partial workgroup', shapes: [[257, 17]], attrs: NONE, reduce: 17 }),
  opCase({ op: 'softmax', name: 'N=129 [3,129]', shapes: [[3, 129]], attrs: NONE, reduce: 129 }),
  opCase({ op: 'softmax', name: 'N=1000 [2,1000]', shapes: [[2, 1000]], attrs: NONE, reduce: 1000 }),
  opCase({ op: 'softmax', name: 'N=3000 [3,3000] 128 invocations per row', shapes: [[3, 3000]], attrs: NONE, reduce: 3000 }),
  opCase({ op: 'softmax', name: 'N=9000 [2,9000] whole workgroup per row', shapes: [[2, 9000]], attrs: NONE, reduce: 9000 }),
  opCase({ op: 'softmax', name: 'one row [1000]', shapes: [[1000]], attrs: NONE, reduce: 1000 }),
  opCase({ op: 'softmax', name: 'size-1 axes [2,1,3,1,7]', shapes: [[2, 1, 3, 1, 7]], attrs: NONE }),
  opCase({ op: 'softmax', name: 'many short rows [3,301,5]', shapes: [[3, 301, 5]], attrs: NONE }),
  opCase({
    op: 'softmax', name: 'padding mask [3,2,6,6]', shapes: [[3, 2, 6, 6], [3, 6]], attrs: NONE,
    draw: ['normal', padMask([6, 4, 1])], noGrad: [1],
  }),
  opCase({
    op: 'softmax', name: 'fully masked batch [3,2,5,9]', shapes: [[3, 2, 5, 9], [3, 9]], attrs: NONE,
    draw: ['normal', randomMask(1)], noGrad: [1],
  }),
  opCase({
    op: 'softmax', name: 'mask N=129 [2,3,129]', shapes: [[2, 3, 129], [2, 129]], attrs: NONE,
    draw: ['normal', randomMask(-1)], noGrad: [1], reduce: 129,
  }),
  opCase({
    op: 'softmax', name: 'mask rank 2 [4,17]', shapes: [[4, 17], [4, 17]], attrs: NONE,
    draw: ['normal', randomMask(2)], noGrad: [1], reduce: 17,
  }),
];
