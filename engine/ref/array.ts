/**
 * Float64 CPU arrays for the reference implementation: the oracle the GPU kernels are tested against.
 * Plain loops, no cleverness; readability over speed.
 */

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

/** Row-major strides. */
export function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
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

/** Deterministic pseudo-random numbers (mulberry32) for tests and initialisation. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One normal draw of standard deviation `scale` (Box-Muller, two uniforms from rand). */
export function gaussian(rand: () => number, scale = 1): number {
  const u = Math.max(rand(), 1e-12);
  const v = rand();
  return scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Fisher-Yates shuffle of xs in place, drawing from rand (e.g. `rng(seed)`). */
export function shuffleInPlace<T>(xs: T[], rand: () => number): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}

/** Standard normal samples (Box-Muller) from a uniform source. */
export function randn(shape: Shape, rand: () => number, scale = 1): Arr {
  return map(arr(shape), () => gaussian(rand, scale));
}

/** Uniform samples in [lo, hi). */
export function uniform(shape: Shape, rand: () => number, lo = -1, hi = 1): Arr {
  return map(arr(shape), () => lo + (hi - lo) * rand());
}
