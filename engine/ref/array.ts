/**
 * Float64 CPU arrays for the reference implementation: the oracle the GPU kernels are tested against.
 * Plain loops, no cleverness; readability over speed.
 */
import { gaussian } from '../random.js';

export type Shape = readonly number[];

/** A float64 array with a row-major shape. */
export interface Arr {
  readonly shape: Shape;
  readonly data: Float64Array;
}

/** Number of elements. */
export function numel(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** An array from values (copied). */
export function arr(shape: Shape, data?: ArrayLike<number>): Arr {
  const d = new Float64Array(numel(shape));
  if (data) {
    if (data.length !== d.length) throw new Error(`ref: ${data.length} values for shape [${shape}]`);
    d.set(data);
  }
  return { shape: [...shape], data: d };
}

/** Same shape, values from f. */
export function map(a: Arr, f: (v: number, i: number) => number): Arr {
  const out = arr(a.shape);
  for (let i = 0; i < a.data.length; i++) out.data[i] = f(a.data[i]!, i);
  return out;
}

/** Multi-index of flat index i. */
export function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = i % shape[k]!;
    i = Math.floor(i / shape[k]!);
  }
  return idx;
}

/** Flat index of a multi-index. */
export function ravel(idx: readonly number[], shape: Shape): number {
  let i = 0;
  for (let k = 0; k < shape.length; k++) i = i * shape[k]! + idx[k]!;
  return i;
}

/** Standard normal samples (Box-Muller) from a uniform source. */
export function randn(shape: Shape, rand: () => number, scale = 1): Arr {
  return map(arr(shape), () => gaussian(rand, scale));
}

/** Uniform samples in [lo, hi). */
export function uniform(shape: Shape, rand: () => number, lo = -1, hi = 1): Arr {
  return map(arr(shape), () => lo + (hi - lo) * rand());
}
