/**
 * The op registry: every OpName maps to its OpDef. The `satisfies` clause makes a name without a
 * definition a compile error; ref/index.ts does the same for the float64 reference.
 */
import { elementwiseOps } from './elementwise.js';
import type { OpDef, OpName, Saved } from './op.js';
import { reduceOps } from './reduce.js';
import { shapeOps } from './shape.js';

export const OPS = {
  ...elementwiseOps,
  ...reduceOps,
  ...shapeOps,
} satisfies { readonly [K in OpName]: OpDef<any, any> };

/** The attrs type of an op. */
export type AttrsOf<K extends OpName> = (typeof OPS)[K] extends OpDef<infer A, infer _S extends Saved> ? A : never;
