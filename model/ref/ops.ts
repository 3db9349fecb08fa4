/**
 * Float64 building blocks of the ESM-2 reference forward (model/ref/esm.ts): linear, LayerNorm, exact-erf
 * GELU, masked softmax and rotary embeddings, each written as plain loops over row-major arrays and matching
 * the torch semantics fair-esm relies on. Shapes use the axis letters of /work/shared/STYLE.md; N is any
 * number of rows (B * L).
 */
import { erf } from '../../engine/index.js';
import type { ParamMap } from '../params.js';

/** A tensor from the map, checked against its expected shape. */
export function param(params: ParamMap, name: string, shape: readonly number[]): ArrayLike<number> {
  const p = params.get(name);
  if (!p) throw new Error(`ref: missing parameter ${name}`);
  if (p.shape.length !== shape.length || p.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`ref: ${name} has shape [${p.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return p.data;
}

/** y = x W^T + b, as torch.nn.Linear. x (N, I), W (O, I), b (O) -> (N, O). */
export function linear(x: Float64Array, N: number, I: number, W: ArrayLike<number>, b: ArrayLike<number>, O: number): Float64Array {
  const y = new Float64Array(N * O); // (N, O)
  for (let n = 0; n < N; n++) {
    const xo = n * I;
    for (let o = 0; o < O; o++) {
      const wo = o * I;
      let s = 0;
      for (let i = 0; i < I; i++) s += x[xo + i]! * W[wo + i]!;
      y[n * O + o] = s + b[o]!;
    }
  }
  return y;
}

/**
 * LayerNorm over the last axis as torch.nn.LayerNorm (fair-esm's ESM1bLayerNorm without apex): biased
 * variance, eps inside the square root, then weight and bias. x (N, D) -> (N, D).
 */
export function layerNorm(x: Float64Array, N: number, D: number, w: ArrayLike<number>, b: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(N * D); // (N, D)
  for (let n = 0; n < N; n++) {
    const o = n * D;
    let mean = 0;
    for (let d = 0; d < D; d++) mean += x[o + d]!;
    mean /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[o + d]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / D + eps);
    for (let d = 0; d < D; d++) y[o + d] = (x[o + d]! - mean) * rstd * w[d]! + b[d]!;
  }
  return y;
}

/** GELU with the exact erf, as fair-esm's esm/modules.py gelu (not the tanh approximation). */
export function gelu(x: number): number {
  return x * 0.5 * (1 + erf(x / Math.SQRT2));
}

/** GELU applied in place to every element. */
export function geluInPlace(a: Float64Array): Float64Array {
  for (let i = 0; i < a.length; i++) a[i] = gelu(a[i]!);
  return a;
}

/**
 * Softmax of one row of logits in place, skipping positions where `masked[j]` is true (their probability is
 * exactly 0, as masked_fill(-inf) then softmax gives). At least one position must be unmasked.
 */
export function maskedSoftmaxInPlace(row: Float64Array, masked: ArrayLike<boolean>): void {
  let max = -Infinity;
  for (let j = 0; j < row.length; j++) if (!masked[j] && row[j]! > max) max = row[j]!;
  let sum = 0;
  for (let j = 0; j < row.length; j++) {
    const e = masked[j] ? 0 : Math.exp(row[j]! - max);
    row[j] = e;
    sum += e;
  }
  for (let j = 0; j < row.length; j++) row[j] = row[j]! / sum;
}

/** How rotary angles t * inv_freq are formed. */
export type RotaryAngles = 'float32' | 'float64';

/** cos and sin of the rotary angles, each (L, Dh/2). */
export interface RotaryTables {
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  readonly half: number;
}

/**
 * Rotary tables for positions 0..L-1 (absolute indices of the padded row, as fair-esm's RotaryEmbedding uses
 * torch.arange over the sequence axis). 'float32' rounds each angle t * inv_freq to float32 as fair-esm's
 * float32 einsum does, the dominant difference from exact angles at long range (an angle near 1000 carries
 * ~3e-5 of rounding); cos and sin are then taken in float64. 'float64' keeps exact angles, for tests of the
 * rotary algebra itself.
 */
export function rotaryTables(L: number, invFreq: ArrayLike<number>, angles: RotaryAngles): RotaryTables {
  const half = invFreq.length;
  const cos = new Float64Array(L * half); // (L, Dh/2)
  const sin = new Float64Array(L * half); // (L, Dh/2)
  for (let t = 0; t < L; t++) {
    for (let i = 0; i < half; i++) {
      const a = angles === 'float32' ? Math.fround(t * invFreq[i]!) : t * invFreq[i]!;
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  }
  return { cos, sin, half };
}

/**
 * Rotates one head vector x[off .. off + Dh) at position t in place: x * cos + rotate_half(x) * sin with
 * rotate_half(x) = cat(-x2, x1), i.e. the pairs (d, d + Dh/2) rotate by angle t * inv_freq[d]
 * (esm/rotary_embedding.py; the halves are contiguous, not interleaved).
 */
export function applyRotary(x: Float64Array, off: number, t: number, tab: RotaryTables): void {
  const { half, cos, sin } = tab;
  for (let d = 0; d < half; d++) {
    const x1 = x[off + d]!;
    const x2 = x[off + d + half]!;
    const c = cos[t * half + d]!;
    const s = sin[t * half + d]!;
    x[off + d] = x1 * c - x2 * s;
    x[off + d + half] = x2 * c + x1 * s;
  }
}

/** Logistic sigmoid, stable for large |x|. */
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}
