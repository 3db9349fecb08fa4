/**
 * Inverted dropout (shaders/dropout.wgsl): each element is kept with probability 1 - p and scaled
 * by 1 / (1 - p), else zeroed. The mask is a counter-based hash of (seed, flat element index), so it
 * is never stored: backward recomputes it from the seed, and a run resumed from a checkpoint draws
 * the same masks as an uninterrupted one when the caller derives seeds from the step (see
 * `dropoutSeed`). p = 0 is an exact copy.
 */
import dropoutWgsl from '../../shaders/dropout.wgsl';
import { rt } from '../context.js';
import { type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { type Tensor, empty, fmtShape } from '../tensor.js';
import { defaultWg, grid1d } from './grid.js';
import { type OpDef, ShapeError, apply } from './op.js';

const MODULE: ShaderModuleSpec = { name: 'dropout', code: dropoutWgsl };

/** p: drop probability in [0, 1); seed: an integer in [0, 2^32) selecting the mask. */
export interface DropoutAttrs {
  readonly p: number;
  readonly seed: number;
}

/** PCG hash on u32 (same arithmetic as pcg_hash in shaders/dropout.wgsl). */
export function pcgHash(v: number): number {
  const state = (Math.imul(v, 747796405) + 2891336453) >>> 0;
  const word = Math.imul((state >>> ((state >>> 28) + 4)) ^ state, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The u32 hash deciding element i's fate (dropout_hash in the shader). */
export function dropoutHash(seed: number, i: number): number {
  return pcgHash((pcgHash(i) ^ pcgHash(seed)) >>> 0);
}

/**
 * Kernel constants derived from p: keep iff hash >= threshold. The comparison is on integers so the
 * GPU and the float64 reference agree exactly; P(keep) = 1 - threshold / 2^32, within 2^-33 of 1 - p.
 */
export function dropoutParams(p: number): { threshold: number; scale: number } {
  return { threshold: Math.min(2 ** 32 - 1, Math.round(p * 2 ** 32)), scale: 1 / (1 - p) };
}

/**
 * A seed for one dropout site at one step, from a base seed and any integer counters (step, layer,
 * site). Deterministic, so training resumed at step k reproduces the masks of an uninterrupted run.
 */
export function dropoutSeed(base: number, ...counters: readonly number[]): number {
  let h = pcgHash(base >>> 0);
  for (const c of counters) h = pcgHash((h ^ pcgHash(c >>> 0)) >>> 0);
  return h;
}

function checkAttrs(a: DropoutAttrs, x: { shape: readonly number[] }): void {
  if (!(a.p >= 0 && a.p < 1)) throw new ShapeError('dropout', `p = ${a.p} must be in [0, 1) (x ${fmtShape(x.shape)})`);
  if (!Number.isInteger(a.seed) || a.seed < 0 || a.seed >= 2 ** 32) {
    throw new ShapeError('dropout', `seed ${a.seed} must be an integer in [0, 2^32)`);
  }
}

const KERNEL = (): KernelSpec => ({
  module: MODULE,
  entry: 'dropout_apply',
  bindings: ['uniform', 'read', 'rw'],
  constants: { WG: defaultWg() },
});

/** out = src * mask(seed) * scale; the same launch serves forward (x) and backward (dy). */
function launch(src: Tensor, out: Tensor, a: DropoutAttrs): void {
  if (!out.size) return;
  const { threshold, scale } = dropoutParams(a.p);
  rt().dispatch({
    kernel: KERNEL(),
    uniforms: new Uniforms().u32(out.size, a.seed, threshold).f32(scale).finish(),
    buffers: [src.buffer, out.buffer],
    workgroups: grid1d(out.size, defaultWg()),
  });
}

const dropoutOp: OpDef<DropoutAttrs, Record<string, never>> = {
  name: 'dropout',
  infer([x], a) {
    if (x!.dtype !== 'f32') throw new ShapeError('dropout', `x ${fmtShape(x!.shape)} must be f32, got ${x!.dtype}`);
    checkAttrs(a, x!);
    return { shape: x!.shape, dtype: 'f32' };
  },
  forward([x], a, out) {
    launch(x!, out, a);
    return {};
  },
  // Linear given the mask: d_x = d_y * mask * scale, the mask recomputed from the seed.
  backward(dy, _s, a) {
    const dx = empty(dy.shape, 'f32', 'd_dropout');
    launch(dy, dx, a);
    return [dx];
  },
};

/** Registry entry (ops/registry.ts). */
export const dropoutOps = { dropout: dropoutOp } as const;

/** Inverted dropout of x (any shape) with drop probability p and mask seed `seed`. */
export function dropout(x: Tensor, attrs: DropoutAttrs): Tensor {
  return apply(dropoutOp, [x], attrs);
}
