/**
 * Elementwise ops (shaders/elementwise.wgsl): unary maps with fused backward kernels, and binary
 * add/sub/mul/div with NumPy broadcasting. Binary backward reduces the gradient back to each
 * input's shape with `sumTo`.
 */
import elementwiseWgsl from '../../shaders/elementwise.wgsl';
import { rt } from '../context.js';
import type { Dispatch } from '../runtime.js';
import type { KernelSpec, ShaderModuleSpec } from '../kernel.js';
import { Uniforms } from '../kernel.js';
import { type Shape, Tensor, empty, fmtShape, stridesOf, viewAs } from '../tensor.js';
import { defaultWg, grid1d } from './grid.js';
import { type OpDef, ShapeError, apply, expectDtypes } from './op.js';
import { sum } from './reduce.js';
import { reshape } from './shape.js';

const MODULE: ShaderModuleSpec = { name: 'elementwise', code: elementwiseWgsl };
const MAX_RANK = 8;

export type UnaryName =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'gelu' | 'relu' | 'sigmoid' | 'square' | 'pow' | 'affine';
export type BinaryName = 'add' | 'sub' | 'mul' | 'div';

const UNARY_CODE: Record<UnaryName, number> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, tanh: 5, gelu: 6, relu: 7, sigmoid: 8, square: 9, pow: 10, affine: 11,
};
const BINARY_CODE: Record<BinaryName, number> = { add: 0, sub: 1, mul: 2, div: 3 };

/** alpha: exponent for pow, scale for affine; beta: offset for affine. */
export interface UnaryAttrs {
  readonly alpha: number;
  readonly beta: number;
}
type UnarySaved = { x: Tensor; y: Tensor };

function unaryKernel(name: UnaryName, entry: 'unary_forward' | 'unary_backward' | 'unary_forward4' | 'unary_backward4'): KernelSpec {
  return {
    module: MODULE,
    entry,
    bindings: entry.startsWith('unary_forward') ? ['uniform', 'read', 'rw'] : ['uniform', 'read', 'read', 'read', 'rw'],
    constants: { WG: defaultWg(), OP: UNARY_CODE[name] },
  };
}

function unaryUniforms(n: number, a: UnaryAttrs): Uint8Array {
  return new Uniforms().u32(n).f32(a.alpha, a.beta).u32(0).finish();
}

function unaryDef(name: UnaryName): OpDef<UnaryAttrs, UnarySaved> {
  return {
    name,
    infer([x], _a) {
      expectDtypes(name, [x!], ['f32']);
      return { shape: x!.shape, dtype: 'f32' };
    },
    forward([x], a, out) {
      const v = out.size % 4 === 0 ? 4 : 1; // four elements per invocation where they fit
      rt().dispatch({
        kernel: unaryKernel(name, v === 4 ? 'unary_forward4' : 'unary_forward'),
        uniforms: unaryUniforms(out.size / v, a),
        buffers: [x!.buffer, out.buffer],
        workgroups: grid1d(out.size / v, defaultWg()),
      });
      return { x: x!, y: out };
    },
    backward(dy, s, a) {
      const dx = empty(s.x.shape, 'f32', `d_${name}`);
      const v = dx.size % 4 === 0 ? 4 : 1;
      rt().dispatch({
        kernel: unaryKernel(name, v === 4 ? 'unary_backward4' : 'unary_backward'),
        uniforms: unaryUniforms(dx.size / v, a),
        buffers: [s.x.buffer, s.y.buffer, dy.buffer, dx.buffer],
        workgroups: grid1d(dx.size / v, defaultWg()),
      });
      return [dx];
    },
  };
}

/** Broadcast result shape of a and b (NumPy rules), or a ShapeError naming both. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `cannot broadcast a ${fmtShape(a)} with b ${fmtShape(b)} (axis ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  if (rank > MAX_RANK) throw new ShapeError(op, `rank ${rank} exceeds ${MAX_RANK}`);
  return out;
}

/** Element strides of `shape` read as `out` (rank-aligned to the right, 0 on broadcast axes). */
function broadcastStrides(shape: Shape, out: Shape): number[] {
  const s = stridesOf(shape);
  const off = out.length - shape.length;
  return out.map((d, i) => (i < off || shape[i - off] === 1 ? 0 : s[i - off]!));
}

/**
 * How `shape` broadcasts to `out` when its non-1 axes (right-aligned) form one contiguous block of
 * out's axes: element i of out reads element (i / inner) % size. Null when broadcast axes interleave.
 */
export function blockBroadcast(shape: Shape, out: Shape): { inner: number; size: number } | null {
  const off = out.length - shape.length;
  const kept = out.map((_, i) => i >= off && shape[i - off] !== 1 && out[i] !== 1);
  const first = kept.indexOf(true);
  const last = kept.lastIndexOf(true);
  if (first < 0) return { inner: 1, size: 1 };
  for (let i = first; i <= last; i++) if (!kept[i] && out[i] !== 1) return null;
  const size = out.slice(first, last + 1).reduce((p, d) => p * d, 1);
  const inner = out.slice(last + 1).reduce((p, d) => p * d, 1);
  return { inner, size };
}

/** An operand of binary_tile4: vec4 reads (inner 1, size a multiple of 4) or one value per 4 (splat). */
function tile4Mode(t: { inner: number; size: number }): 0 | 1 | null {
  if (t.size === 1 || t.inner % 4 === 0) return 1;
  return t.inner === 1 && t.size % 4 === 0 ? 0 : null;
}

/**
 * The kernel choice for out = a op b: same shapes (flat), block broadcasts (tile), anything else
 * (the general rank loop); four elements per invocation where the sizes allow.
 */
function binaryLaunch(op: number, a: Tensor, b: Tensor, out: Tensor): Dispatch {
  const v4 = out.size % 4 === 0;
  const kernel = (entry: string, bindings: KernelSpec['bindings']): KernelSpec => ({ module: MODULE, entry, bindings, constants: { WG: defaultWg(), OP: op } });
  const rw = ['uniform', 'read', 'read', 'rw'] as const;
  if (a.shape.join() === b.shape.join()) {
    const n = v4 ? out.size / 4 : out.size;
    return {
      kernel: kernel(v4 ? 'binary_flat4' : 'binary_flat', [...rw]),
      uniforms: v4 ? new Uniforms().u32(n, 0, 0, 0).finish() : binaryUniforms(a, b, out),
      buffers: [a.buffer, b.buffer, out.buffer],
      workgroups: grid1d(n, defaultWg()),
    };
  }
  const ta = blockBroadcast(a.shape, out.shape);
  const tb = blockBroadcast(b.shape, out.shape);
  if (ta && tb) {
    const ma = tile4Mode(ta);
    const mb = tile4Mode(tb);
    if (v4 && ma !== null && mb !== null) {
      return {
        kernel: kernel('binary_tile4', [...rw, 'read', 'read']),
        uniforms: new Uniforms().u32(out.size / 4, ta.inner, ta.size, ma, tb.inner, tb.size, mb, 0).finish(),
        buffers: [a.buffer, b.buffer, out.buffer, a.buffer, b.buffer],
        workgroups: grid1d(out.size / 4, defaultWg()),
      };
    }
    return {
      kernel: kernel('binary_tile', [...rw]),
      uniforms: new Uniforms().u32(out.size, ta.inner, ta.size, tb.inner, tb.size, 0, 0, 0).finish(),
      buffers: [a.buffer, b.buffer, out.buffer],
      workgroups: grid1d(out.size, defaultWg()),
    };
  }
  return { kernel: kernel('binary_forward', [...rw]), uniforms: binaryUniforms(a, b, out), buffers: [a.buffer, b.buffer, out.buffer], workgroups: grid1d(out.size, defaultWg()) };
}

/** Uniforms of binary_forward and binary_flat: sizes, out shape and both operands' strides. */
function binaryUniforms(a: Tensor, b: Tensor, out: Tensor): Uint8Array {
  const u = new Uniforms().u32(out.size, out.rank, 0, 0);
  u.u32(...vec8(out.shape), ...vec8(broadcastStrides(a.shape, out.shape)), ...vec8(broadcastStrides(b.shape, out.shape)));
  return u.finish();
}

function vec8(v: readonly number[]): number[] {
  return Array.from({ length: MAX_RANK }, (_, i) => v[i] ?? 0);
}

type BinarySaved = { a: Tensor | null; b: Tensor | null; y: Tensor | null; aShape: Shape; bShape: Shape };

function binaryDef(name: BinaryName): OpDef<Record<string, never>, BinarySaved> {
  return {
    name,
    infer([a, b]) {
      expectDtypes(name, [a!, b!], ['f32', 'f32']);
      return { shape: broadcastShapes(name, a!.shape, b!.shape), dtype: 'f32' };
    },
    forward([a, b], _attrs, out) {
      rt().dispatch(binaryLaunch(BINARY_CODE[name], a!, b!, out));
      // Only what the rule needs is saved: add/sub nothing, mul a and b, div b and y.
      return {
        a: name === 'mul' ? a! : null,
        b: name === 'mul' || name === 'div' ? b! : null,
        y: name === 'div' ? out : null,
        aShape: a!.shape,
        bShape: b!.shape,
      };
    },
    backward(dy, s, _attrs, needs) {
      const grad = (i: 0 | 1, g: () => Tensor): Tensor | null => {
        if (!needs[i]) return null;
        const full = g();
        const r = sumTo(full, i === 0 ? s.aShape : s.bShape);
        if (full !== dy) full.dispose();
        return r;
      };
      switch (name) {
        case 'add':
          return [grad(0, () => dy), grad(1, () => dy)];
        case 'sub':
          return [grad(0, () => dy), grad(1, () => neg(dy))];
        case 'mul':
          return [grad(0, () => mul(dy, s.b!)), grad(1, () => mul(dy, s.a!))];
        case 'div':
          return [
            grad(0, () => div(dy, s.b!)),
            grad(1, () => {
              const t = mul(dy, s.y!);
              const r = div(t, s.b!);
              t.dispose();
              const n = neg(r);
              r.dispose();
              return n;
            }),
          ];
      }
    },
  };
}

/**
 * Sums a broadcast gradient back to `shape`: over leading axes that `shape` lacks and over axes where
 * `shape` has size 1. Returns a fresh tensor (a view when nothing is summed).
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.shape.join() === shape.join()) return viewAs(g, shape);
  const off = g.rank - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < off || (shape[i - off] === 1 && d !== 1)) axes.push(i);
  });
  const s = sum(g, axes, true);
  const r = reshape(s, shape);
  s.dispose();
  return r;
}

export const elementwiseOps = {
  neg: unaryDef('neg'),
  exp: unaryDef('exp'),
  log: unaryDef('log'),
  sqrt: unaryDef('sqrt'),
  rsqrt: unaryDef('rsqrt'),
  tanh: unaryDef('tanh'),
  gelu: unaryDef('gelu'),
  relu: unaryDef('relu'),
  sigmoid: unaryDef('sigmoid'),
  square: unaryDef('square'),
  pow: unaryDef('pow'),
  affine: unaryDef('affine'),
  add: binaryDef('add'),
  sub: binaryDef('sub'),
  mul: binaryDef('mul'),
  div: binaryDef('div'),
} as const;

const NO_ATTRS: UnaryAttrs = { alpha: 0, beta: 0 };
const unary = (name: UnaryName) => (x: Tensor): Tensor => apply(elementwiseOps[name], [x], NO_ATTRS);
const binary = (name: BinaryName) => (a: Tensor, b: Tensor): Tensor => apply(elementwiseOps[name], [a, b], {});

/** a + b, broadcasting. */
export const add = binary('add');
/** a - b, broadcasting. */
export const sub = binary('sub');
/** a * b, broadcasting. */
export const mul = binary('mul');
/** a / b, broadcasting. */
export const div = binary('div');
/** -x */
export const neg = unary('neg');
/** e^x */
export const exp = unary('exp');
/** natural log */
export const log = unary('log');
/** square root */
export const sqrt = unary('sqrt');
/** 1 / sqrt(x) */
export const rsqrt = unary('rsqrt');
/** tanh */
export const tanh = unary('tanh');
/** GELU with the exact erf (as ESM-2): 0.5 x (1 + erf(x / sqrt 2)). */
export const gelu = unary('gelu');
/** max(x, 0) */
export const relu = unary('relu');
/** 1 / (1 + e^-x) */
export const sigmoid = unary('sigmoid');
/** x^2 */
export const square = unary('square');
/** x^p for a scalar p (negative x allowed for integer p). */
export function pow(x: Tensor, p: number): Tensor {
  return apply(elementwiseOps.pow, [x], { alpha: p, beta: 0 });
}
/** alpha * x + beta */
export function affine(x: Tensor, alpha: number, beta = 0): Tensor {
  return apply(elementwiseOps.affine, [x], { alpha, beta });
}
/** s * x */
export function scale(x: Tensor, s: number): Tensor {
  return affine(x, s, 0);
}
