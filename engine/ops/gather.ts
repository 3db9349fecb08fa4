/**
 * Embedding lookup (shaders/gather.wgsl): table [V, D] f32, indices [...] i32 -> out [..., D].
 *
 * Out-of-range indices (negative or >= V) are skipped: their output row is zero and they add nothing
 * to the table's gradient. Validating them would need a readback; callers that want an error should
 * check indices on the host where they are made (the tokenizer). The reference does the same.
 *
 * Backward scatter-adds d_y into d_table deterministically (bit-identical run to run, as resumed
 * training must equal uninterrupted training): a stable radix sort of positions by index, then
 * ordered per-row sums. See the shader header for the passes. Indices get no gradient.
 */
import gatherWgsl from '../../shaders/gather.wgsl';
import { rt } from '../context.js';
import { type BindingKind, type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { type Tensor, empty, fmtShape } from '../tensor.js';
import { defaultWg, grid1d } from './grid.js';
import { type OpDef, ShapeError, apply } from './op.js';
import { fillInPlace } from './shape.js';

const MODULE: ShaderModuleSpec = { name: 'gather', code: gatherWgsl };
/** Most digit bits per radix pass (the shader's MAX_BUCKETS is 2^8). */
const MAX_DIGIT_BITS = 8;

type Entry = 'gather_forward' | 'gather_backward' | 'sort_histogram' | 'sort_scan' | 'sort_scatter';
const BINDINGS: Record<Entry, readonly BindingKind[]> = {
  gather_forward: ['uniform', 'read', 'read', 'rw'],
  gather_backward: ['uniform', 'read', 'read', 'read', 'rw'],
  sort_histogram: ['uniform', 'read', 'rw'],
  sort_scan: ['uniform', 'rw'],
  sort_scatter: ['uniform', 'read', 'read', 'read', 'rw', 'rw'],
};

function kernel(entry: Entry): KernelSpec {
  return { module: MODULE, entry, bindings: BINDINGS[entry], constants: { WG: defaultWg() } };
}

/**
 * Radix passes for keys 0..V (V is the sentinel of invalid indices): as few passes of at most 8 bits
 * as cover V's bit length, bits split evenly so small vocabularies scan few buckets (V = 33: one pass
 * of 6 bits, 64 buckets).
 */
export function sortPlan(v: number): { passes: number; bits: number } {
  const keyBits = Math.max(1, Math.ceil(Math.log2(v + 1)));
  const passes = Math.ceil(keyBits / MAX_DIGIT_BITS);
  return { passes, bits: Math.ceil(keyBits / passes) };
}

type GatherSaved = { indices: Tensor; v: number; d: number };

const gatherOp: OpDef<Record<string, never>, GatherSaved> = {
  name: 'gather',
  infer([table, indices]) {
    if (!table || !indices) throw new ShapeError('gather', 'needs a table and indices');
    const t = fmtShape(table.shape);
    if (table.dtype !== 'f32') throw new ShapeError('gather', `table ${t} must be f32, got ${table.dtype}`);
    if (table.shape.length !== 2) throw new ShapeError('gather', `table ${t} must be [V, D]`);
    if (indices.dtype !== 'i32') {
      throw new ShapeError('gather', `indices ${fmtShape(indices.shape)} must be i32, got ${indices.dtype}`);
    }
    return { shape: [...indices.shape, table.shape[1]!], dtype: 'f32' };
  },
  forward([table, indices], _a, out) {
    const [v, d] = table!.shape as [number, number];
    if (out.size) {
      rt().dispatch({
        kernel: kernel('gather_forward'),
        uniforms: new Uniforms().u32(out.size, d, v, indices!.size).finish(),
        buffers: [table!.buffer, indices!.buffer, out.buffer],
        workgroups: grid1d(out.size, defaultWg()),
      });
    }
    return { indices: indices!, v, d };
  },
  backward(dy, s, _a, needs) {
    return [needs[0] ? scatterAdd(dy, s.indices, s.v, s.d) : null, null];
  },
};

/**
 * d_table [V, D] = sum over positions n with indices[n] = v of d_y[n, :], summed in ascending n
 * (deterministic). d_y is [..., D] with the indices' leading shape.
 */
export function scatterAdd(dy: Tensor, indices: Tensor, v: number, d: number): Tensor {
  const dTable = empty([v, d], 'f32', 'd_gather'); // (V, D)
  const n = indices.size;
  if (!dTable.size) return dTable;
  if (!n) {
    fillInPlace(dTable, 0);
    return dTable;
  }
  const wg = defaultWg();
  const chunks = Math.ceil(n / wg);
  const { passes, bits } = sortPlan(v);
  const buckets = 2 ** bits;
  const counts = empty([buckets * chunks], 'i32', 'gather.counts'); // (buckets, chunks) u32 bits
  // Ping-pong buffers for the passes: sanitized keys (N) and positions n (N), sorted so far.
  const keys = [empty([n], 'i32', 'gather.keys'), passes > 1 ? empty([n], 'i32', 'gather.keys') : null];
  const pos = [empty([n], 'i32', 'gather.pos'), passes > 1 ? empty([n], 'i32', 'gather.pos') : null];
  // The first pass reads the raw indices (sanitized in the shader); its position input is unused and
  // bound to the indices only to fill the slot.
  let keysIn = indices;
  let posIn = indices;
  for (let p = 0; p < passes; p++) {
    const keysOut = keys[p % 2]!;
    const posOut = pos[p % 2]!;
    const u = new Uniforms().u32(n, chunks, p * bits, buckets, v, p === 0 ? 1 : 0).finish();
    rt().dispatch({ kernel: kernel('sort_histogram'), uniforms: u, buffers: [keysIn.buffer, counts.buffer], workgroups: grid1d(chunks, 1) });
    rt().dispatch({ kernel: kernel('sort_scan'), uniforms: u, buffers: [counts.buffer], workgroups: [1] });
    rt().dispatch({
      kernel: kernel('sort_scatter'),
      uniforms: u,
      buffers: [keysIn.buffer, posIn.buffer, counts.buffer, keysOut.buffer, posOut.buffer],
      workgroups: grid1d(chunks, 1),
    });
    keysIn = keysOut;
    posIn = posOut;
  }
  rt().dispatch({
    kernel: kernel('gather_backward'),
    uniforms: new Uniforms().u32(v * d, d, v, n).finish(),
    buffers: [keysIn.buffer, posIn.buffer, dy.buffer, dTable.buffer],
    workgroups: grid1d(v * d, wg),
  });
  for (const t of [counts, ...keys, ...pos]) t?.dispose();
  return dTable;
}

/** Registry entry (ops/registry.ts). */
export const gatherOps = { gather: gatherOp } as const;

/** Rows of `table` [V, D] picked by `indices` [...] (i32): [..., D]. Out-of-range indices give zero rows. */
export function gather(table: Tensor, indices: Tensor): Tensor {
  return apply(gatherOp, [table, indices], {});
}
