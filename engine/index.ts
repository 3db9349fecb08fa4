/** Public API of the engine: the one door for code outside engine/ (tests and the bench lab may reach deeper). */
export { initEngine, rt } from './context.js';
export { NoAdapterError, isSoftwareAdapter, type DeviceInfo } from './device.js';
export { GpuError } from './runtime.js';
export { backward } from './autograd.js';
export { noGrad, noGradAsync, isGradEnabled, clearTape, tapeLength } from './tape.js';
export { tidy, tidyAsync, keep } from './scope.js';
export { Tensor, tensor, zeros, full, empty, type Shape, type DType } from './tensor.js';
export { rng, gaussian, shuffleInPlace } from './random.js';
export * from './ops/elementwise.js';
export { sum, mean, max } from './ops/reduce.js';
export { reshape, permute, transpose, slice, concat, filled, fillInPlace } from './ops/shape.js';
export { ShapeError } from './ops/op.js';
export { gather } from './ops/gather.js';
export { rotary, clearRotaryCache } from './ops/rotary.js';
export { dropout, dropoutSeed, type DropoutAttrs } from './ops/dropout.js';
export { AdamW, type AdamWOptions, type AdamWParam, type AdamWState } from './optim/adamw.js';
export { clipGradNorm } from './optim/clip.js';
export { softmax } from './ops/softmax.js';
export { layernorm } from './ops/layernorm.js';
export { attention, fusedAttentionSupported, type AttentionOptions } from './ops/attention.js';
export { crossEntropy, type CrossEntropyOptions, type Reduction } from './ops/cross_entropy.js';
export { matmul, linear, fusedLinear, type LinearEpilogue, type MatmulOptions, type MatmulAttrs } from './ops/matmul.js';
export { igScale, igAccumulate, igRecord, neuronSum, type NodeChunk, type ScoreTarget } from './ops/ig.js';
export type { PositionRange } from './ref/ig.js';
/** The float64 error function of the reference (the float64 ESM-2 in model/ref/ uses it for GELU). */
export { erf } from './ref/special.js';
