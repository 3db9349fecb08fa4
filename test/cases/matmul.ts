/**
 * Cases for matmul: sizes that are multiples of no tile (1, 3, 17, 33, 65, 127), size-1 dims, all four
 * transpose combinations, batch broadcasting both ways, bias, and a long K. `reduce` is the longest sum
 * in forward or backward: K for y, N (times broadcast batch) for dA, M (times batch) for dB.
 */
import { type OpCase, opCase } from '../lib/case.js';

const NN = { transA: false, transB: false };
const TN = { transA: true, transB: false };
const NT = { transA: false, transB: true };
const TT = { transA: true, transB: true };

export const matmulCases: OpCase[] = [
  opCase({ op: 'matmul', name: '1x1x1', shapes: [[1, 1], [1, 1]], attrs: NN }),
  opCase({ op: 'matmul', name: '3x17 . 17x33', shapes: [[3, 17], [17, 33]], attrs: NN, reduce: 33 }),
  opCase({ op: 'matmul', name: '65x127 . 127x33', shapes: [[65, 127], [127, 33]], attrs: NN, reduce: 127 }),
  opCase({ op: 'matmul', name: '127x9 . 9x65 (row tile edge)', shapes: [[127, 9], [9, 65]], attrs: NN, reduce: 127 }),
  opCase({ op: 'matmul', name: '65x33 . 33x1', shapes: [[65, 33], [33, 1]], attrs: NN, reduce: 65 }),
  opCase({ op: 'matmul', name: 'transA (17,33)^T . 17x5', shapes: [[17, 33], [17, 5]], attrs: TN, reduce: 33 }),
  opCase({ op: 'matmul', name: 'transB 33x17 . (65,17)^T', shapes: [[33, 17], [65, 17]], attrs: NT, reduce: 65 }),
  opCase({ op: 'matmul', name: 'transA transB (17,3)^T . (65,17)^T', shapes: [[17, 3], [65, 17]], attrs: TT, reduce: 65 }),
  opCase({ op: 'matmul', name: 'bias 5x33 . 33x127 + 127', shapes: [[5, 33], [33, 127], [127]], attrs: NN, reduce: 127 }),
  opCase({ op: 'matmul', name: 'linear (2,7,33) . (17,33)^T + 17', shapes: [[2, 7, 33], [17, 33], [17]], attrs: NT, reduce: 33 }),
  opCase({ op: 'matmul', name: 'batch (3,5,17) . (3,17,7)', shapes: [[3, 5, 17], [3, 17, 7]], attrs: NN, reduce: 17 }),
  opCase({ op: 'matmul', name: 'broadcast (2,1,5,17) . (3,17,7)', shapes: [[2, 1, 5, 17], [3, 17, 7]], attrs: NN, reduce: 21 }),
  opCase({ op: 'matmul', name: 'broadcast 5x17 . (4,17,9)', shapes: [[5, 17], [4, 17, 9]], attrs: NN, reduce: 36 }),
  opCase({ op: 'matmul', name: 'size-1 dims (4,1,33) . 33x1', shapes: [[4, 1, 33], [33, 1]], attrs: NN, reduce: 33 }),
  opCase({ op: 'matmul', name: 'attention scores (2,3,9,8) . (2,3,9,8)^T', shapes: [[2, 3, 9, 8], [2, 3, 9, 8]], attrs: NT, reduce: 9 }),
  opCase({ op: 'matmul', name: 'transA batch (2,17,5)^T . 17x3 + 3', shapes: [[2, 17, 5], [17, 3], [3]], attrs: TN, reduce: 17 }),
  opCase({ op: 'matmul', name: 'long K 3x1000 . 1000x5', shapes: [[3, 1000], [1000, 5]], attrs: NN, reduce: 1000 }),
  // K and N multiples of 4 with b not transposed: the unclamped vec4 row loads (K4), M awkward.
  opCase({ op: 'matmul', name: 'K4 vec4 37x64 . 64x36 + 36', shapes: [[37, 64], [64, 36], [36]], attrs: NN, reduce: 64 }),
  opCase({ op: 'matmul', name: 'K4 broadcast (2,3,13,20) . 20x12', shapes: [[2, 3, 13, 20], [20, 12]], attrs: NN, reduce: 78 }),
  opCase({ op: 'matmul', name: 'K4 transA (68,37)^T . 68x8', shapes: [[68, 37], [68, 8]], attrs: TN, reduce: 68 }),
  opCase({ op: 'matmul', name: 'K4 long K 5x1024 . 1024x4', shapes: [[5, 1024], [1024, 4]], attrs: NN, reduce: 1024 }),
];
