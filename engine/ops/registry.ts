/**
 * The op registry: every OpName maps to its OpDef. The `satisfies` clause makes a name without a
 * definition a compile error; ref/index.ts does the same for the float64 reference.
 */
import { elementwiseOps } from './elementwise.js';
import { matmulOps } from './matmul.js';
import { gatherOps } from './gather.js';
import { softmaxOps } from './softmax.js';
import { attentionOps } from './attention.js';
import { layernormOps } from './layernorm.js';
import { rotaryOps } from './rotary.js';
import { dropoutOps } from './dropout.js';
import { crossEntropyOps } from './cross_entropy.js';
import type { OpDef, OpName, Saved } from './op.js';
import { reduceOps } from './reduce.js';
import { shapeOps } from './shape.js';

export const OPS = {
  ...elementwiseOps,
  ...reduceOps,
  ...shapeOps,
  ...matmulOps,
  ...gatherOps,
  ...softmaxOps,
  ...attentionOps,
  ...layernormOps,
  ...rotaryOps,
  ...dropoutOps,
  ...crossEntropyOps,
} satisfies { readonly [K in OpName]: OpDef<any, any> };

/** The attrs type of an op. */
export type AttrsOf<K extends OpName> = (typeof OPS)[K] extends OpDef<infer A, infer _S extends Saved> ? A : never;
