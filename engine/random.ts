/**
 * Deterministic randomness for initialisation, data order, masking and sampling: one seeded generator
 * (mulberry32) and the draws built on it. The float64 oracle (ref/array.ts) and the tests use the same.
 */

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
