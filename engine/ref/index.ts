/** The float64 reference for every op, keyed like the GPU registry (ops/registry.ts). */
import type { OpName } from '../ops/op.js';
import type { AttrsOf } from '../ops/registry.js';
import { elementwiseRef } from './elementwise.js';
import { matmulRef } from './matmul.js';
import { gatherRef } from './gather.js';
import { softmaxRef } from './softmax.js';
import { attentionRef } from './attention.js';
import { layernormRef } from './layernorm.js';
import { rotaryRef } from './rotary.js';
import { dropoutRef } from './dropout.js';
import { crossEntropyRef } from './cross_entropy.js';
import type { RefOp } from './op.js';
import { reduceRef } from './reduce.js';
import { shapeRef } from './shape.js';

export const REF: { readonly [K in OpName]: RefOp<AttrsOf<K>> } = {
  ...elementwiseRef,
  ...reduceRef,
  ...shapeRef,
  ...matmulRef,
  ...gatherRef,
  ...softmaxRef,
  ...attentionRef,
  ...layernormRef,
  ...rotaryRef,
  ...dropoutRef,
  ...crossEntropyRef,
};
