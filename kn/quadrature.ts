/**
 * Quadrature rules for the integrated-gradients path integral over alpha in [0, 1], as Captum offers
 * them: the Riemann midpoint rule (error O(1/m^2) for a smooth integrand) and Gauss-Legendre (exact for
 * polynomials of degree 2m - 1, so it converges much faster on the smooth paths of a transformer).
 * Pure code.
 */

/** The IG quadrature rules. */
export type QuadratureRule = 'riemann' | 'gauss-legendre';

/** Every rule, for option parsing. */
export const QUADRATURE_RULES: readonly QuadratureRule[] = ['riemann', 'gauss-legendre'];

/** Nodes alpha_k in (0, 1) and weights summing to 1. */
export interface Quadrature {
  readonly alphas: Float64Array;
  readonly weights: Float64Array;
}

/** Legendre nodes and weights on [-1, 1] by Newton's method on P_m (Numerical Recipes' gauleg). */
function gaussLegendre(m: number): Quadrature {
  const x = new Float64Array(m);
  const w = new Float64Array(m);
  for (let i = 0; i < Math.ceil(m / 2); i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p1 = 1;
      let p2 = 0;
      for (let j = 1; j <= m; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = ((2 * j - 1) * z * p2 - (j - 1) * p3) / j;
      }
      dp = (m * (z * p1 - p2)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-15) break;
    }
    x[i] = -z;
    x[m - 1 - i] = z;
    w[i] = w[m - 1 - i] = 2 / ((1 - z * z) * dp * dp);
  }
  // Map [-1, 1] to [0, 1]: alpha = (x + 1) / 2, and the weights halve.
  return { alphas: x.map((v) => (v + 1) / 2), weights: w.map((v) => v / 2) };
}

/** The m nodes and weights of a rule on [0, 1]. */
export function quadrature(rule: QuadratureRule, m: number): Quadrature {
  if (!(Number.isInteger(m) && m >= 1)) throw new Error(`integrated gradients need a whole number of steps >= 1, got ${m}`);
  if (rule === 'gauss-legendre') return gaussLegendre(m);
  return { alphas: Float64Array.from({ length: m }, (_, k) => (k + 0.5) / m), weights: new Float64Array(m).fill(1 / m) };
}

/**
 * The node table the kernels read: (alpha, weight) pairs, with a leading (0, 0) node when the
 * completeness check wants f(baseline) from the same batched pass (weight 0: it adds nothing).
 */
export function nodeTable(q: Quadrature, withBaseline: boolean): Float32Array {
  const rows = q.alphas.length + (withBaseline ? 1 : 0);
  const t = new Float32Array(rows * 2);
  const first = withBaseline ? 1 : 0;
  q.alphas.forEach((a, k) => {
    t[(first + k) * 2] = a;
    t[(first + k) * 2 + 1] = q.weights[k]!;
  });
  return t;
}
