/**
 * Reductions (shaders/reduce.wgsl): sum, mean and max over any set of axes, with or without kept
 * dims. The reduced axes are made one contiguous block (permuting x when they are not), so every
 * case is x (O, R, I) -> y (O, I).
 */
import reduceWgsl from '../../shaders/reduce.wgsl';
import { rt } from '../context.js';
import { isSoftwareAdapter } from '../device.js';
import { type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { type Shape, type Tensor, empty, fmtShape, sizeOf } from '../tensor.js';
import { defaultWg, grid1d } from './grid.js';
import { type OpDef, ShapeError, apply, expectDtypes } from './op.js';
import { permute } from './shape.js';

const MODULE: ShaderModuleSpec = { name: 'reduce', code: reduceWgsl };
const OP_CODE = { sum: 0, mean: 1, max: 2 } as const;
type ReduceName = keyof typeof OP_CODE;

export interface ReduceAttrs {
  /** Normalised, sorted, unique axes. */
  readonly axes: readonly number[];
  readonly keepDims: boolean;
}
type ReduceSaved = { x: Tensor | null; y: Tensor | null; inShape: Shape };

/** Normalises axes (negative from the end; undefined = all) and checks them. */
export function normAxes(op: string, shape: Shape, axes?: number | readonly number[]): number[] {
  const r = shape.length;
  const list = axes === undefined ? [...Array(r).keys()] : typeof axes === 'number' ? [axes] : [...axes];
  const out = [...new Set(list.map((a) => (a < 0 ? a + r : a)))].sort((a, b) => a - b);
  for (const a of out) {
    if (!Number.isInteger(a) || a < 0 || a >= r) throw new ShapeError(op, `axis ${a} out of range for x ${fmtShape(shape)}`);
  }
  return out;
}

/** The (O, R, I) view of x for contiguous axes [a0..a1], or null when the axes are not contiguous. */
function ori(shape: Shape, axes: readonly number[]): [number, number, number] | null {
  if (!axes.length) return [sizeOf(shape), 1, 1];
  const a0 = axes[0]!;
  const a1 = axes[axes.length - 1]!;
  if (a1 - a0 + 1 !== axes.length) return null;
  return [sizeOf(shape.slice(0, a0)), sizeOf(shape.slice(a0, a1 + 1)), sizeOf(shape.slice(a1 + 1))];
}

function outShape(shape: Shape, axes: readonly number[], keep: boolean): number[] {
  return keep ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** Permutation moving `axes` to the end, keeping the others in order. */
function toEnd(rank: number, axes: readonly number[]): number[] {
  return [...[...Array(rank).keys()].filter((i) => !axes.includes(i)), ...axes];
}

/**
 * Workgroup size of reduce_cols(4). Its threads are the outputs only (80 vec4 threads for a bias
 * gradient of (B L, 320)), so 256-wide workgroups left one or two groups and one of lavapipe's two
 * worker threads did most of the sum; 32 (four 8-lane SIMD groups) spreads them over both.
 */
const COLS_WG = 32;

/**
 * Row chunks for a column reduction (O, R, I) -> (O, I), or 1 for a single pass. Chunking pays on GPUs,
 * where a single pass runs one thread per output (O I / 4 of them) down all R rows: a bias gradient of
 * (2048, 320) is 80 threads. On CPU adapters (lavapipe) the single pass already keeps every core busy
 * with sequential reads, and a second dispatch only adds work, so they keep it.
 */
const CHUNK_ROWS = 64;
let chunking: 'auto' | 'always' | 'never' = 'auto';

/** Tests: force the chunked column reduction on or off ('auto' restores the device's choice); returns the previous mode. */
export function forceColumnChunks(mode: 'auto' | 'always' | 'never'): 'auto' | 'always' | 'never' {
  const was = chunking;
  chunking = mode;
  return was;
}

function columnChunks(o: number, r: number, i: number): number {
  if (i % 4 !== 0 || r < 2 || chunking === 'never') return 1;
  const want = chunking === 'always' ? Math.max(2, Math.ceil(r / CHUNK_ROWS)) : Math.ceil(r / CHUNK_ROWS);
  if (chunking === 'auto' && (isSoftwareAdapter(rt().info) || r < 4 * CHUNK_ROWS || (o * i) / 4 >= 16384)) return 1;
  return Math.ceil(r / Math.ceil(r / want)); // no empty chunk
}

function spec(entry: string, name: ReduceName, bindings: KernelSpec['bindings'], wg = defaultWg()): KernelSpec {
  return { module: MODULE, entry, bindings, constants: { WG: wg, OP: OP_CODE[name] } };
}

function oriUniforms(o: number, r: number, i: number, scale: number): Uint8Array {
  return new Uniforms().u32(o, r, i).f32(scale).finish();
}

/** Launches x (O, R, I) -> y (O, I). */
function reduceOri(name: ReduceName, x: Tensor, y: Tensor, [o, r, i]: [number, number, number]): void {
  const c = i > 1 ? columnChunks(o, r, i) : 1;
  if (c > 1) {
    // Stage 1: op over each chunk of rows (mean sums; stage 2 scales by 1 / R). Stage 2: over chunks.
    const s = Math.ceil(r / c);
    const part = empty([o, c, i], 'f32', `${name}_chunks`); // (O, C, I)
    const wg = Math.min(COLS_WG, defaultWg());
    rt().dispatch({
      kernel: spec('reduce_cols4_chunks', name === 'mean' ? 'sum' : name, ['uniform', 'read', 'rw'], wg),
      uniforms: new Uniforms().u32(o, r, i, s, c).finish(),
      buffers: [x.buffer, part.buffer],
      workgroups: grid1d((o * c * i) / 4, wg),
    });
    rt().dispatch({
      kernel: spec('reduce_cols4', name, ['uniform', 'read', 'rw'], wg),
      uniforms: oriUniforms(o, c, i, r ? 1 / r : 0),
      buffers: [part.buffer, y.buffer],
      workgroups: grid1d((o * i) / 4, wg),
    });
    part.dispose();
    return;
  }
  const u = oriUniforms(o, r, i, r ? 1 / r : 0);
  if (i === 1) {
    rt().dispatch({ kernel: spec('reduce_rows', name, ['uniform', 'read', 'rw']), uniforms: u, buffers: [x.buffer, y.buffer], workgroups: grid1d(o, 1) });
  } else {
    const wg = Math.min(COLS_WG, defaultWg());
    const vec = i % 4 === 0;
    const entry = vec ? 'reduce_cols4' : 'reduce_cols';
    rt().dispatch({ kernel: spec(entry, name, ['uniform', 'read', 'rw'], wg), uniforms: u, buffers: [x.buffer, y.buffer], workgroups: grid1d(vec ? (o * i) / 4 : o * i, wg) });
  }
}

function reduceDef(name: ReduceName): OpDef<ReduceAttrs, ReduceSaved> {
  return {
    name,
    infer([x], a) {
      expectDtypes(name, [x!], ['f32']);
      if (name === 'max' && a.axes.some((ax) => x!.shape[ax] === 0)) {
        throw new ShapeError(name, `max over an empty axis of x ${fmtShape(x!.shape)}`);
      }
      return { shape: outShape(x!.shape, a.axes, a.keepDims), dtype: 'f32' };
    },
    forward([x], a, out) {
      let src = x!;
      let dims = ori(x!.shape, a.axes);
      if (!dims) {
        // Non-contiguous axes: a permuted copy puts them last. Backward works in the original layout
        // for sum/mean (expand then permute back) and keeps the permuted copy for max.
        src = permute(x!, toEnd(x!.rank, a.axes));
        dims = ori(src.shape, [...Array(a.axes.length).keys()].map((k) => x!.rank - a.axes.length + k))!;
      }
      reduceOri(name, src, out, dims);
      if (src !== x) src.dispose();
      return { x: name === 'max' ? x! : null, y: name === 'max' ? out : null, inShape: x!.shape };
    },
    backward(dy, s, a) {
      const shape = s.inShape;
      const rank = shape.length;
      const direct = ori(shape, a.axes);
      const perm = direct ? null : toEnd(rank, a.axes);
      const pshape = perm ? perm.map((p) => shape[p]!) : shape;
      const dims = direct ?? ori(pshape, a.axes.map((_, k) => rank - a.axes.length + k))!;
      const [o, r, i] = dims;
      let dx = empty(pshape, 'f32', `d_${name}`);
      if (name === 'max') {
        const xp = perm ? permute(s.x!, perm) : s.x!;
        rt().dispatch({
          kernel: spec('max_backward', name, ['uniform', 'read', 'read', 'read', 'rw']),
          uniforms: oriUniforms(o, r, i, 1),
          buffers: [xp.buffer, s.y!.buffer, dy.buffer, dx.buffer],
          workgroups: grid1d(o * i, defaultWg()),
        });
        if (xp !== s.x) xp.dispose();
      } else {
        rt().dispatch({
          kernel: spec('expand', name, ['uniform', 'read', 'rw']),
          uniforms: oriUniforms(o, r, i, name === 'mean' ? (r ? 1 / r : 0) : 1),
          buffers: [dy.buffer, dx.buffer],
          workgroups: grid1d(o * r * i, defaultWg()),
        });
      }
      if (perm) {
        const inv = new Array<number>(rank);
        perm.forEach((p, k) => (inv[p] = k));
        const back = permute(dx, inv);
        dx.dispose();
        dx = back;
      }
      return [dx];
    },
  };
}

export const reduceOps = { sum: reduceDef('sum'), mean: reduceDef('mean'), max: reduceDef('max') } as const;

function reducer(name: ReduceName) {
  return (x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor =>
    apply(reduceOps[name], [x], { axes: normAxes(name, x.shape, axes), keepDims });
}

/** Sum over axes (all when omitted). */
export const sum = reducer('sum');
/** Mean over axes (all when omitted). */
export const mean = reducer('mean');
/** Max over axes (all when omitted); its gradient is split equally among tied maxima. */
export const max = reducer('max');

