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
  opCase({ op: 'div', name: 'same [70]', shapes: [[70], [70]], attrs: {}, draw: ['normal', 'away0'] }),
];
