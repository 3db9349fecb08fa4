/**
 * Cases for layernorm: D from 1 to 4100 (one invocation per row up to a whole workgroup), row counts
 * that do not fill the last workgroup, size-1 axes, a large eps, and enough rows that dgamma/dbeta
 * span many chunks. `reduce` is the longer of D and the row count (dgamma sums over rows).
 */
import { type OpCase, opCase } from '../lib/case.js';

const EPS = { eps: 1e-5 };

export const layernormCases: OpCase[] = [
  opCase({ op: 'layernorm', name: 'D=4 [2,3,4]', shapes: [[2, 3, 4], [4], [4]], attrs: EPS, reduce: 6 }),
  opCase({ op: 'layernorm', name: 'D=1 [5,1]', shapes: [[5, 1], [1], [1]], attrs: EPS, reduce: 5 }),
  opCase({ op: 'layernorm', name: 'D=3 [1,1,3]', shapes: [[1, 1, 3], [3], [3]], attrs: EPS }),
  opCase({ op: 'layernorm', name: 'D=17 [7,17]', shapes: [[7, 17], [17], [17]], attrs: EPS, reduce: 17 }),
  opCase({ op: 'layernorm', name: 'D=129 [3,129]', shapes: [[3, 129], [129], [129]], attrs: EPS, reduce: 129 }),
  opCase({ op: 'layernorm', name: 'D=1000 [2,1000]', shapes: [[2, 1000], [1000], [1000]], attrs: EPS, reduce: 1000 }),
  opCase({ op: 'layernorm', name: 'D=1280 [3,1280]', shapes: [[3, 1280], [1280], [1280]], attrs: EPS, reduce: 1280 }),
  opCase({ op: 'layernorm', name: 'D=4100 [2,4100] whole workgroup per row', shapes: [[2, 4100], [4100], [4100]], attrs: EPS, reduce: 4100 }),
  opCase({ op: 'layernorm', name: 'rows 301 [301,5] partial workgroup', shapes: [[301, 5], [5], [5]], attrs: EPS, reduce: 301 }),
  opCase({ op: 'layernorm', name: 'rows 700 chunked dgamma [7,100,9]', shapes: [[7, 100, 9], [9], [9]], attrs: EPS, reduce: 700 }),
  opCase({ op: 'layernorm', name: 'eps 0.5 [4,6]', shapes: [[4, 6], [6], [6]], attrs: { eps: 0.5 }, reduce: 6 }),
  opCase({ op: 'layernorm', name: 'vec4 rows, partial workgroup [301,8]', shapes: [[301, 8], [8], [8]], attrs: EPS, reduce: 301 }),
  opCase({ op: 'layernorm', name: 'vec4 rows, model width [2,9,320]', shapes: [[2, 9, 320], [320], [320]], attrs: EPS, reduce: 320 }),
];
