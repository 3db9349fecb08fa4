/**
 * Launchers of the integrated-gradients and neuron-statistics kernels (shaders/ig.wgsl). They are not
 * tape ops: ig_scale makes a leaf (the M scaled copies whose gradient IG needs), and the others are
 * sinks that add into score buffers. Every launcher checks shapes first and throws a ShapeError that
 * names them; ref/ig.ts holds their float64 references.
 *
 * Axis letters: M IG steps (rows of one chunk), L tokens, W module width, B batch, C classes,
 * R score rows (examples), N neurons per row.
 */
import igWgsl from '../../shaders/ig.wgsl';
import { rt } from '../context.js';
import { type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { defaultWg, grid1d } from './grid.js';
import { ShapeError } from './op.js';
import type { PositionRange } from '../ref/ig.js';
import { type Tensor, empty, fmtShape } from '../tensor.js';

const MODULE: ShaderModuleSpec = { name: 'ig', code: igWgsl };

/** Rows node0 .. node0 + m - 1 of the node table form one chunk of the IG batch. */
export interface NodeChunk {
  readonly node0: number;
  readonly m: number;
}

function spec(entry: string, bindings: KernelSpec['bindings'], constants: Record<string, number> = {}): KernelSpec {
  return { module: MODULE, entry, bindings, constants: { WG: defaultWg(), ...constants } };
}

function f32(op: string, name: string, t: Tensor): void {
  if (t.dtype !== 'f32') throw new ShapeError(op, `${name} must be f32, got ${t.dtype}`);
}

/** Checks a (1, L, W) activation, (W) baseline, (K, 2) node table, chunk and positions; returns [L, W]. */
export function checkIgInputs(op: string, a: Tensor, base: Tensor, nodes: Tensor, chunk: NodeChunk, pos: PositionRange): [number, number] {
  const shapes = `a ${fmtShape(a.shape)}, base ${fmtShape(base.shape)}, nodes ${fmtShape(nodes.shape)}`;
  if (a.rank !== 3 || a.shape[0] !== 1) throw new ShapeError(op, `${shapes}: a must be one example (1, L, W)`);
  const [, L, W] = a.shape as [number, number, number];
  if (base.rank !== 1 || base.shape[0] !== W) throw new ShapeError(op, `${shapes}: base must be (W) = [${W}]`);
  if (nodes.rank !== 2 || nodes.shape[1] !== 2) throw new ShapeError(op, `${shapes}: nodes must be (K, 2) pairs of alpha and weight`);
  if (!(Number.isInteger(chunk.m) && chunk.m >= 1 && chunk.node0 >= 0 && chunk.node0 + chunk.m <= nodes.shape[0]!)) {
    throw new ShapeError(op, `${shapes}: nodes ${chunk.node0}..${chunk.node0 + chunk.m - 1} are not in the table`);
  }
  if (!(pos.lo >= 0 && pos.lo <= pos.hi && pos.hi <= L)) throw new ShapeError(op, `${shapes}: positions [${pos.lo}, ${pos.hi}) outside [0, ${L})`);
  for (const [n, t] of [['a', a], ['base', base], ['nodes', nodes]] as const) f32(op, n, t);
  return [L, W];
}

/** The chunk's scaled copies x (M, L, W) of a (1, L, W): base + alpha_k (a - base) at the positions. */
export function igScale(a: Tensor, base: Tensor, nodes: Tensor, chunk: NodeChunk, pos: PositionRange): Tensor {
  const [L, W] = checkIgInputs('igScale', a, base, nodes, chunk, pos);
  const x = empty([chunk.m, L, W], 'f32', 'ig_scaled'); // (M, L, W)
  const v = W % 4 === 0 ? 4 : 1; // four neurons per invocation where W allows
  rt().dispatch({
    kernel: spec(v === 4 ? 'ig_scale4' : 'ig_scale', ['uniform', 'read', 'read', 'read', 'rw']),
    uniforms: new Uniforms().u32(chunk.m, L, W, pos.lo, pos.hi, chunk.node0, 0, 0).finish(),
    buffers: [a.buffer, base.buffer, nodes.buffer, x.buffer],
    workgroups: grid1d(x.size / v, defaultWg()),
  });
  return x;
}

/** Where ig_accumulate adds: an element offset into score (R, N) and the per-example scratch ex (W). */
export interface ScoreTarget {
  readonly score: Tensor;
  readonly offset: number;
  readonly ex: Tensor;
  /** True for the first chunk of an (example, module, layer): ex is overwritten instead of added to. */
  readonly reset: boolean;
}

/**
 * Adds the chunk's attributions sum_l (a - base) sum_k weight_k g[k] to score[offset .. offset + W)
 * and to ex. g (M, L, W) is the gradient of f at the chunk's scaled copies.
 */
export function igAccumulate(g: Tensor, a: Tensor, base: Tensor, nodes: Tensor, chunk: NodeChunk, pos: PositionRange, target: ScoreTarget): void {
  const [L, W] = checkIgInputs('igAccumulate', a, base, nodes, chunk, pos);
  if (g.shape.join() !== [chunk.m, L, W].join()) throw new ShapeError('igAccumulate', `g ${fmtShape(g.shape)} must be (M, L, W) = [${chunk.m}, ${L}, ${W}]`);
  if (!(Number.isInteger(target.offset) && target.offset >= 0 && target.offset + W <= target.score.size)) {
    throw new ShapeError('igAccumulate', `score ${fmtShape(target.score.shape)} has no room for ${W} neurons at offset ${target.offset}`);
  }
  if (target.ex.size !== W) throw new ShapeError('igAccumulate', `ex ${fmtShape(target.ex.shape)} must hold W = ${W} values`);
  rt().dispatch({
    kernel: spec('ig_accumulate', ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw']),
    uniforms: new Uniforms().u32(chunk.m, L, W, pos.lo, pos.hi, chunk.node0, target.offset, target.reset ? 1 : 0).finish(),
    buffers: [g.buffer, a.buffer, base.buffer, nodes.buffer, target.score.buffer, target.ex.buffer],
    workgroups: grid1d(W, defaultWg()),
  });
}

/**
 * Writes stats row `stat` (S, 3): the sum of ex (one example's attributions over all neurons of the
 * module), f(x) = px[pxIndex] and f(baseline) = pb[pbIndex].
 */
export function igRecord(ex: Tensor, px: Tensor, pb: Tensor, stats: Tensor, stat: number, pxIndex: number, pbIndex: number): void {
  if (stats.rank !== 2 || stats.shape[1] !== 3 || !(stat >= 0 && stat < stats.shape[0]!)) {
    throw new ShapeError('igRecord', `stats ${fmtShape(stats.shape)} has no row ${stat} of 3 values`);
  }
  if (!(pxIndex >= 0 && pxIndex < px.size && pbIndex >= 0 && pbIndex < pb.size)) {
    throw new ShapeError('igRecord', `px ${fmtShape(px.shape)} [${pxIndex}] or pb ${fmtShape(pb.shape)} [${pbIndex}] is out of range`);
  }
  rt().dispatch({
    kernel: spec('ig_record', ['uniform', 'read', 'read', 'read', 'rw']),
    uniforms: new Uniforms().u32(ex.size, stat, pxIndex, pbIndex).finish(),
    buffers: [ex.buffer, px.buffer, pb.buffer, stats.buffer],
    workgroups: [1],
  });
}

/**
 * score[rows[b], offset + w] += sum_l pw[b, l] x[b, l, w] (or |x|): position-weighted sums of a
 * module output x (B, L, W) into score (R, N), one score row per sequence (rows (B), i32).
 */
export function neuronSum(x: Tensor, pw: Tensor, rows: Tensor, score: Tensor, offset: number, abs: boolean): void {
  const shapes = `x ${fmtShape(x.shape)}, pw ${fmtShape(pw.shape)}, rows ${fmtShape(rows.shape)}, score ${fmtShape(score.shape)}`;
  if (x.rank !== 3) throw new ShapeError('neuronSum', `${shapes}: x must be (B, L, W)`);
  const [B, L, W] = x.shape as [number, number, number];
  if (pw.shape.join() !== [B, L].join()) throw new ShapeError('neuronSum', `${shapes}: pw must be (B, L) = [${B}, ${L}]`);
  if (rows.shape.join() !== String(B) || rows.dtype !== 'i32') throw new ShapeError('neuronSum', `${shapes}: rows must be (B) = [${B}] i32`);
  if (score.rank !== 2 || offset < 0 || offset + W > score.shape[1]!) throw new ShapeError('neuronSum', `${shapes}: no room for ${W} neurons at offset ${offset}`);
  rt().dispatch({
    kernel: spec('neuron_sum', ['uniform', 'read', 'read', 'read', 'rw'], { ABS: abs ? 1 : 0 }),
    uniforms: new Uniforms().u32(B, L, W, score.shape[1]!, offset, 0, 0, 0).finish(),
    buffers: [x.buffer, pw.buffer, rows.buffer, score.buffer],
    workgroups: grid1d(W, defaultWg()),
  });
}
