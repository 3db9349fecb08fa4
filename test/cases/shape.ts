/** Cases for shape ops. */
import { type OpCase, opCase } from '../lib/case.js';

export const shapeCases: OpCase[] = [
  opCase({ op: 'reshape', name: '[6,4]->[2,3,4]', shapes: [[6, 4]], attrs: { shape: [2, 3, -1] } }),
  opCase({ op: 'permute', name: '[2,3,4]->(2,0,1)', shapes: [[2, 3, 4]], attrs: { perm: [2, 0, 1] } }),
  opCase({ op: 'permute', name: 'BLHD->BHLD [2,5,3,7]', shapes: [[2, 5, 3, 7]], attrs: { perm: [0, 2, 1, 3] } }),
  opCase({ op: 'permute', name: 'size-1 [1,7,1]', shapes: [[1, 7, 1]], attrs: { perm: [2, 1, 0] } }),
  opCase({ op: 'slice', name: '[5,9] rows 1..4 cols 2..7', shapes: [[5, 9]], attrs: { starts: [1, 2], sizes: [3, 5] } }),
  opCase({ op: 'slice', name: '[2,6,3] middle', shapes: [[2, 6, 3]], attrs: { starts: [0, 5, 1], sizes: [2, 1, 2] } }),
  opCase({ op: 'concat', name: 'axis 1 of three', shapes: [[2, 3, 4], [2, 1, 4], [2, 5, 4]], attrs: { axis: 1 } }),
  opCase({ op: 'concat', name: 'axis 0', shapes: [[1, 7], [4, 7]], attrs: { axis: 0 } }),
];
