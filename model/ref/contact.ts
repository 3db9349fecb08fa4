/**
 * Float64 reference of fair-esm's ContactPredictionHead (esm/modules.py): attention maps of every layer and
 * head -> zero the <eos> rows and columns -> drop the last and first positions -> symmetrize -> average
 * product correction -> logistic regression over the layers * heads channels -> sigmoid.
 */
import type { EsmConfig } from '../config.js';
import type { ParamMap } from '../params.js';
import { param, sigmoid } from './ops.js';

/**
 * The regression's input features: attentions (B, layers, H, L, L) -> (B, C, L', L') with C = layers * H and
 * L' = L - 2. fair-esm multiplies by the outer product of (token != eos), then slices [..., :-1, :-1] (the
 * last position: <eos> of the longest sequence, a pad of shorter ones) and [..., 1:, 1:] (<cls>), then
 * applies symmetrize (x + x^T) and APC (x - rowsum * colsum / total) per channel.
 */
export function refContactFeatures(config: EsmConfig, tokens: Int32Array, shape: readonly [number, number], attentions: Float64Array): Float64Array {
  const [B, L] = shape;
  const C = config.numLayers * config.attentionHeads;
  if (attentions.length !== B * C * L * L) throw new Error(`ref contacts: ${attentions.length} attention values, expected [${B}, ${config.numLayers}, ${config.attentionHeads}, ${L}, ${L}]`);
  if (L < 3) throw new Error(`ref contacts: sequence length ${L} leaves no positions after removing cls and eos`);
  const Lc = L - 2;
  const out = new Float64Array(B * C * Lc * Lc); // (B, C, L', L')
  const a = new Float64Array(Lc * Lc); // (L', L') one channel after eos masking and slicing
  const rowSum = new Float64Array(Lc);
  const colSum = new Float64Array(Lc);
  for (let b = 0; b < B; b++) {
    const keep = (t: number): number => (tokens[b * L + t] === config.eosIdx ? 0 : 1);
    for (let c = 0; c < C; c++) {
      const src = (b * C + c) * L * L;
      for (let i = 0; i < Lc; i++) {
        for (let j = 0; j < Lc; j++) {
          // Slicing [..., :-1, :-1][..., 1:, 1:] keeps original positions 1 .. L-2.
          a[i * Lc + j] = attentions[src + (i + 1) * L + (j + 1)]! * keep(i + 1) * keep(j + 1);
        }
      }
      rowSum.fill(0);
      colSum.fill(0);
      let total = 0;
      for (let i = 0; i < Lc; i++) {
        for (let j = 0; j < Lc; j++) {
          const s = a[i * Lc + j]! + a[j * Lc + i]!; // symmetrize
          rowSum[i] += s;
          colSum[j] += s;
          total += s;
        }
      }
      const dst = (b * C + c) * Lc * Lc;
      for (let i = 0; i < Lc; i++) {
        for (let j = 0; j < Lc; j++) {
          out[dst + i * Lc + j] = a[i * Lc + j]! + a[j * Lc + i]! - (rowSum[i]! * colSum[j]!) / total;
        }
      }
    }
  }
  return out;
}

/**
 * Contact probabilities (B, L', L') = sigmoid(sum_c w[c] * features[b, c, i, j] + bias) from attentions
 * (B, layers, H, L, L) as ESM2.forward passes them (already zero on pad rows and columns).
 */
export function refContactHead(config: EsmConfig, params: ParamMap, tokens: Int32Array, shape: readonly [number, number], attentions: Float64Array): Float64Array {
  const [B, L] = shape;
  const C = config.numLayers * config.attentionHeads;
  const w = param(params, 'contact_head.regression.weight', [1, C]); // (1, C)
  const bias = param(params, 'contact_head.regression.bias', [1])[0]!;
  const f = refContactFeatures(config, tokens, shape, attentions); // (B, C, L', L')
  const Lc = L - 2;
  const out = new Float64Array(B * Lc * Lc); // (B, L', L')
  for (let b = 0; b < B; b++) {
    for (let ij = 0; ij < Lc * Lc; ij++) {
      let s = bias;
      for (let c = 0; c < C; c++) s += w[c]! * f[(b * C + c) * Lc * Lc + ij]!;
      out[b * Lc * Lc + ij] = sigmoid(s);
    }
  }
  return out;
}
