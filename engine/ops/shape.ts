/**
 * Shape ops (shaders/shape.wgsl): reshape (a view, no copy), permute, slice and concat (copies through
 * strided kernels), plus fill. Every op copies bit patterns, so they serve f32 and i32 tensors alike.
 */
import shapeWgsl from '../../shaders/shape.wgsl';
import { rt } from '../context.js';
import { type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { type Shape, type Tensor, empty, fmtShape, sizeOf, stridesOf, viewAs } from '../tensor.js';
import { defaultWg, grid1d } from './grid.js';
import { type OpDef, ShapeError, type TensorMeta, apply } from './op.js';

const MODULE: ShaderModuleSpec = { name: 'shape', code: shapeWgsl };
const MAX_RANK = 8;

function pad8(v: readonly number[]): number[] {
  return Array.from({ length: MAX_RANK }, (_, i) => v[i] ?? 0);
}

function kernel(entry: 'gather_copy' | 'scatter_copy' | 'fill'): KernelSpec {
  return {
    module: MODULE,
    entry,
    bindings: entry === 'fill' ? ['uniform', 'rw'] : ['uniform', 'read', 'rw'],
    constants: { WG: defaultWg() },
  };
}

function stridedUniforms(dims: Shape, strides: readonly number[], offset: number, value = 0): Uint8Array {
  if (dims.length > MAX_RANK) throw new ShapeError('shape', `rank ${dims.length} exceeds ${MAX_RANK}`);
  return new Uniforms()
    .u32(sizeOf(dims), dims.length, offset, value)
    .u32(...pad8(dims), ...pad8(strides))
    .finish();
}

/** dst (contiguous, `dims`) <- src at `offset` read with `strides`. */
function gatherCopy(src: Tensor, dst: Tensor, dims: Shape, strides: readonly number[], offset: number): void {
  const n = sizeOf(dims);
  if (!n) return;
  rt().dispatch({
    kernel: kernel('gather_copy'),
    uniforms: stridedUniforms(dims, strides, offset),
    buffers: [src.buffer, dst.buffer],
    workgroups: grid1d(n, defaultWg()),
  });
}

/** dst at `offset` with `strides` <- src (contiguous, `dims`). */
function scatterCopy(src: Tensor, dst: Tensor, dims: Shape, strides: readonly number[], offset: number): void {
  const n = sizeOf(dims);
  if (!n) return;
  rt().dispatch({
    kernel: kernel('scatter_copy'),
    uniforms: stridedUniforms(dims, strides, offset),
    buffers: [src.buffer, dst.buffer],
    workgroups: grid1d(n, defaultWg()),
  });
}

/** Fills a tensor in place with one value (bits of an f32, or an i32). */
export function fillInPlace(t: Tensor, value: number): void {
  if (!t.size) return;
  const bits = new DataView(new ArrayBuffer(4));
  if (t.dtype === 'i32') bits.setInt32(0, value, true);
  else bits.setFloat32(0, value, true);
  rt().dispatch({
    kernel: kernel('fill'),
    uniforms: stridedUniforms([t.size], [1], 0, bits.getUint32(0, true)),
    buffers: [t.buffer],
    workgroups: grid1d(t.size, defaultWg()),
  });
}

/** A new tensor filled with `value`, without a host upload. */
export function filled(shape: Shape, value: number, dtype: 'f32' | 'i32' = 'f32'): Tensor {
  const t = empty(shape, dtype, 'filled');
  fillInPlace(t, value);
  return t;
}

// ---- reshape ---------------------------------------------------------------------------------------

/** Resolves one -1 in a target shape. */
export function resolveShape(op: string, from: Shape, to: readonly number[]): number[] {
  const n = sizeOf(from);
  const free = to.filter((d) => d === -1).length;
  if (free > 1) throw new ShapeError(op, `more than one -1 in ${fmtShape(to)}`);
  const known = to.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = to.map((d) => (d === -1 ? (known ? n / known : 0) : d));
  if (sizeOf(out) !== n || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(op, `cannot reshape ${fmtShape(from)} (${n} elements) to ${fmtShape(to)}`);
  }
  return out;
}

export type ReshapeAttrs = { readonly shape: readonly number[] };
type ReshapeSaved = { inShape: Shape };

// Reshape is a view: `aliasInput` makes `apply` return a tensor sharing x's storage, so forward
// launches nothing.
const reshapeOp: OpDef<ReshapeAttrs, ReshapeSaved> = {
  name: 'reshape',
  aliasInput: true,
  infer([x], a) {
    return { shape: resolveShape('reshape', x!.shape, a.shape), dtype: x!.dtype };
  },
  forward([x]) {
    return { inShape: x!.shape };
  },
  backward(dy, s) {
    return [viewAs(dy, s.inShape)];
  },
};

/** The same elements with another shape (one dim may be -1); a view, never a copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return apply(reshapeOp, [x], { shape });
}

// ---- permute ---------------------------------------------------------------------------------------

export type PermuteAttrs = { readonly perm: readonly number[] };

function checkPerm(rank: number, perm: readonly number[]): void {
  const ok = perm.length === rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
  if (!ok) throw new ShapeError('permute', `perm [${perm.join(', ')}] is not a permutation of ${rank} axes`);
}

const permuteOp: OpDef<PermuteAttrs, Record<string, never>> = {
  name: 'permute',
  infer([x], a) {
    checkPerm(x!.shape.length, a.perm);
    return { shape: a.perm.map((p) => x!.shape[p]!), dtype: x!.dtype };
  },
  forward([x], a, out) {
    const s = stridesOf(x!.shape);
    gatherCopy(x!, out, out.shape, a.perm.map((p) => s[p]!), 0);
    return {};
  },
  backward(dy, _s, a) {
    const inv = new Array<number>(a.perm.length);
    a.perm.forEach((p, i) => (inv[p] = i));
    return [permute(dy, inv)];
  },
};

/** Reorders axes: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  return apply(permuteOp, [x], { perm });
}

/** Swaps two axes (negative axes count from the end). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  const [i, j] = [(a + r) % r, (b + r) % r];
  [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  return permute(x, perm);
}

// ---- slice -----------------------------------------------------------------------------------------

export type SliceAttrs = { readonly starts: readonly number[]; readonly sizes: readonly number[] };
type SliceSaved = { inShape: Shape };

const sliceOp: OpDef<SliceAttrs, SliceSaved> = {
  name: 'slice',
  infer([x], a) {
    const r = x!.shape.length;
    if (a.starts.length !== r || a.sizes.length !== r) {
      throw new ShapeError('slice', `starts [${a.starts}] and sizes [${a.sizes}] need ${r} entries for x ${fmtShape(x!.shape)}`);
    }
    a.starts.forEach((s, i) => {
      const z = a.sizes[i]!;
      if (!Number.isInteger(s) || !Number.isInteger(z) || s < 0 || z < 0 || s + z > x!.shape[i]!) {
        throw new ShapeError('slice', `axis ${i}: start ${s} size ${z} out of range for x ${fmtShape(x!.shape)}`);
      }
    });
    return { shape: [...a.sizes], dtype: x!.dtype };
  },
  forward([x], a, out) {
    const s = stridesOf(x!.shape);
    const offset = a.starts.reduce((acc, st, i) => acc + st * s[i]!, 0);
    gatherCopy(x!, out, out.shape, s, offset);
    return { inShape: x!.shape };
  },
  backward(dy, s, a) {
    const dx = filled(s.inShape, 0);
    const st = stridesOf(s.inShape);
    const offset = a.starts.reduce((acc, v, i) => acc + v * st[i]!, 0);
    scatterCopy(dy, dx, dy.shape, st, offset);
    return [dx];
  },
};

/**
 * A rectangular block: `starts[i]` and `sizes[i]` per axis (size -1 means to the end). Shorter
 * arrays leave trailing axes whole.
 */
export function slice(x: Tensor, starts: readonly number[], sizes: readonly number[]): Tensor {
  const st = x.shape.map((_, i) => starts[i] ?? 0);
  const sz = x.shape.map((d, i) => (sizes[i] === undefined || sizes[i] === -1 ? d - st[i]! : sizes[i]!));
  return apply(sliceOp, [x], { starts: st, sizes: sz });
}

// ---- concat ----------------------------------------------------------------------------------------

export type ConcatAttrs = { readonly axis: number };
type ConcatSaved = { sizes: readonly number[] };

function concatShape(inputs: readonly TensorMeta[], axis: number): number[] {
  if (!inputs.length) throw new ShapeError('concat', 'needs at least one tensor');
  const first = inputs[0]!.shape;
  if (axis < 0 || axis >= first.length) throw new ShapeError('concat', `axis ${axis} out of range for rank ${first.length}`);
  let total = 0;
  for (const [j, t] of inputs.entries()) {
    const ok = t.shape.length === first.length && t.shape.every((d, i) => i === axis || d === first[i]);
    if (!ok || t.dtype !== inputs[0]!.dtype) {
      throw new ShapeError('concat', `input ${j} ${fmtShape(t.shape)} does not match input 0 ${fmtShape(first)} off axis ${axis}`);
    }
    total += t.shape[axis]!;
  }
  return first.map((d, i) => (i === axis ? total : d));
}

const concatOp: OpDef<ConcatAttrs, ConcatSaved> = {
  name: 'concat',
  infer(inputs, a) {
    return { shape: concatShape(inputs, a.axis), dtype: inputs[0]!.dtype };
  },
  forward(inputs, a, out) {
    const st = stridesOf(out.shape);
    let start = 0;
    for (const x of inputs) {
      scatterCopy(x, out, x.shape, st, start * st[a.axis]!);
      start += x.shape[a.axis]!;
    }
    return { sizes: inputs.map((x) => x.shape[a.axis]!) };
  },
  backward(dy, s, a, needs) {
    let start = 0;
    return s.sizes.map((size, j) => {
      const st = dy.shape.map((_, i) => (i === a.axis ? start : 0));
      const sz = dy.shape.map((d, i) => (i === a.axis ? size : d));
      start += size;
      return needs[j] ? slice(dy, st, sz) : null;
    });
  },
};

/** Joins tensors along an axis (negative counts from the end). */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const r = xs[0]?.rank ?? 0;
  return apply(concatOp, xs, { axis: axis < 0 ? axis + r : axis });
}

export const shapeOps = { reshape: reshapeOp, permute: permuteOp, slice: sliceOp, concat: concatOp } as const;
