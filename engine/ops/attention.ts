/**
 * Fused multi-head attention (shaders/attention.wgsl) as ESM-2 computes it: q, k, v (B, L, D) straight
 * from the projections, q scaled, rotary embeddings on q and k, a key-padding mask, softmax, and the
 * heads' outputs merged back to (B, L, D). The (B, H, L, L) scores and probabilities are never
 * materialised, and no head split or merge is copied. Backward recomputes the probabilities from the
 * saved row log-sum-exp (flash-attention 2).
 *
 * Batch dims broadcast: q, k, v and the mask may each have batch B' or 1 (a hook widening one module
 * to the m steps of integrated gradients). Needs the `subgroups` feature and Dh a multiple of 8 (4
 * without rotary) up to 64: `fusedAttentionSupported` tells callers when to use the unfused ops.
 */
import attentionWgsl from '../../shaders/attention.wgsl';
import { rt } from '../context.js';
import { type BindingKind, type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { type Tensor, empty, fmtShape } from '../tensor.js';
import { noGrad } from '../tape.js';
import { scale, sumTo } from './elementwise.js';
import { subgroupTiling } from './grid.js';
import { type OpDef, ShapeError, type TensorMeta, apply, describe, expectDtypes } from './op.js';
import { rotaryHeads, rotaryTable } from './rotary.js';

const MODULE: ShaderModuleSpec = { name: 'attention', code: attentionWgsl };
/** Largest head dim: the kernels' per-invocation register arrays hold 64 dims. */
const MAX_DH = 64;

/** heads H; scale multiplies q before the rotation; rotary on/off, with a checkpoint's inv_freq. */
export interface AttentionAttrs {
  readonly heads: number;
  readonly scale: number;
  readonly rotary: boolean;
  readonly invFreq?: readonly number[];
}

/** q' = rope(scale q) and k' = rope(k) as both passes read them, v, the mask, the output and (lse, delta). */
type AttentionSaved = { qr: Tensor; kr: Tensor; v: Tensor; mask: Tensor | null; out: Tensor; stats: Tensor };

/** Whether the fused kernels serve head dim dh on this device (otherwise use the unfused ops). */
export function fusedAttentionSupported(dh: number, rotary = true): boolean {
  return subgroupTiling() !== null && rt().info.maxStorageBuffersPerStage >= MAX_STORAGE && dhSupported(dh, rotary);
}

function dhSupported(dh: number, rotary: boolean): boolean {
  return Number.isInteger(dh) && dh > 0 && dh <= MAX_DH && dh % (rotary ? 8 : 4) === 0;
}

/** Output batch B' and the common (L, D); throws ShapeError naming every shape. */
function planAttention(inputs: readonly TensorMeta[], a: AttentionAttrs): { b: number; l: number; d: number; dh: number } {
  const [q, k, v, mask] = inputs;
  const names = ['q', 'k', 'v', 'mask'];
  const all = () => describe(inputs, names); // built only for an error
  if (!q || !k || !v || inputs.length > 4) throw new ShapeError('attention', `expects q, k, v and an optional mask, got ${inputs.length} inputs`);
  expectDtypes('attention', inputs, ['f32', 'f32', 'f32', 'f32']);
  if ([q, k, v].some((t) => t.shape.length !== 3)) throw new ShapeError('attention', `q, k and v must be [B, L, D] (${all()})`);
  const [, l, d] = q.shape as [number, number, number];
  if ([k, v].some((t) => t.shape[1] !== l || t.shape[2] !== d)) throw new ShapeError('attention', `q, k and v must share L and D (${all()})`);
  const b = Math.max(q.shape[0]!, k.shape[0]!, v.shape[0]!, mask?.shape[0] ?? 1);
  if ([q, k, v].some((t) => t.shape[0] !== b && t.shape[0] !== 1)) throw new ShapeError('attention', `batch dims must be ${b} or 1 (${all()})`);
  if (mask && (mask.shape.length !== 2 || mask.shape[1] !== l || (mask.shape[0] !== b && mask.shape[0] !== 1))) {
    throw new ShapeError('attention', `mask must be [${b}, ${l}] or [1, ${l}] (${all()})`);
  }
  if (!Number.isInteger(a.heads) || a.heads < 1 || d % a.heads !== 0) throw new ShapeError('attention', `D = ${d} does not split into ${a.heads} heads (${all()})`);
  const dh = d / a.heads;
  if (!dhSupported(dh, a.rotary)) {
    throw new ShapeError('attention', `head dim ${dh} unsupported: needs a multiple of ${a.rotary ? 8 : 4} up to ${MAX_DH} (${all()})`);
  }
  if (a.rotary && a.invFreq && a.invFreq.length !== dh / 2) throw new ShapeError('attention', `invFreq has ${a.invFreq.length} values, head dim ${dh} needs ${dh / 2}`);
  return { b, l, d, dh };
}

type Entry = 'attention_forward' | 'attention_dq' | 'attention_dkv';
const BINDINGS: Record<Entry, readonly BindingKind[]> = {
  attention_forward: ['uniform', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  attention_dq: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  attention_dkv: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'],
};
/** Storage buffers the backward kernels bind (9): WebGPU's default limit is 8, so some devices can't. */
const MAX_STORAGE = Math.max(...Object.values(BINDINGS).map((b) => b.filter((k) => k !== 'uniform').length));

function kernel(entry: Entry, dh: number, a: AttentionAttrs, masked: boolean): KernelSpec {
  const sg = subgroupTiling();
  if (!sg) throw new Error(`fused attention needs WebGPU subgroups of at least 4 lanes; this device (${rt().info.description}) has none`);
  return {
    module: MODULE,
    entry,
    bindings: BINDINGS[entry],
    constants: {
      WG: sg.wg,
      RG: sg.rg,
      DH: dh,
      // The forward reads q' and k' already rotated; backward rotates its gradients back.
      ...(entry === 'attention_forward' ? {} : { ROPE: +a.rotary }),
      MASKED: +masked,
    },
  };
}

/** Uniforms shared by the tiled entry points: sizes, scale, per-input batch strides (0: broadcast). */
function uniforms(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, a: AttentionAttrs, b: number): Uint8Array {
  const [, l, d] = q.shape as [number, number, number];
  const stride = (t: Tensor, row: number) => (t.shape[0] === 1 ? 0 : row);
  return new Uniforms()
    .u32(l, d, a.heads)
    .f32(a.scale)
    .u32(stride(q, l * d), stride(k, l * d), stride(v, l * d), mask ? stride(mask, l) : 0)
    .u32(b * a.heads * l)
    .finish();
}

/** Grid of the tiled kernels: `per` L-positions per invocation, one workgroup row per head and batch. */
function tiles(l: number, heads: number, b: number, per: number): [number, number, number] {
  const grid: [number, number, number] = [Math.ceil(l / (per * subgroupTiling()!.wg)), heads, b];
  const limit = rt().info.maxWorkgroupsPerDim;
  if (grid.some((g) => g > limit)) throw new Error(`attention: grid ${fmtShape(grid)} exceeds ${limit} workgroups per dimension`);
  return grid;
}

/**
 * x' = rope(scale x) for x (B, L, D), or scale x without rotary (x itself for scale 1). Untaped: it
 * runs inside the op's forward, whose own backward accounts for it.
 */
function rotated(x: Tensor, a: AttentionAttrs, mul: number): Tensor {
  if (!a.rotary) return mul === 1 ? x : noGrad(() => scale(x, mul));
  return rotaryHeads(x, a.heads, mul, a.invFreq);
}

/** The gradient of an input that broadcast over the batch: summed back to its own shape. */
function reduced(full: Tensor, own: Tensor): Tensor {
  if (full.shape[0] === own.shape[0]) return full;
  const r = sumTo(full, own.shape);
  full.dispose();
  return r;
}

const attentionOp: OpDef<AttentionAttrs, AttentionSaved> = {
  name: 'attention',
  infer(inputs, a) {
    const { b, l, d } = planAttention(inputs, a);
    return { shape: [b, l, d], dtype: 'f32' };
  },
  forward([q, k, v, m], a, out) {
    const { b, l, dh } = planAttention([q!, k!, v!, ...(m ? [m] : [])], a);
    const mask = m ?? null;
    // (2, B', H, L): forward writes the row log-sum-exp; backward writes delta = do . o after it.
    const stats = empty([2, b, a.heads, l], 'f32', 'attention.stats');
    const qr = rotated(q!, a, a.scale); // (Bq, L, D) q' = rope(scale q)
    const kr = rotated(k!, a, 1); // (Bk, L, D) k' = rope(k)
    if (out.size) {
      rt().dispatch({
        kernel: kernel('attention_forward', dh, a, mask !== null),
        uniforms: uniforms(q!, k!, v!, mask, a, b),
        // Without a mask, q' fills its binding (MASKED = 0: never read); the forward reads no table.
        buffers: [qr.buffer, kr.buffer, v!.buffer, (mask ?? qr).buffer, qr.buffer, out.buffer, stats.buffer],
        workgroups: tiles(l, a.heads, b, 8),
      });
    }
    return { qr, kr, v: v!, mask, out, stats };
  },
  backward(dy, s, a, needs) {
    const { qr, kr, v, mask, out, stats } = s;
    const [b, l] = out.shape as [number, number, number];
    const dh = qr.shape[2]! / a.heads;
    const dq = empty(out.shape, 'f32', 'd_attention.q');
    const dk = empty(out.shape, 'f32', 'd_attention.k');
    const dv = empty(out.shape, 'f32', 'd_attention.v');
    if (out.size) {
      const table = a.rotary ? rotaryTable(l, dh, a.invFreq) : qr;
      const u = uniforms(qr, kr, v, mask, a, b);
      const shared = [qr.buffer, kr.buffer, v.buffer, (mask ?? qr).buffer, table.buffer, dy.buffer];
      // dq first: it writes delta, which attention_dkv reads.
      rt().dispatch({ kernel: kernel('attention_dq', dh, a, mask !== null), uniforms: u, buffers: [...shared, out.buffer, stats.buffer, dq.buffer], workgroups: tiles(l, a.heads, b, 8) });
      rt().dispatch({ kernel: kernel('attention_dkv', dh, a, mask !== null), uniforms: u, buffers: [...shared, stats.buffer, dk.buffer, dv.buffer], workgroups: tiles(l, a.heads, b, 4) });
    }
    const grads = [needs[0] ? reduced(dq, qr) : dq, needs[1] ? reduced(dk, kr) : dk, needs[2] ? reduced(dv, v) : dv];
    return [...grads.map((g, i) => (needs[i] ? g : (g.dispose(), null))), ...(mask ? [null] : [])];
  },
};

/** Registry entry (ops/registry.ts). */
export const attentionOps = { attention: attentionOp } as const;

/** Options of `attention`. */
export interface AttentionOptions {
  /** Multiplies q before the rotation; default Dh^-0.5 (fair-esm). */
  readonly scale?: number;
  /** Rotary embeddings on q and k (default true), with a checkpoint's stored inv_freq when given. */
  readonly rotary?: boolean;
  readonly invFreq?: readonly number[];
  /** Key-padding mask (B, L) or (1, L): 1 keep, 0 masked. Masked keys get probability 0. */
  readonly mask?: Tensor;
}

/**
 * Multi-head attention of q, k, v (B, L, D) with H heads: out (B', L, D), B' the widest batch. Equals
 * merge(softmax(mask(rope(scale q_h) rope(k_h)^T)) v_h) of the unfused ops; a query whose keys are all
 * masked gets zeros.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, heads: number, opts: AttentionOptions = {}): Tensor {
  const dh = q.shape[q.rank - 1]! / heads;
  const attrs: AttentionAttrs = {
    heads,
    scale: opts.scale ?? dh ** -0.5,
    rotary: opts.rotary ?? true,
    ...(opts.invFreq ? { invFreq: opts.invFreq } : {}),
  };
  return apply(attentionOp, opts.mask ? [q, k, v, opts.mask] : [q, k, v], attrs);
}
