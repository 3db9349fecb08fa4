/** Cases for rotary: Dh = 2, 8, 16, 64; L = 1, 7, 300; rank 2, 3 and 4 ([B*H, L, Dh] and [B, H, L, Dh]). */
import { type OpCase, opCase } from '../lib/case.js';

export const rotaryCases: OpCase[] = [
  opCase({ op: 'rotary', name: 'L=1 Dh=2 [1,2]', shapes: [[1, 2]], attrs: {} }),
  opCase({ op: 'rotary', name: 'L=7 Dh=2 [3,7,2]', shapes: [[3, 7, 2]], attrs: {} }),
  opCase({ op: 'rotary', name: 'L=7 Dh=8 [5,7,8]', shapes: [[5, 7, 8]], attrs: {} }),
  opCase({ op: 'rotary', name: 'L=300 Dh=16 [2,300,16]', shapes: [[2, 300, 16]], attrs: {} }),
  opCase({ op: 'rotary', name: 'L=1 Dh=64 [2,3,1,64]', shapes: [[2, 3, 1, 64]], attrs: {} }),
  opCase({ op: 'rotary', name: 'L=7 Dh=64 BHLD [2,3,7,64]', shapes: [[2, 3, 7, 64]], attrs: {} }),
  opCase({ op: 'rotary', name: 'L=300 Dh=64 [1,300,64]', shapes: [[1, 300, 64]], attrs: {} }),
  opCase({ op: 'rotary', name: 'stored inv_freq Dh=8 [2,9,8]', shapes: [[2, 9, 8]], attrs: { invFreq: [1, 0.0999755859375, 0.0099945068359375, 0.0010004043579101562] } }),
];
