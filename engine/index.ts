/** Public API of the engine. */
export { initEngine, rt } from './context.js';
export { NoAdapterError, type DeviceInfo } from './device.js';
export { backward, noGrad, noGradAsync, clearTape, tapeLength } from './autograd.js';
export { tidy, tidyAsync, keep } from './scope.js';
export { Tensor, tensor, zeros, full, empty, type Shape, type DType } from './tensor.js';
export * from './ops/elementwise.js';
export { sum, mean, max } from './ops/reduce.js';
export { reshape, permute, transpose, slice, concat, filled } from './ops/shape.js';
export { ShapeError } from './ops/op.js';
export { gather } from './ops/gather.js';
export { rotary, clearRotaryCache } from './ops/rotary.js';
export { dropout, dropoutSeed, type DropoutAttrs } from './ops/dropout.js';
export { AdamW, type AdamWOptions, type AdamWParam, type AdamWState } from './optim/adamw.js';
export { clipGradNorm } from './optim/clip.js';
export { softmax } from './ops/softmax.js';
export { layernorm } from './ops/layernorm.js';
export { crossEntropy, type CrossEntropyOptions, type Reduction } from './ops/cross_entropy.js';
export { matmul, linear, type MatmulOptions, type MatmulAttrs } from './ops/matmul.js';
