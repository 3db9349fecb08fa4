/**
 * Integrated gradients per residue (Sundararajan et al., 2017): the attribution of one class's
 * probability to each residue's input embedding (the first layer's input, hidden state 0), baseline
 * zero at the residue positions (<cls> and <eos> keep their embedding), summed over the model dim:
 *   attr_l = sum_d x_ld . sum_k w_k d f(b + alpha_k (x - b)) / d x_ld,
 * which sums to f(x) - f(b) up to the quadrature error (completeness) where f is smooth along the path.
 * It need not be: LayerNorm rescales the shrunken residue rows, and in the embedded default model the
 * probability jumps by steps (measured on the float64 reference too) while alpha is still ~0.02, which
 * no node count resolves; the gap reports that.
 *
 * No kernel of its own: the M scaled copies of the embeddings come from ig_scale (engine/ops/ig.ts) as one
 * batch, the layers resume from them (esmForward's `from` at layer 0), and the accumulation is a
 * broadcast multiply by the node weights and by x, then a sum over M and D (existing ops). Its float64
 * reference is kn/ref/residue_ig.ts.
 *
 * Axis letters: M IG steps (rows of one chunk), K nodes, L tokens, D model dim, C classes.
 */
import {
  backward,
  igScale,
  keep,
  mul,
  noGrad,
  softmax,
  sum,
  type Tensor,
  tensor,
  tidy,
  tidyAsync,
  zeros,
} from '../engine/index.js';
import { type EsmModel, esmForward, prepareBatch } from '../model/esm.js';
import { type ClassifierHead, classify, meanPoolWeights } from '../model/head.js';
import { autoInternalBatch, chunkNodes } from './ig.js';
import { type QuadratureRule, nodeTable, quadrature } from './quadrature.js';

/** Options of residueIg. */
export interface ResidueIgOptions {
  /** m: quadrature nodes. */
  readonly steps: number;
  /** Default 'riemann' (midpoints). */
  readonly rule?: QuadratureRule;
  /** Rows per batched pass; default: as many as fit the memory budget. */
  readonly internalBatch?: number;
  /** Called after each chunk with (done, total) chunks. */
  readonly onProgress?: (done: number, total: number) => void | Promise<void>;
}

/** Per-residue attributions of one sequence. */
export interface ResidueIgResult {
  /** (L - 2) attribution of residue i (token i + 1). */
  readonly attributions: Float64Array;
  /** The attributed class and its probability at the input and at the baseline. */
  readonly label: number;
  readonly fx: number;
  readonly fb: number;
  /** sum(attributions) - (fx - fb). */
  readonly gap: number;
}

/**
 * IG of class `label`'s probability w.r.t. the residue embeddings of `tokens` (<cls> residues <eos>).
 * The model's parameters must not require grad.
 */
export function residueIg(model: EsmModel, head: ClassifierHead, tokens: Int32Array, label: number, opts: ResidueIgOptions): Promise<ResidueIgResult> {
  // The batch's tensors (tokens, masks) are freed with this scope.
  return tidyAsync(() => residueIgScoped(model, head, tokens, label, opts));
}

async function residueIgScoped(model: EsmModel, head: ClassifierHead, tokens: Int32Array, label: number, opts: ResidueIgOptions): Promise<ResidueIgResult> {
  const L = tokens.length;
  const C = head.numClasses;
  if (L < 3) throw new Error('residue IG: a sequence needs at least one residue');
  if (!(Number.isInteger(label) && label >= 0 && label < C)) throw new Error(`residue IG: class ${label} outside [0, ${C})`);
  const q = quadrature(opts.rule ?? 'riemann', opts.steps);
  const table = nodeTable(q, true); // (K, 2): node 0 is the baseline (alpha 0, weight 0)
  const K = table.length / 2;
  const chunks = chunkNodes(K, opts.internalBatch ?? autoInternalBatch(model, L, K));
  const pos = { lo: 1, hi: L - 1 };
  const onehotData = new Float32Array(C);
  onehotData[label] = 1;

  const batch = prepareBatch(model.config, tokens, 1, L);
  const pool = head.pooling === 'mean' ? keep(meanPoolWeights([L - 2], L)) : undefined; // (1, L, 1)
  const onehot = keep(tensor(onehotData, [1, C], 'f32', 'onehot')); // (1, C)
  const nodes = keep(tensor(table, [K, 2], 'f32', 'ig_nodes')); // (K, 2)
  const base = keep(zeros([model.config.embedDim], 'f32', 'ig_baseline')); // (D)
  const probsOf = (last: Tensor) => softmax(classify(head, last, pool)); // (M, C)
  const first = noGrad(() =>
    tidy(() => {
      const res = esmForward(model, batch, { reprLayers: [0] });
      return { x: keep(res.hiddens.get(0)!), px: keep(probsOf(res.last)) }; // (1, L, D), (1, C)
    }),
  );
  const attributions = new Float64Array(L - 2);
  let fb = Number.NaN;
  try {
    for (const [ci, chunk] of chunks.entries()) {
      const w = tensor(table.filter((_, i) => i % 2 === 1).subarray(chunk.node0, chunk.node0 + chunk.m), [chunk.m, 1, 1], 'f32', 'ig_weights'); // (M, 1, 1)
      const { contrib, probs } = tidy(() => {
        const leaf = igScale(first.x, base, nodes, chunk, pos); // (M, L, D)
        leaf.requiresGrad = true;
        const last = esmForward(model, batch, { from: { layer: 0, hidden: leaf } }).last; // (M, L, D)
        const p = probsOf(last); // (M, C)
        backward(sum(mul(p, onehot)));
        const g = leaf.grad!; // (M, L, D)
        return noGrad(() => ({ contrib: keep(sum(mul(mul(g, w), first.x), [0, 2])), probs: keep(p) })); // (L), (M, C)
      });
      w.dispose();
      const c = await contrib.f32();
      contrib.dispose();
      for (let i = 0; i < L - 2; i++) attributions[i]! += c[i + 1]!;
      if (chunk.node0 === 0) fb = (await probs.f32())[label]!;
      probs.dispose();
      await opts.onProgress?.(ci + 1, chunks.length);
    }
    const fx = (await first.px.f32())[label]!;
    const gap = attributions.reduce((a, b) => a + b, 0) - (fx - fb);
    return { attributions, label, fx, fb, gap };
  } finally {
    for (const t of [first.x, first.px, pool, onehot, nodes, base]) t?.dispose();
  }
}
