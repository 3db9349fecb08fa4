/**
 * Float64 reference for the optimizer (engine/optim/): one AdamW step as written in the AdamW paper
 * and torch.optim.AdamW, and global gradient-norm clipping as torch.nn.utils.clip_grad_norm_.
 */

/** AdamW hyperparameters for one step. */
export interface AdamWRefHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

/**
 * One AdamW update in place on p, m, v given gradient g; t is the step number after this update
 * (1 for the first).
 */
export function adamwStepRef(p: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, t: number, h: AdamWRefHyper): void {
  for (let i = 0; i < p.length; i++) {
    p[i]! *= 1 - h.lr * h.weightDecay;
    m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g[i]!;
    v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g[i]! * g[i]!;
    const mHat = m[i]! / (1 - h.beta1 ** t);
    const vHat = v[i]! / (1 - h.beta2 ** t);
    p[i]! -= (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
  }
}

/** Scales the gradients in place by min(1, maxNorm / (norm + 1e-6)); returns the norm before scaling. */
export function clipGradNormRef(grads: readonly Float64Array[], maxNorm: number): number {
  let sumSq = 0;
  for (const g of grads) for (const x of g) sumSq += x * x;
  const norm = Math.sqrt(sumSq);
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i]! *= coef;
  return norm;
}
