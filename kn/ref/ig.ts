/**
 * Float64 oracle for the knowledge-neuron computations, on the reference ESM-2 (model/ref/esm.ts):
 * the classifier's probabilities with any hook, and integrated gradients by central differences on a
 * neuron's scale. Finite differences are used here only, on the float64 model, as STYLE.md asks; the
 * GPU's float32 IG is compared against this, never finite-differenced itself.
 *
 * Axis letters: B batch, L tokens, D model dim, W module width, C classes, K quadrature nodes.
 */
import type { EsmConfig } from '../../model/config.js';
import type { ParamMap } from '../../model/params.js';
import { type LinearModule, type NeuronHook, refEsmForward } from '../../model/ref/esm.js';

/** A classification head on the host: mean or <cls> pooling, dense, tanh, out. */
export interface RefHead {
  readonly pooling: 'mean' | 'cls';
  /** head.dense.{weight,bias} (D, D), (D); head.out.{weight,bias} (C, D), (C). */
  readonly params: ReadonlyMap<string, ArrayLike<number>>;
  readonly numClasses: number;
}

/** Class probabilities (B, C) of `tokens` (B, L) (no padding), with an optional reference hook. */
export function refClassifierProbs(config: EsmConfig, params: ParamMap, head: RefHead, tokens: Int32Array, B: number, L: number, hook?: NeuronHook): Float64Array {
  const last = refEsmForward(config, params, tokens, [B, L], { reprLayers: [config.numLayers], hook }).hiddens[config.numLayers]!; // (B, L, D)
  return refHeadProbs(config.embedDim, head, last, B, L);
}

/** Class probabilities (B, C) from final hidden states `last` (B, L, D) of unpadded rows. */
export function refHeadProbs(D: number, head: RefHead, last: Float64Array, B: number, L: number): Float64Array {
  const C = head.numClasses;
  const g = (n: string): ArrayLike<number> => head.params.get(n)!;
  const probs = new Float64Array(B * C); // (B, C)
  const [lo, hi] = head.pooling === 'mean' ? [1, L - 1] : [0, 1];
  for (let b = 0; b < B; b++) {
    const pooled = new Float64Array(D);
    for (let t = lo; t < hi; t++) for (let d = 0; d < D; d++) pooled[d]! += last[(b * L + t) * D + d]! / (hi - lo);
    const h = Float64Array.from({ length: D }, (_, o) => {
      let s = g('head.dense.bias')[o]!;
      for (let i = 0; i < D; i++) s += g('head.dense.weight')[o * D + i]! * pooled[i]!;
      return Math.tanh(s);
    });
    const logits = Float64Array.from({ length: C }, (_, c) => {
      let s = g('head.out.bias')[c]!;
      for (let i = 0; i < D; i++) s += g('head.out.weight')[c * D + i]! * h[i]!;
      return s;
    });
    const m = Math.max(...logits);
    let z = 0;
    for (const v of logits) z += Math.exp(v - m);
    for (let c = 0; c < C; c++) probs[b * C + c] = Math.exp(logits[c]! - m) / z;
  }
  return probs;
}

/** What refIntegratedGradients computes for one (layer, module). */
export interface RefIgResult {
  /** (W) attribution of each neuron, summed over the scaled positions. */
  readonly attributions: Float64Array;
  /** f(x) and f(baseline): the true class's probability with the module at alpha 1 and 0. */
  readonly fx: number;
  readonly fb: number;
}

/** Options of refIntegratedGradients. */
export interface RefIgOptions {
  readonly layer: number;
  readonly module: LinearModule;
  readonly label: number;
  /** Quadrature nodes and weights on [0, 1]. */
  readonly alphas: ArrayLike<number>;
  readonly weights: ArrayLike<number>;
  /** (W) per-neuron baseline; zero when absent. */
  readonly baseline?: ArrayLike<number>;
  /** Scaled positions [lo, hi); every position when absent. */
  readonly positions?: { lo: number; hi: number };
  /** Central-difference step on the scale (default 1e-4). */
  readonly h?: number;
}

/**
 * Integrated gradients of one example (tokens (1, L)) for every neuron of one (layer, module):
 * attribution_w = sum_k weight_k d/d eps f(module = b + alpha_k (a - b), neuron w at alpha_k + eps),
 * the eps-derivative (which is (a - b)_w . grad_w f summed over positions) by central differences in
 * float64, all 2W perturbed copies of a node run as one reference batch.
 */
export function refIntegratedGradients(config: EsmConfig, params: ParamMap, head: RefHead, tokens: Int32Array, o: RefIgOptions): RefIgResult {
  const L = tokens.length;
  const C = head.numClasses;
  const h = o.h ?? 1e-4;
  const pos = o.positions ?? { lo: 0, hi: L };
  // Row b of a batch scales neuron w by scales[b][w]: base + s (v - base) at the scaled positions.
  const run = (scales: Float64Array[]): Float64Array => {
    const B = scales.length;
    const tokensB = new Int32Array(B * L);
    for (let b = 0; b < B; b++) tokensB.set(tokens, b * L);
    const hook: NeuronHook = (layer, module, values, [, , W]) => {
      if (layer !== o.layer || module !== o.module) return;
      for (let b = 0; b < B; b++) {
        for (let t = pos.lo; t < pos.hi; t++) {
          for (let w = 0; w < W; w++) {
            const base = o.baseline?.[w] ?? 0;
            const i = (b * L + t) * W + w;
            values[i] = base + scales[b]![w]! * (values[i]! - base);
          }
        }
      }
    };
    const p = refClassifierProbs(config, params, head, tokensB, B, L, hook); // (B, C)
    return Float64Array.from({ length: B }, (_, b) => p[b * C + o.label]!);
  };
  const W = o.module === 'ffn_in' ? config.ffnDim : config.embedDim;
  const ends = run([new Float64Array(W).fill(1), new Float64Array(W)]); // f at alpha 1 and 0
  const attributions = new Float64Array(W);
  for (let k = 0; k < o.alphas.length; k++) {
    const alpha = o.alphas[k]!;
    const rows: Float64Array[] = [];
    for (let w = 0; w < W; w++) {
      for (const sign of [1, -1]) {
        const s = new Float64Array(W).fill(alpha);
        s[w] = alpha + sign * h;
        rows.push(s);
      }
    }
    const f = run(rows); // (2W)
    for (let w = 0; w < W; w++) attributions[w]! += o.weights[k]! * (f[2 * w]! - f[2 * w + 1]!) / (2 * h);
  }
  return { attributions, fx: ends[0]!, fb: ends[1]! };
}
