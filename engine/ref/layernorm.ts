/** Float64 reference for layer normalisation over the last axis (engine/ops/layernorm.ts). */
import type { LayernormAttrs } from '../ops/layernorm.js';
import { type Arr, arr } from './array.js';
import type { RefOp } from './op.js';

/** Per-row mean and 1 / sqrt(biased variance + eps) of x [R, D]. */
function stats(x: Arr, eps: number): { d: number; rows: number; mean: Float64Array; rstd: Float64Array } {
  const d = x.shape[x.shape.length - 1]!;
  const rows = x.data.length / d;
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x.data[r * d + j]!;
    const m = s / d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x.data[r * d + j]! - m) ** 2;
    mean[r] = m;
    rstd[r] = 1 / Math.sqrt(v / d + eps);
  }
  return { d, rows, mean, rstd };
}

const layernorm: RefOp<LayernormAttrs> = {
  forward([x, gamma, beta], a) {
    const { d, rows, mean, rstd } = stats(x!, a.eps);
    const y = arr(x!.shape);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) {
        const i = r * d + j;
        y.data[i] = (x!.data[i]! - mean[r]!) * rstd[r]! * gamma!.data[j]! + beta!.data[j]!;
      }
    }
    return y;
  },
  vjp([x, gamma], a, dy) {
    const { d, rows, mean, rstd } = stats(x!, a.eps);
    const dx = arr(x!.shape);
    const dGamma = arr([d]);
    const dBeta = arr([d]);
    for (let r = 0; r < rows; r++) {
      // With xhat = (x - mean) * rstd and g = dy * gamma: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
      const xhat = (j: number) => (x!.data[r * d + j]! - mean[r]!) * rstd[r]!;
      let gMean = 0;
      let gxMean = 0;
      for (let j = 0; j < d; j++) {
        const g = dy.data[r * d + j]! * gamma!.data[j]!;
        gMean += g / d;
        gxMean += (g * xhat(j)) / d;
        dGamma.data[j] += dy.data[r * d + j]! * xhat(j);
        dBeta.data[j] += dy.data[r * d + j]!;
      }
      for (let j = 0; j < d; j++) {
        const g = dy.data[r * d + j]! * gamma!.data[j]!;
        dx.data[r * d + j] = rstd[r]! * (g - gMean - xhat(j) * gxMean);
      }
    }
    return [dx, dGamma, dBeta];
  },
};

/** Reference entry (ref/index.ts). */
export const layernormRef = { layernorm };
