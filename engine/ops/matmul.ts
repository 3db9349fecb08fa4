/**
 * Matmul family (shaders/matmul.wgsl; shaders/matmul_portable.wgsl where subgroups are missing):
 * batched c = op(a) . op(b) + bias, with NumPy broadcasting of the batch dims, either operand transposed
 * (read in place, never copied) and the bias added in the kernel's epilogue. Backward is two more
 * matmuls with flipped transpose flags, summed over broadcast batch dims, plus a sum of dY for the bias.
 *
 * Shapes: a (..., M, K), or (..., K, M) with transA; b (..., K, N), or (..., N, K) with transB; bias (N);
 * c (..., M, N). A b without batch dims (a linear layer: x (B, L, D) . W) is run as one (B L, D) matrix.
 */
import matmulWgsl from '../../shaders/matmul.wgsl';
import matmulPortableWgsl from '../../shaders/matmul_portable.wgsl';
import { rt } from '../context.js';
import { type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { type Shape, Tensor, empty, fmtShape, sizeOf, viewAs } from '../tensor.js';
import { isGradEnabled } from '../tape.js';
import { broadcastShapes, sumTo } from './elementwise.js';
import { subgroupTiling } from './grid.js';
import { type OpDef, ShapeError, type TensorMeta, apply, expectDtypes } from './op.js';
import { sum } from './reduce.js';

const MODULE: ShaderModuleSpec = { name: 'matmul', code: matmulWgsl };
const PORTABLE: ShaderModuleSpec = { name: 'matmul_portable', code: matmulPortableWgsl };
/** Rows and columns of c per workgroup of the portable kernel. */
const PORTABLE_TILE = 32;
/** Batch dims the kernel decomposes (more are collapsed first where the layout allows). */
const MAX_BATCH_DIMS = 4;

/** Which operands are read transposed. */
export interface MatmulAttrs {
  readonly transA: boolean;
  readonly transB: boolean;
}

type MatmulSaved = { a: Tensor; b: Tensor; hasBias: boolean };

/** How one product maps onto the kernel: sizes, batch layout and whether a's batch folds into M. */
export interface MatmulPlan {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Output batch shape (the broadcast of a's and b's batch dims). */
  readonly batch: readonly number[];
  /** Output shape: (...batch, M, N). */
  readonly out: readonly number[];
  /** Kernel rows: M, or (batch M) when a's batch folds into the rows. */
  readonly rows: number;
  /** Collapsed batch dims for the kernel (at most 4) and each operand's element stride per dim. */
  readonly dims: readonly number[];
  readonly aStrides: readonly number[];
  readonly bStrides: readonly number[];
  /** True when b has no batch dims and a is not transposed: a (B, M, K) is one (B M, K) matrix. */
  readonly foldA: boolean;
}

/** Shape rule shared by infer, forward and backward; throws ShapeError naming both shapes. */
export function planMatmul(aShape: Shape, bShape: Shape, attrs: MatmulAttrs): MatmulPlan {
  const both = () => `a ${fmtShape(aShape)} and b ${fmtShape(bShape)}`; // built only for an error
  if (aShape.length < 2 || bShape.length < 2) throw new ShapeError('matmul', `${both()}: both need at least 2 dims`);
  const [a0, a1] = aShape.slice(-2) as [number, number];
  const [b0, b1] = bShape.slice(-2) as [number, number];
  const [m, ka] = attrs.transA ? [a1, a0] : [a0, a1];
  const [kb, n] = attrs.transB ? [b1, b0] : [b0, b1];
  if (ka !== kb) throw new ShapeError('matmul', `${both()}: inner dims ${ka} and ${kb} differ`);
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes('matmul', aBatch, bBatch);
  } catch {
    throw new ShapeError('matmul', `${both()}: batch dims ${fmtShape(aBatch)} and ${fmtShape(bBatch)} do not broadcast`);
  }
  const out = [...batch, m, n];
  const foldA = bBatch.length === 0 && !attrs.transA;
  if (foldA) {
    return { m, n, k: ka, batch, out, rows: sizeOf(batch) * m, dims: [], aStrides: [], bStrides: [], foldA };
  }
  const [dims, aStrides, bStrides] = collapseBatch(batch, batchStrides(aBatch, batch, m * ka), batchStrides(bBatch, batch, ka * n));
  if (dims.length > MAX_BATCH_DIMS) {
    throw new ShapeError('matmul', `${both()}: at most ${MAX_BATCH_DIMS} independent batch dims are supported`);
  }
  return { m, n, k: ka, batch, out, rows: m, dims, aStrides, bStrides, foldA };
}

/** Element stride of each output batch dim in an operand (0 where it broadcasts). */
function batchStrides(own: Shape, batch: Shape, matrix: number): number[] {
  const off = batch.length - own.length;
  const strides = new Array<number>(batch.length).fill(0);
  let acc = matrix;
  for (let i = own.length - 1; i >= 0; i--) {
    if (own[i] !== 1) strides[i + off] = acc;
    acc *= own[i]!;
  }
  return strides;
}

/** Merges adjacent batch dims that both operands walk contiguously (and drops size-1 dims). */
function collapseBatch(dims: Shape, as: number[], bs: number[]): [number[], number[], number[]] {
  const d: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  dims.forEach((size, i) => {
    if (size === 1) return;
    const j = d.length - 1;
    if (j >= 0 && sa[j] === as[i]! * size && sb[j] === bs[i]! * size) {
      d[j]! *= size;
      sa[j] = as[i]!;
      sb[j] = bs[i]!;
    } else {
      d.push(size);
      sa.push(as[i]!);
      sb.push(bs[i]!);
    }
  });
  return [d, sa, sb];
}

/**
 * Tile choice for this device: lanes per workgroup, rows per workgroup, lanes sharing a's loads; or the
 * portable kernel (32 x 32 tiles) where subgroups are missing.
 */
interface Tiles {
  readonly portable: boolean;
  readonly wg: number;
  readonly tm: number;
  readonly rg: number;
}

let forcePortable = false;

/**
 * Runs every matmul on the portable kernel (shaders/matmul_portable.wgsl), as on a device without
 * subgroups: tests check that path on adapters that have them. Returns the previous setting.
 */
export function forcePortableMatmul(on: boolean): boolean {
  const was = forcePortable;
  forcePortable = on;
  return was;
}

/**
 * The fast kernel shares a's loads through subgroupShuffle, so it needs subgroups of at least 4 lanes;
 * RG = 8 lanes share them (4 on 4-lane subgroups such as SwiftShader's). On lavapipe WG = 8 is one
 * SIMD register of lanes. Without subgroups the portable kernel runs.
 */
function tiles(rows: number): Tiles {
  const sg = subgroupTiling();
  if (forcePortable || !sg) return { portable: true, wg: 64, tm: PORTABLE_TILE, rg: 0 };
  // A short product gets a short tile: rows past M are computed and dropped.
  const tm = rows <= 8 ? 8 : rows <= 16 ? 16 : rows <= 24 ? 24 : 32;
  return { portable: false, wg: sg.wg, tm, rg: sg.rg };
}

/**
 * vec4 loads need the operand's contiguous dim to be a multiple of 4 (then every row, batch offset and
 * 4-step of K starts on a 16-byte boundary): K for a, M for a transposed, N for b, K for b transposed.
 */
function vectorised(plan: MatmulPlan, attrs: MatmulAttrs): { vecA: boolean; vecB: boolean; k4: boolean } {
  return {
    vecA: (attrs.transA ? plan.m : plan.k) % 4 === 0,
    vecB: (attrs.transB ? plan.k : plan.n) % 4 === 0,
    k4: plan.k % 4 === 0,
  };
}

/** What the kernel does to each output after the bias (matmul.wgsl's EPILOGUE codes). */
const EPILOGUES = { none: 0, gelu: 1, residual: 2 } as const;
type Epilogue = keyof typeof EPILOGUES;

function kernel(t: Tiles, attrs: MatmulAttrs, hasBias: boolean, vec: { vecA: boolean; vecB: boolean; k4: boolean }, epi: Epilogue): KernelSpec {
  const bindings = ['uniform', 'read', 'read', 'read', 'rw', 'read', 'read', 'read'] as const;
  const flags = { TRANS_A: +attrs.transA, TRANS_B: +attrs.transB, HAS_BIAS: +hasBias, EPILOGUE: EPILOGUES[epi] };
  if (t.portable) return { module: PORTABLE, entry: 'matmul', bindings, constants: flags };
  return {
    module: MODULE,
    entry: 'matmul',
    bindings,
    constants: { WG: t.wg, TM: t.tm, RG: t.rg, ...flags, VEC_A: +vec.vecA, VEC_B: +vec.vecB, K4: +vec.k4 },
  };
}

function pad4(v: readonly number[], fill: number): number[] {
  return [...Array<number>(MAX_BATCH_DIMS - v.length).fill(fill), ...v];
}

/** Records the kernel: out (plan.out) = epi(op(a) . op(b) (+ bias)), residual read by epi 'residual'. */
function launch(a: Tensor, b: Tensor, bias: Tensor | null, out: Tensor, plan: MatmulPlan, attrs: MatmulAttrs, epi: Epilogue = 'none', residual: Tensor | null = null): void {
  if (!out.size) return;
  const t = tiles(plan.rows);
  const colTiles = Math.ceil(plan.n / (t.portable ? PORTABLE_TILE : 4 * t.wg));
  const rowTiles = Math.ceil(plan.rows / t.tm);
  // Workgroups run x-fastest. When b's rows are a multiple of 8 KiB apart, a fresh b panel per workgroup
  // keeps hitting the same cache sets (measured -25% at N = 2048 and 4096 on lavapipe), so walk the row
  // tiles first and let consecutive workgroups share the panel. Elsewhere the two orders measure the same.
  const rowsFirst = !attrs.transB && plan.n % 2048 === 0;
  const grid: [number, number, number] = rowsFirst ? [rowTiles, colTiles, sizeOf(plan.dims)] : [colTiles, rowTiles, sizeOf(plan.dims)];
  const limit = rt().info.maxWorkgroupsPerDim;
  if (grid.some((g) => g > limit)) {
    throw new Error(`matmul ${fmtShape(out.shape)}: grid ${fmtShape(grid)} exceeds ${limit} workgroups per dimension`);
  }
  const u = new Uniforms()
    .u32(plan.rows, plan.n, plan.k, +rowsFirst)
    .u32(...pad4(plan.dims, 1), ...pad4(plan.aStrides, 0), ...pad4(plan.bStrides, 0));
  rt().dispatch({
    kernel: kernel(t, attrs, bias !== null, vectorised(plan, attrs), epi),
    uniforms: u.finish(),
    // a and b are bound twice: as f32 for scalar loads and as vec4 for aligned ones.
    buffers: [a.buffer, b.buffer, (bias ?? a).buffer, out.buffer, a.buffer, b.buffer, (residual ?? a).buffer],
    workgroups: grid,
  });
}

/** op(a) . op(b) for backward rules (no tape; they run under noGrad). */
function mm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return apply(matmulDef, [a, b], { transA, transB });
}

/** A view of x with its leading dims merged: (..., R, C) -> (prod R, C). */
function flat2d(x: Tensor): Tensor {
  const c = x.shape[x.rank - 1]!;
  return viewAs(x, [x.size / Math.max(c, 1), c]);
}

/** dA: the product with b's transpose, summed to a's shape over broadcast batch dims. */
function gradA(dy: Tensor, s: MatmulSaved, attrs: MatmulAttrs): Tensor {
  // !transA: dA (M, K) = dY . op(b)^T.  transA: dA (K, M) = op(b) . dY^T.
  const full = attrs.transA ? mm(s.b, dy, attrs.transB, true) : mm(dy, s.b, false, !attrs.transB);
  const r = sumTo(full, s.a.shape);
  full.dispose();
  return r;
}

/** dB: op(a)^T . dY, one reduction over all rows when a's batch folded into M. */
function gradB(dy: Tensor, s: MatmulSaved, attrs: MatmulAttrs, plan: MatmulPlan): Tensor {
  if (plan.foldA) {
    const a2 = flat2d(s.a); // (B M, K)
    const dy2 = flat2d(dy); // (B M, N)
    const r = attrs.transB ? mm(dy2, a2, true, false) : mm(a2, dy2, true, false); // (N, K) or (K, N)
    a2.dispose();
    dy2.dispose();
    return r;
  }
  // !transB: dB (K, N) = op(a)^T . dY.  transB: dB (N, K) = dY^T . op(a).
  const full = attrs.transB ? mm(dy, s.a, true, attrs.transA) : mm(s.a, dy, !attrs.transA, false);
  const r = sumTo(full, s.b.shape);
  full.dispose();
  return r;
}

/** The matmul op: inputs [a, b] or [a, b, bias]; saves a and b (views, no copies) for backward. */
export const matmulDef: OpDef<MatmulAttrs, MatmulSaved> = {
  name: 'matmul',
  infer(inputs, attrs): TensorMeta {
    const [a, b, bias] = inputs;
    if (!a || !b || inputs.length > 3) throw new ShapeError('matmul', `expects [a, b] or [a, b, bias], got ${inputs.length} inputs`);
    expectDtypes('matmul', inputs, ['f32', 'f32', 'f32']);
    const plan = planMatmul(a.shape, b.shape, attrs);
    if (bias && (bias.shape.length !== 1 || bias.shape[0] !== plan.n)) {
      throw new ShapeError('matmul', `bias ${fmtShape(bias.shape)} must be [${plan.n}] for a ${fmtShape(a.shape)} and b ${fmtShape(b.shape)}`);
    }
    return { shape: plan.out, dtype: 'f32' };
  },
  forward([a, b, bias], attrs, out) {
    launch(a!, b!, bias ?? null, out, planMatmul(a!.shape, b!.shape, attrs), attrs);
    return { a: a!, b: b!, hasBias: bias !== undefined };
  },
  backward(dy, s, attrs, needs) {
    const plan = planMatmul(s.a.shape, s.b.shape, attrs);
    const dA = needs[0] ? gradA(dy, s, attrs) : null;
    const dB = needs[1] ? gradB(dy, s, attrs, plan) : null;
    const dBias = s.hasBias && needs[2] ? sum(dy, [...Array(dy.rank - 1).keys()]) : null;
    return [dA, dB, dBias];
  },
};

/** This family's entries in the op registry (ops/registry.ts). */
export const matmulOps = { matmul: matmulDef } as const;

/** Options of `matmul`: transposes read in place, and a bias (N) added in the kernel. */
export interface MatmulOptions {
  readonly transA?: boolean;
  readonly transB?: boolean;
  readonly bias?: Tensor;
}

/**
 * Batched matrix product c (..., M, N) = op(a) . op(b) (+ bias), batch dims broadcasting as in NumPy.
 * a is (..., M, K), or (..., K, M) with transA; b is (..., K, N), or (..., N, K) with transB.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const attrs = { transA: opts.transA ?? false, transB: opts.transB ?? false };
  return apply(matmulDef, opts.bias ? [a, b, opts.bias] : [a, b], attrs);
}

/** A linear layer with PyTorch's layout: x (..., in) . weight (out, in)^T + bias (out). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return matmul(x, weight, { transB: true, bias });
}

/** The extra work `fusedLinear` does on the product: exact GELU, or adding a residual of the output's shape. */
export type LinearEpilogue = { readonly gelu: true } | { readonly residual: Tensor };

/**
 * Inference-only linear layer with its next elementwise step fused into the kernel's epilogue:
 * gelu(x . weight^T + bias), or x . weight^T + bias + residual, in one pass over the output. Nothing
 * is recorded for autograd, so it throws when gradients would be needed; training composes `linear`
 * with `gelu` or `add` instead.
 */
export function fusedLinear(x: Tensor, weight: Tensor, bias: Tensor, epi: LinearEpilogue): Tensor {
  const residual = 'residual' in epi ? epi.residual : null;
  const inputs = residual ? [x, weight, bias, residual] : [x, weight, bias];
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    throw new Error('fusedLinear: inference only (it records no gradient); use linear with gelu or add under autograd');
  }
  const attrs: MatmulAttrs = { transA: false, transB: true };
  const meta = matmulDef.infer(inputs.slice(0, 3), attrs);
  if (residual && fmtShape(residual.shape) !== fmtShape(meta.shape)) {
    throw new ShapeError('fusedLinear', `residual ${fmtShape(residual.shape)} must match the output ${fmtShape(meta.shape)}`);
  }
  const out = empty(meta.shape, 'f32', residual ? 'linear_residual' : 'linear_gelu');
  launch(x, weight, bias, out, planMatmul(x.shape, weight.shape, attrs), attrs, residual ? 'residual' : 'gelu', residual);
  return out;
}
