/**
 * Cases for gather: V = 1 (every index repeated), V = 33 (ESM's vocabulary), D = 1, 5, 320, several
 * chunks of positions, rank-0 and rank-3 indices, and V past 256 so the radix sort takes two passes.
 * `reduce` is the expected number of repeats per row (the longest sum in the backward).
 */
import { type OpCase, opCase } from '../lib/case.js';

export const gatherCases: OpCase[] = [
  opCase({ op: 'gather', name: 'V=1 D=5 [7]', shapes: [[1, 5], [7]], attrs: {}, draw: ['normal', 'int:1'], reduce: 7 }),
  opCase({ op: 'gather', name: 'V=33 D=320 [2,37]', shapes: [[33, 320], [2, 37]], attrs: {}, draw: ['normal', 'int:33'], reduce: 8 }),
  opCase({ op: 'gather', name: 'V=33 D=1 [700] (3 chunks)', shapes: [[33, 1], [700]], attrs: {}, draw: ['normal', 'int:33'], reduce: 40 }),
  opCase({ op: 'gather', name: 'V=33 D=5 indices [] (scalar)', shapes: [[33, 5], []], attrs: {}, draw: ['normal', 'int:33'] }),
  opCase({ op: 'gather', name: 'V=5 D=16 [3,4,5] repeats', shapes: [[5, 16], [3, 4, 5]], attrs: {}, draw: ['normal', 'int:5'], reduce: 20 }),
  opCase({ op: 'gather', name: 'V=600 D=3 [2,300] two radix passes', shapes: [[600, 3], [2, 300]], attrs: {}, draw: ['normal', 'int:600'], reduce: 4 }),
  opCase({ op: 'gather', name: 'V=33 D=320 unused rows [3]', shapes: [[33, 320], [3]], attrs: {}, draw: ['normal', 'int:33'] }),
];
