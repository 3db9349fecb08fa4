/** The float64 reference for every op, keyed like the GPU registry (ops/registry.ts). */
import type { OpName } from '../ops/op.js';
import type { AttrsOf } from '../ops/registry.js';
import { elementwiseRef } from './elementwise.js';
import type { RefOp } from './op.js';
import { reduceRef } from './reduce.js';
import { shapeRef } from './shape.js';

export const REF: { readonly [K in OpName]: RefOp<AttrsOf<K>> } = {
  ...elementwiseRef,
  ...reduceRef,
  ...shapeRef,
};
