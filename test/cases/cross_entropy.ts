/**
 * Cases for crossEntropy: class counts from 1 to 5000, row counts that do not fill the last
 * workgroup, 'mean' and 'sum', class weights, an ignoreIndex inside [0, C) (so the integer draw
 * produces ignored rows), out-of-range labels (int:7 against C = 5), and a batch where every row is
 * ignored. The default -100 is exercised in fused.test.ts. `reduce` is the longer of N and C.
 */
import { type OpCase, opCase } from '../lib/case.js';

const MEAN = { ignoreIndex: -100, reduction: 'mean' } as const;
const SUM = { ignoreIndex: -100, reduction: 'sum' } as const;

export const crossEntropyCases: OpCase[] = [
  opCase({ op: 'crossEntropy', name: 'mean [4,5]', shapes: [[4, 5], [4]], attrs: MEAN, draw: ['normal', 'int:5'], reduce: 5 }),
  opCase({ op: 'crossEntropy', name: 'C=1 [3,1]', shapes: [[3, 1], [3]], attrs: MEAN, draw: ['normal', 'int:1'], reduce: 3 }),
  opCase({ op: 'crossEntropy', name: 'N=1 sum [1,3]', shapes: [[1, 3], [1]], attrs: SUM, draw: ['normal', 'int:3'], reduce: 3 }),
  opCase({ op: 'crossEntropy', name: 'sum [7,17]', shapes: [[7, 17], [7]], attrs: SUM, draw: ['normal', 'int:17'], reduce: 17 }),
  opCase({ op: 'crossEntropy', name: 'C=129 [5,129]', shapes: [[5, 129], [5]], attrs: MEAN, draw: ['normal', 'int:129'], reduce: 129 }),
  opCase({ op: 'crossEntropy', name: 'C=1000 [3,1000]', shapes: [[3, 1000], [3]], attrs: MEAN, draw: ['normal', 'int:1000'], reduce: 1000 }),
  opCase({ op: 'crossEntropy', name: 'C=5000 [2,5000]', shapes: [[2, 5000], [2]], attrs: SUM, draw: ['normal', 'int:5000'], reduce: 5000 }),
  opCase({ op: 'crossEntropy', name: 'vocab 33 [301,33]', shapes: [[301, 33], [301]], attrs: MEAN, draw: ['normal', 'int:33'], reduce: 301 }),
  opCase({
    op: 'crossEntropy', name: 'weights mean [9,17]', shapes: [[9, 17], [9], [17]], attrs: MEAN,
    draw: ['normal', 'int:17', 'positive'], noGrad: [2], reduce: 17,
  }),
  opCase({
    op: 'crossEntropy', name: 'weights sum [6,4]', shapes: [[6, 4], [6], [4]], attrs: SUM,
    draw: ['normal', 'int:4', 'positive'], noGrad: [2], reduce: 6,
  }),
  opCase({
    op: 'crossEntropy', name: 'ignoreIndex 1 [24,4]', shapes: [[24, 4], [24]], attrs: { ignoreIndex: 1, reduction: 'mean' },
    draw: ['normal', 'int:4'], reduce: 24,
  }),
  opCase({
    op: 'crossEntropy', name: 'weights + ignoreIndex 0 [20,3]', shapes: [[20, 3], [20], [3]], attrs: { ignoreIndex: 0, reduction: 'mean' },
    draw: ['normal', 'int:3', 'positive'], noGrad: [2], reduce: 20,
  }),
  opCase({
    op: 'crossEntropy', name: 'out-of-range labels count nothing [12,5]', shapes: [[12, 5], [12], [5]], attrs: MEAN,
    draw: ['normal', 'int:7', 'positive'], noGrad: [2], reduce: 12,
  }),
  opCase({
    op: 'crossEntropy', name: 'every row ignored [3,4]', shapes: [[3, 4], [3]], attrs: { ignoreIndex: 0, reduction: 'mean' },
    draw: ['normal', 'int:1'],
  }),
];
