/**
 * Rotary position embedding (shaders/rotary.wgsl), exactly as fair-esm's esm/rotary_embedding.py:
 * non-interleaved rotate-half over the last axis of x [..., L, Dh], positions 0..L-1 along axis -2,
 * inv_freq[j] = 1 / 10000^(2j / Dh). ESM applies it to q and k shaped [B * H, L, Dh] (or [B, H, L, Dh]).
 *
 * The cos/sin table is computed on the host, not in the shader (SwiftShader's sin is off by 2e-4),
 * and follows fair-esm's float32 arithmetic: inv_freq in float32 (or the checkpoint's stored values,
 * which ESM-2 keeps rounded to float16), angle = fround(t * inv_freq), then cos/sin rounded to f32.
 * Matching fair-esm's rounding matters more than float64 accuracy here: at t = 1000 the rounded
 * angle differs from the exact one by ~3e-5 rad. Tables are cached per (L, Dh, inv_freq) as kept
 * tensors, least recently used evicted beyond ROTARY_CACHE_LIMIT.
 */
import rotaryWgsl from '../../shaders/rotary.wgsl';
import { rt } from '../context.js';
import { type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { keep } from '../scope.js';
import { type Tensor, empty, fmtShape, tensor } from '../tensor.js';
import { defaultWg, grid1d } from './grid.js';
import { type OpDef, ShapeError, apply } from './op.js';

const MODULE: ShaderModuleSpec = { name: 'rotary', code: rotaryWgsl };

/** Most cos/sin tables kept at once (one per distinct (L, Dh); a table is L * Dh * 4 bytes). */
export const ROTARY_CACHE_LIMIT = 8;

// Insertion order is recency order: a hit is moved to the end, eviction takes the first entry.
const tables = new Map<string, Tensor>();

/** fair-esm's inv_freq in float32: 1 / 10000^(arange(0, Dh, 2).float() / Dh), each step rounded. */
export function defaultInvFreq(dh: number): number[] {
  const f = Math.fround;
  return Array.from({ length: dh / 2 }, (_, j) => f(1 / f(Math.pow(10000, f((2 * j) / dh)))));
}

/** The rotation angle of position t and frequency j, rounded as fair-esm's float32 einsum does. */
export function rotaryAngle(t: number, invFreq: readonly number[], j: number): number {
  return Math.fround(t * invFreq[j]!);
}

/**
 * The table (L, Dh): cos(angle(t, j)) in columns j < Dh/2, sin in columns Dh/2 + j.
 * emb = cat(freqs, freqs) repeats each angle in both halves, so half the columns suffice per function.
 */
export function rotaryTableValues(l: number, dh: number, invFreq: readonly number[] = defaultInvFreq(dh)): Float64Array {
  const half = dh / 2;
  const out = new Float64Array(l * dh);
  for (let t = 0; t < l; t++) {
    for (let j = 0; j < half; j++) {
      const angle = rotaryAngle(t, invFreq, j);
      out[t * dh + j] = Math.cos(angle);
      out[t * dh + half + j] = Math.sin(angle);
    }
  }
  return out;
}

// inv_freq arrays live as long as their model and are looked up per layer per pass: stringify each once.
const freqKeys = new WeakMap<readonly number[], string>();
function freqKey(invFreq: readonly number[]): string {
  let k = freqKeys.get(invFreq);
  if (k === undefined) freqKeys.set(invFreq, (k = invFreq.join(',')));
  return k;
}

/**
 * The cached f32 table (L, Dh) for (L, Dh, inv_freq); created (and kept out of every tidy scope) on a
 * miss. Fused attention (ops/attention.ts) reads the same table.
 */
export function rotaryTable(l: number, dh: number, invFreq?: readonly number[]): Tensor {
  const key = `${l}x${dh}:${invFreq ? freqKey(invFreq) : 'default'}`;
  const hit = tables.get(key);
  if (hit) {
    tables.delete(key);
    tables.set(key, hit);
    return hit;
  }
  const t = keep(tensor(rotaryTableValues(l, dh, invFreq), [l, dh], 'f32', `rotary_table(${l},${dh})`));
  tables.set(key, t);
  if (tables.size > ROTARY_CACHE_LIMIT) {
    const [oldKey, old] = tables.entries().next().value as [string, Tensor];
    tables.delete(oldKey);
    // Safe even if recorded work still reads it: the pool reuses a buffer only after the next submit.
    old.dispose();
  }
  return t;
}

/** Number of cached cos/sin tables (tests check the bound). */
export function rotaryCacheSize(): number {
  return tables.size;
}

/** Frees every cached cos/sin table. */
export function clearRotaryCache(): void {
  for (const t of tables.values()) t.dispose();
  tables.clear();
}

const KERNEL = (entry: 'rotary_apply' | 'rotary_heads' = 'rotary_apply'): KernelSpec => ({
  module: MODULE,
  entry,
  bindings: ['uniform', 'read', 'read', 'rw'],
  constants: { WG: defaultWg() },
});

/** Rotates src (R, L, Dh) into out: by +angle (forward) or -angle (backward, sinSign = -1). */
function launch(src: Tensor, out: Tensor, sinSign: 1 | -1, invFreq?: readonly number[]): void {
  const l = src.shape[src.rank - 2]!;
  const dh = src.shape[src.rank - 1]!;
  const pairs = src.size / 2;
  if (!pairs) return;
  rt().dispatch({
    kernel: KERNEL(),
    uniforms: new Uniforms().u32(pairs, l, dh / 2).f32(sinSign).finish(),
    buffers: [src.buffer, rotaryTable(l, dh, invFreq).buffer, out.buffer],
    workgroups: grid1d(pairs, defaultWg()),
  });
}

// Nothing is saved: backward fetches the table again from the cache (a hit), and saving a cached
// table would let `apply` dispose it when not recording.
/** invFreq: a checkpoint's stored inv_freq (Dh/2 values); omitted, fair-esm's float32 formula. */
export type RotaryAttrs = { readonly invFreq?: readonly number[] };

const rotaryOp: OpDef<RotaryAttrs, Record<string, never>> = {
  name: 'rotary',
  infer([x], a) {
    const s = x!.shape;
    if (x!.dtype !== 'f32') throw new ShapeError('rotary', `x ${fmtShape(s)} must be f32, got ${x!.dtype}`);
    if (s.length < 2) throw new ShapeError('rotary', `x ${fmtShape(s)} must be [..., L, Dh]`);
    const dh = s[s.length - 1]!;
    if (dh % 2 !== 0) throw new ShapeError('rotary', `x ${fmtShape(s)} has odd last axis ${dh}`);
    if (a.invFreq && a.invFreq.length !== dh / 2) {
      throw new ShapeError('rotary', `invFreq has ${a.invFreq.length} values, x ${fmtShape(s)} needs ${dh / 2}`);
    }
    return { shape: s, dtype: 'f32' };
  },
  forward([x], a, out) {
    launch(x!, out, 1, a.invFreq);
    return {};
  },
  // The rotation is orthogonal, so the vjp is the inverse rotation of d_y (same kernel, sin negated).
  backward(dy, _s, a) {
    const dx = empty(dy.shape, 'f32', 'd_rotary');
    launch(dy, dx, -1, a.invFreq);
    return [dx];
  },
};

/** Registry entry (ops/registry.ts). */
export const rotaryOps = { rotary: rotaryOp } as const;

/**
 * Rotary position embedding of x [..., L, Dh] (Dh even), positions 0..L-1 along axis -2. Pass a
 * checkpoint's stored inv_freq to reproduce it exactly (ESM-2 stores float16-rounded values).
 */
export function rotary(x: Tensor, invFreq?: readonly number[]): Tensor {
  return apply(rotaryOp, [x], invFreq ? { invFreq } : {});
}

/**
 * rope(scale x) for every head of x (B, L, H Dh) in place of layout (no head split), Dh a multiple of 8:
 * the q' and k' of fused attention (ops/attention.ts). Not an op: nothing is taped, the caller's
 * backward accounts for the rotation.
 */
export function rotaryHeads(x: Tensor, heads: number, scale: number, invFreq?: readonly number[]): Tensor {
  const [, l, d] = x.shape as [number, number, number];
  const dh = d / heads;
  if (x.rank !== 3 || !Number.isInteger(dh) || dh % 8 !== 0) {
    throw new ShapeError('rotaryHeads', `x ${fmtShape(x.shape)} must be [B, L, H Dh] with H = ${heads} and Dh a multiple of 8`);
  }
  const out = empty(x.shape, 'f32', 'rotary_heads');
  const n = x.size / 8;
  if (n) {
    rt().dispatch({
      kernel: KERNEL('rotary_heads'),
      uniforms: new Uniforms().u32(n, l, heads, dh / 8).f32(scale).finish(),
      buffers: [x.buffer, rotaryTable(l, dh, invFreq).buffer, out.buffer],
      workgroups: grid1d(n, defaultWg()),
    });
  }
  return out;
}
