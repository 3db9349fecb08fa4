/** Cases for dropout: p = 0 (exact copy), 0.1 and 0.5, on sizes that are not multiples of the workgroup. */
import { type OpCase, opCase } from '../lib/case.js';

export const dropoutCases: OpCase[] = [
  opCase({ op: 'dropout', name: 'p=0 [3,333]', shapes: [[3, 333]], attrs: { p: 0, seed: 1 } }),
  opCase({ op: 'dropout', name: 'p=0.1 [7,129]', shapes: [[7, 129]], attrs: { p: 0.1, seed: 42 } }),
  opCase({ op: 'dropout', name: 'p=0.5 [2,5,67]', shapes: [[2, 5, 67]], attrs: { p: 0.5, seed: 7 } }),
  opCase({ op: 'dropout', name: 'p=0.5 [1]', shapes: [[1]], attrs: { p: 0.5, seed: 3 } }),
  opCase({ op: 'dropout', name: 'p=0.1 seed 2^32-1 [1000]', shapes: [[1000]], attrs: { p: 0.1, seed: 2 ** 32 - 1 } }),
];
