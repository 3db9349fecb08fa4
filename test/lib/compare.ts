/** Float32-vs-float64 comparison with tolerances scaled by reduction length. */
import type { Arr } from '../../engine/ref/array.js';

/**
 * Fails unless |got - want| <= tol * (scale + |want|) everywhere, where scale is the largest |want|
 * (so tiny entries of a large tensor are judged against the tensor's magnitude). Returns the worst
 * relative error for reporting.
 */
export function assertClose(got: ArrayLike<number>, want: Arr, tol: number, what: string): number {
  if (got.length !== want.data.length) throw new Error(`${what}: ${got.length} values, expected ${want.data.length}`);
  let scale = 0;
  for (const v of want.data) scale = Math.max(scale, Math.abs(v));
  scale = Math.max(scale, 1e-6);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want.data[i]!;
    const err = Math.abs(g - w) / (scale + Math.abs(w));
    if (!(err <= tol)) {
      throw new Error(`${what}: element ${i} is ${g}, expected ${w} (relative error ${err.toExponential(2)} > ${tol.toExponential(2)}, shape [${want.shape}])`);
    }
    worst = Math.max(worst, err);
  }
  return worst;
}

/** Default float32 tolerance for an op whose longest reduction has n terms. */
export function f32Tolerance(n = 1): number {
  return 3e-6 * Math.sqrt(Math.max(1, n)) + 2e-6;
}
