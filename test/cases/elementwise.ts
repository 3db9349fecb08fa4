/** Cases for elementwise ops: awkward sizes, size-1 axes, broadcasting both ways. */
import { type OpCase, opCase } from '../lib/case.js';

const U = { alpha: 0, beta: 0 };

export const elementwiseCases: OpCase[] = [
  opCase({ op: 'neg', name: '[7,13]', shapes: [[7, 13]], attrs: U }),
  opCase({ op: 'exp', name: '[1,1000]', shapes: [[1, 1000]], attrs: U }),
  opCase({ op: 'log', name: '[3,5,7]', shapes: [[3, 5, 7]], attrs: U, draw: ['positive'] }),
  opCase({ op: 'sqrt', name: '[257]', shapes: [[257]], attrs: U, draw: ['positive'] }),
  opCase({ op: 'rsqrt', name: '[2,1,33]', shapes: [[2, 1, 33]], attrs: U, draw: ['positive'] }),
  opCase({ op: 'tanh', name: '[65,3]', shapes: [[65, 3]], attrs: U }),
  opCase({ op: 'gelu', name: '[4,321]', shapes: [[4, 321]], attrs: U }),
  opCase({ op: 'gelu', name: 'wide range', shapes: [[600]], attrs: U, draw: [(s, r) => ({ shape: s, data: Float64Array.from({ length: 600 }, () => (r() - 0.5) * 16) })] }),
  opCase({ op: 'relu', name: '[9,9]', shapes: [[9, 9]], attrs: U, draw: ['away0'] }),
  opCase({ op: 'sigmoid', name: '[1]', shapes: [[1]], attrs: U }),
  opCase({ op: 'sigmoid', name: '[300,7]', shapes: [[300, 7]], attrs: U }),
  opCase({ op: 'square', name: '[31]', shapes: [[31]], attrs: U }),
  opCase({ op: 'pow', name: 'p=3 negative base', shapes: [[5, 11]], attrs: { alpha: 3, beta: 0 } }),
  opCase({ op: 'pow', name: 'p=0.5', shapes: [[5, 11]], attrs: { alpha: 0.5, beta: 0 }, draw: ['positive'] }),
  opCase({ op: 'affine', name: '2x-1', shapes: [[17, 3]], attrs: { alpha: 2, beta: -1 } }),
  opCase({ op: 'add', name: 'same [6,7]', shapes: [[6, 7], [6, 7]], attrs: {} }),
  opCase({ op: 'add', name: 'bias [5,3,7]+[7]', shapes: [[5, 3, 7], [7]], attrs: {} }),
  opCase({ op: 'sub', name: '[4,1,5]-[3,1]', shapes: [[4, 1, 5], [3, 1]], attrs: {} }),
  opCase({ op: 'mul', name: '[1,9]*[8,1]', shapes: [[1, 9], [8, 1]], attrs: {} }),
  opCase({ op: 'mul', name: 'scalar [1]*[2,3,4]', shapes: [[1], [2, 3, 4]], attrs: {} }),
  opCase({ op: 'div', name: '[3,4,5]/[3,1,5]', shapes: [[3, 4, 5], [3, 1, 5]], attrs: {}, draw: ['normal', 'away0'] }),
  // Block broadcasts (binary_tile): batch 1 against batch M, per-position weights, a trailing vector.
  opCase({ op: 'add', name: 'rows [7,5,33]+[1,5,33]', shapes: [[7, 5, 33], [1, 5, 33]], attrs: {} }),
  opCase({ op: 'add', name: 'rows [5,33]+[3,5,33]', shapes: [[5, 33], [3, 5, 33]], attrs: {} }),
  opCase({ op: 'mul', name: 'positions [6,9,13]*[1,9,1]', shapes: [[6, 9, 13], [1, 9, 1]], attrs: {} }),
  opCase({ op: 'mul', name: 'positions [1,9,1]*[6,9,13]', shapes: [[1, 9, 1], [6, 9, 13]], attrs: {} }),
  opCase({ op: 'sub', name: 'middle [3,1,7,1]-[1,5,7,2]', shapes: [[3, 1, 7, 1], [1, 5, 7, 2]], attrs: {} }),
  // Four elements per invocation (sizes a multiple of 4): unary, flat, tile4 with vec and splat operands.
  opCase({ op: 'gelu', name: 'vec4 [3,8,12]', shapes: [[3, 8, 12]], attrs: U }),
  opCase({ op: 'tanh', name: 'vec4 [4,64]', shapes: [[4, 64]], attrs: U }),
  opCase({ op: 'affine', name: 'vec4 [20]', shapes: [[20]], attrs: { alpha: -3, beta: 0.5 } }),
  opCase({ op: 'add', name: 'vec4 same [6,8]', shapes: [[6, 8], [6, 8]], attrs: {} }),
  opCase({ op: 'add', name: 'vec4 rows [5,6,8]+[1,6,8]', shapes: [[5, 6, 8], [1, 6, 8]], attrs: {} }),
  opCase({ op: 'mul', name: 'vec4 positions [6,9,12]*[1,9,1]', shapes: [[6, 9, 12], [1, 9, 1]], attrs: {} }),
  opCase({ op: 'sub', name: 'vec4 bias [8]-[5,3,8]', shapes: [[8], [5, 3, 8]], attrs: {} }),
  opCase({ op: 'mul', name: 'tile, not vec4 [5,6,6]*[1,6,1]', shapes: [[5, 6, 6], [1, 6, 1]], attrs: {} }),
  opCase({ op: 'div', name: 'vec4 same [64]', shapes: [[64], [64]], attrs: {}, draw: ['normal', 'away0'] }),
  opCase({ op: 'div', name: 'same [70]', shapes: [[70], [70]], attrs: {}, draw: ['normal', 'away0'] }),
];
