/**
 * Float64 oracle for per-residue integrated gradients (residue_ig.ts) on the reference ESM-2: the
 * residue embeddings are scaled along the path from zero, and residue l's attribution is
 *   sum_k w_k d/d eps f(embeddings at alpha_k, residue l's row at alpha_k + eps),
 * the eps-derivative (= sum_d x_ld . grad_ld f) by central differences in float64, the 2 n perturbed
 * copies of a node run as one reference batch. Finite differences on the float64 model only.
 *
 * Axis letters: B batch, L tokens, D model dim, C classes, K quadrature nodes.
 */
import type { EsmConfig } from '../../model/config.js';
import type { ParamMap } from '../../model/params.js';
import { refEmbed, refFinalNorm, refLayer } from '../../model/ref/esm.js';
import { type RefHead, refHeadProbs } from './ig.js';

/** What refResidueIg returns. */
export interface RefResidueIg {
  /** (L - 2) per residue. */
  readonly attributions: Float64Array;
  /** f at the input and at the baseline (residue embeddings zero). */
  readonly fx: number;
  readonly fb: number;
}

/**
 * Per-residue IG of class `label` for one sequence `tokens` (L) = <cls> residues <eos>, nodes `alphas`
 * with `weights`, central-difference step `h`.
 */
export function refResidueIg(config: EsmConfig, params: ParamMap, head: RefHead, tokens: Int32Array, label: number, alphas: ArrayLike<number>, weights: ArrayLike<number>, h = 1e-4): RefResidueIg {
  const L = tokens.length;
  const D = config.embedDim;
  const C = head.numClasses;
  const x = refEmbed(config, params, tokens, 1, L); // (1, L, D)
  // Row b scales residue t's embedding by scales[b][t]; <cls> and <eos> stay at 1.
  const run = (scales: Float64Array[]): Float64Array => {
    const B = scales.length;
    const tokensB = new Int32Array(B * L);
    let hidden: Float64Array = new Float64Array(B * L * D); // (B, L, D)
    for (let b = 0; b < B; b++) {
      tokensB.set(tokens, b * L);
      for (let t = 0; t < L; t++) {
        const s = t === 0 || t === L - 1 ? 1 : scales[b]![t]!;
        for (let d = 0; d < D; d++) hidden[(b * L + t) * D + d] = s * x[t * D + d]!;
      }
    }
    for (let i = 0; i < config.numLayers; i++) hidden = refLayer(config, params, i, hidden, tokensB, B, L).x;
    const p = refHeadProbs(config.embedDim, head, refFinalNorm(config, params, hidden), B, L); // (B, C)
    return Float64Array.from({ length: B }, (_, b) => p[b * C + label]!);
  };
  const ends = run([new Float64Array(L).fill(1), new Float64Array(L)]);
  const attributions = new Float64Array(L - 2);
  for (let k = 0; k < alphas.length; k++) {
    const rows: Float64Array[] = [];
    for (let t = 1; t < L - 1; t++) {
      for (const sign of [1, -1]) {
        const s = new Float64Array(L).fill(alphas[k]!);
        s[t] = alphas[k]! + sign * h;
        rows.push(s);
      }
    }
    const f = run(rows);
    for (let r = 0; r < L - 2; r++) attributions[r]! += weights[k]! * (f[2 * r]! - f[2 * r + 1]!) / (2 * h);
  }
  return { attributions, fx: ends[0]!, fb: ends[1]! };
}
