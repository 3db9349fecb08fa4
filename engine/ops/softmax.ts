/**
 * Softmax over the last axis (shaders/softmax.wgsl), with an optional key-padding mask for attention:
 * scores x [B, ..., N] and mask [B, N] (1 keep, 0 masked). Forward and backward are one fused
 * row-wise kernel each. `rowLayout` (shared with layernorm and crossEntropy) picks how many
 * invocations serve one row.
 */
import softmaxWgsl from '../../shaders/softmax.wgsl';
import { rt } from '../context.js';
import { type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { type Tensor, empty, fmtShape } from '../tensor.js';
import { defaultWg, grid1d } from './grid.js';
import { type OpDef, ShapeError, apply, describe, expectDtypes } from './op.js';

const MODULE: ShaderModuleSpec = { name: 'softmax', code: softmaxWgsl };

/**
 * Elements each invocation walks in a row-wise kernel (at most; tpr stops at the workgroup size).
 * 32 gives N = 1024 one 32-wide group per row, as PyTorch's warp-per-row softmax does, and packs short
 * rows many to a workgroup (N = 258: 16 rows of 16). On lavapipe, where every workgroup barrier is
 * costly, 32 ran the [41280, 258] attention softmax 2-5x faster than 4 (repeated, noisy runs).
 */
const ELEMS_PER_INVOCATION = 32;

/** How a row-wise kernel covers R rows of length N. */
export interface RowLayout {
  /** Workgroup size (the WG override). */
  readonly wg: number;
  /** Invocations per row: a power of two <= wg, so rows tile a workgroup exactly. */
  readonly tpr: number;
  /** Dispatch grid; 2-D only past 65535 workgroups (kernels use wid.x + wid.y * nwg.x). */
  readonly workgroups: [number, number];
}

/**
 * The layout shared by the row-wise kernels of softmax, layernorm and crossEntropy: the fewest
 * invocations per row that keep each at or under `elems` elements.
 */
export function rowLayout(rows: number, n: number, elems = ELEMS_PER_INVOCATION): RowLayout {
  const wg = defaultWg();
  let tpr = 1;
  while (tpr < wg && tpr * elems < n) tpr *= 2;
  return { wg, tpr, workgroups: grid1d(rows, wg / tpr) };
}

/** Softmax has no attributes: the mask, when present, is input 1. */
export type SoftmaxAttrs = Record<string, never>;
type SoftmaxSaved = { y: Tensor };

function kernel(entry: 'softmax_forward' | 'softmax_backward', masked: boolean, wg: number): KernelSpec {
  return {
    module: MODULE,
    entry,
    bindings: ['uniform', 'read', 'read', 'rw'],
    constants: entry === 'softmax_forward' ? { WG: wg, MASKED: masked ? 1 : 0 } : { WG: wg },
  };
}

function rowUniforms(rows: number, n: number, tpr: number, rowsPerBatch: number): Uint8Array {
  return new Uniforms().u32(rows, n, tpr, rowsPerBatch).finish();
}

const softmaxOp: OpDef<SoftmaxAttrs, SoftmaxSaved> = {
  name: 'softmax',
  infer(inputs) {
    const [x, mask] = inputs;
    expectDtypes('softmax', inputs, ['f32', 'f32']);
    if (inputs.length > 2) throw new ShapeError('softmax', `takes x and an optional mask, got ${inputs.length} inputs`);
    if (mask) {
      const ok = x!.shape.length >= 2 && mask.shape.length === 2 &&
        mask.shape[0] === x!.shape[0] && mask.shape[1] === x!.shape[x!.shape.length - 1];
      if (!ok) {
        throw new ShapeError('softmax', `mask ${fmtShape(mask.shape)} must be [B, N] for x ${fmtShape(x!.shape)} ` +
          `= [B, ..., N] (${describe(inputs, ['x', 'mask'])})`);
      }
    }
    return { shape: x!.shape, dtype: 'f32' };
  },
  forward([x, mask], _a, out) {
    const n = x!.shape[x!.rank - 1] ?? 1;
    const rows = n ? x!.size / n : 0;
    const { wg, tpr, workgroups } = rowLayout(rows, n);
    const rowsPerBatch = mask ? rows / x!.shape[0]! : rows;
    if (rows && n) {
      rt().dispatch({
        kernel: kernel('softmax_forward', Boolean(mask), wg),
        uniforms: rowUniforms(rows, n, tpr, rowsPerBatch),
        // Without a mask, x fills the mask binding; MASKED = 0 means it is never read.
        buffers: [x!.buffer, (mask ?? x!).buffer, out.buffer],
        workgroups,
      });
    }
    return { y: out };
  },
  backward(dy, s, _a, needs) {
    if (!needs[0]) return [null, null];
    const y = s.y;
    const n = y.shape[y.rank - 1] ?? 1;
    const rows = n ? y.size / n : 0;
    const dx = empty(y.shape, 'f32', 'd_softmax');
    const { wg, tpr, workgroups } = rowLayout(rows, n);
    if (rows && n) {
      rt().dispatch({
        kernel: kernel('softmax_backward', false, wg),
        uniforms: rowUniforms(rows, n, tpr, rows),
        buffers: [y.buffer, dy.buffer, dx.buffer],
        workgroups,
      });
    }
    return [dx, null];
  },
};

/** Registry entry (ops/registry.ts). */
export const softmaxOps = { softmax: softmaxOp } as const;

/**
 * Softmax over the last axis of x [..., N]. With `mask` [B, N] (x is [B, ..., N], e.g. attention
 * scores [B, H, L, L] with a key-padding mask [B, L]; 1 keep, 0 masked), masked entries get
 * probability exactly 0 and a fully masked row is all zeros. The mask gets no gradient.
 */
export function softmax(x: Tensor, mask?: Tensor): Tensor {
  return apply(softmaxOp, mask ? [x, mask] : [x], {});
}
