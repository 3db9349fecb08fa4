/**
 * Float64 reference for dropout (engine/ops/dropout.ts). The mask comes from the same u32 hash as the
 * shader, so the reference reproduces the GPU's mask exactly; only the scaling is float64.
 */
import { type DropoutAttrs, dropoutHash, dropoutParams } from '../ops/dropout.js';
import { type Arr, map } from './array.js';
import type { RefOp } from './op.js';

/** The keep mask (1 kept, 0 dropped) of n elements. */
export function dropoutMask(n: number, a: DropoutAttrs): Uint8Array {
  const { threshold } = dropoutParams(a.p);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = dropoutHash(a.seed, i) >= threshold ? 1 : 0;
  return mask;
}

function masked(x: Arr, a: DropoutAttrs): Arr {
  const mask = dropoutMask(x.data.length, a);
  const scale = 1 / (1 - a.p);
  return map(x, (v, i) => (mask[i] ? v * scale : 0));
}

const dropout: RefOp<DropoutAttrs> = {
  forward: ([x], a) => masked(x!, a),
  vjp: (_xs, a, dy) => [masked(dy, a)],
};

/** Reference entry (ref/index.ts). */
export const dropoutRef = { dropout };
