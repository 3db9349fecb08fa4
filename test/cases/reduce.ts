/**
 * Cases for reductions: leading, middle, trailing, non-contiguous and all axes. ops.test.ts runs them
 * once as the device chooses and once with the row-chunked column reduction forced (GPUs take it for
 * long columns); the last cases have many chunks, a ragged last chunk and a row count below one chunk.
 */
import { type OpCase, opCase } from '../lib/case.js';

export const reduceCases: OpCase[] = [
  opCase({ op: 'sum', name: 'last [5,300]', shapes: [[5, 300]], attrs: { axes: [1], keepDims: false }, reduce: 300 }),
  opCase({ op: 'sum', name: 'all [7,9,11]', shapes: [[7, 9, 11]], attrs: { axes: [0, 1, 2], keepDims: false }, reduce: 693 }),
  opCase({ op: 'sum', name: 'leading [33,6] keep', shapes: [[33, 6]], attrs: { axes: [0], keepDims: true }, reduce: 33 }),
  opCase({ op: 'sum', name: 'non-contiguous [4,3,5,2] axes 0,2', shapes: [[4, 3, 5, 2]], attrs: { axes: [0, 2], keepDims: false }, reduce: 20 }),
  opCase({ op: 'sum', name: 'size-1 axis [3,1,4]', shapes: [[3, 1, 4]], attrs: { axes: [1], keepDims: false } }),
  opCase({ op: 'mean', name: 'middle [2,129,3]', shapes: [[2, 129, 3]], attrs: { axes: [1], keepDims: true }, reduce: 129 }),
  opCase({ op: 'mean', name: 'last two [3,4,5]', shapes: [[3, 4, 5]], attrs: { axes: [1, 2], keepDims: false }, reduce: 20 }),
  opCase({ op: 'max', name: 'last [6,77]', shapes: [[6, 77]], attrs: { axes: [1], keepDims: false } }),
  opCase({ op: 'max', name: 'first [19,4]', shapes: [[19, 4]], attrs: { axes: [0], keepDims: true } }),
  opCase({ op: 'max', name: 'non-contiguous [3,2,4] axes 0,2', shapes: [[3, 2, 4]], attrs: { axes: [0, 2], keepDims: false } }),
  opCase({ op: 'sum', name: 'bias gradient, vec4 columns [2,37,12] axes 0,1', shapes: [[2, 37, 12]], attrs: { axes: [0, 1], keepDims: false }, reduce: 74 }),
  opCase({ op: 'mean', name: 'middle, vec4 columns [3,45,8]', shapes: [[3, 45, 8]], attrs: { axes: [1], keepDims: false }, reduce: 45 }),
  opCase({ op: 'max', name: 'middle, vec4 columns [2,33,20]', shapes: [[2, 33, 20]], attrs: { axes: [1], keepDims: true } }),
  opCase({ op: 'sum', name: 'bias gradient, long columns [517,8] axis 0', shapes: [[517, 8]], attrs: { axes: [0], keepDims: false }, reduce: 517 }),
  opCase({ op: 'mean', name: 'long columns [2,300,4] axis 1', shapes: [[2, 300, 4]], attrs: { axes: [1], keepDims: false }, reduce: 300 }),
  opCase({ op: 'max', name: 'long columns [3,130,12] axis 1', shapes: [[3, 130, 12]], attrs: { axes: [1], keepDims: false } }),
];
