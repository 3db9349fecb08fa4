/**
 * Per-residue integrated gradients of a few chosen neurons, the decomposition over token positions of
 * the m-step IG score of ig.ts: for unit w of (layer, module), record r and token position p,
 *   IG_{w,p} = a_{w,p} . sum_k weight_k d f(alpha_k a) / d x_{w,p},
 * where the whole module output a of that layer is scaled jointly to each node alpha_k (zero baseline),
 * f is the record's true-class probability, and x the scaled copy. Summed over the scaled positions it
 * is exactly igScores' score of w for the same record, m, rule and positions (completeness of the
 * decomposition): igAccumulate computes the same product and sums it over positions on the GPU.
 *
 * It reuses ig.ts's pieces record by record (memory stays that of one record's IG): one no-grad pass
 * caches the hidden state entering each needed layer and the chosen activations; per (module, layer)
 * with chosen units, the layers above resume from that state with the module output replaced by the
 * chunk's M scaled copies (igScale) as a leaf requiring grad; after backward, the chosen units' columns
 * of d f / d x (M, L, k) are read back and weighted, summed and multiplied on the host.
 *
 * Axis letters: M IG steps (rows of one chunk), L tokens, W module width, k chosen units of one
 * (module, layer), K all chosen units.
 */
import { type Tensor, backward, igScale, keep, matmul, noGrad, tidy, tidyAsync } from '../engine/index.js';
import type { TaskRecord } from '../data/dataset.js';
import { type EsmModel, type NeuronModule, esmForward } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import { type IgContext, type IgPositions, checkFrozen, igContext, igExample, scaledPositions, trueClassProbability } from './ig.js';
import { type QuadratureRule, quadrature } from './quadrature.js';

/** The IG of neuron cards: m quadrature nodes of `rule`, positions scaled as in ig.ts (default 'all'). */
export interface CardIg {
  readonly steps: number;
  readonly rule: QuadratureRule;
  readonly positions?: IgPositions;
  /** Nodes per batched pass (default: as many as fit ig.ts's memory budget). */
  readonly internalBatch?: number;
}

/** Chosen units of one (module, layer): their (W, k) 0/1 selection matrix. */
export interface UnitGroup {
  readonly module: NeuronModule;
  readonly layer: number;
  /** (W, k) */
  readonly sel: Tensor;
}

/** A description of the attribution for metadata: 'integrated gradients, m = 10, gauss-legendre, ...'. */
export function describeCardIg(ig: CardIg | undefined): string {
  if (!ig) return 'gradient x activation (the IG integrand at alpha = 1)';
  return `integrated gradients, m = ${ig.steps}, ${ig.rule}, zero baseline, ${ig.positions ?? 'all'} positions scaled, the whole module output of the layer scaled jointly`;
}

/** Reusable state of one run: ig.ts's context (node table, chunking) and the quadrature weights. */
export interface CardIgRun {
  readonly ctx: IgContext;
  readonly weights: Float64Array;
  readonly maxLength: number;
  dispose(): void;
}

/** Prepares a run over records of at most maxLength residues. */
export function cardIgRun(model: EsmModel, head: ClassifierHead, ig: CardIg, maxLength: number): CardIgRun {
  if (!(Number.isInteger(ig.steps) && ig.steps >= 1)) throw new Error(`per-residue IG needs steps >= 1 (got ${ig.steps})`);
  checkFrozen(model, head);
  const ctx = igContext(model, head, { steps: ig.steps, rule: ig.rule, maxLength, positions: ig.positions, completeness: false, internalBatch: ig.internalBatch }, 1, maxLength + 2);
  return { ctx, weights: quadrature(ig.rule, ig.steps).weights, maxLength, dispose: () => ctx.dispose() };
}

/**
 * One record's chosen activations and per-position IG, both (1, L, K) with the groups' columns in
 * order (K the sum of their k); positions not scaled have IG 0.
 */
export async function recordIg(run: CardIgRun, record: TaskRecord, groups: readonly UnitGroup[]): Promise<{ L: number; activations: Float32Array; attributions: Float32Array }> {
  return tidyAsync(async () => {
    const { ctx } = run;
    const ks = groups.map((g) => g.sel.shape[1]!);
    const K = ks.reduce((a, b) => a + b, 0);
    const ex = igExample(ctx, record, 0, run.maxLength);
    const L = ex.batch.L;
    const activations = new Float32Array(L * K); // (1, L, K)
    const attributions = new Float32Array(L * K); // (1, L, K)
    const pos = scaledPositions(ctx.positions, L);
    const acts = new Map<UnitGroup, Tensor>(); // (1, L, k) each
    const { hiddens } = noGrad(() => esmForward(ctx.model, ex.batch, {
      reprLayers: [...new Set(groups.map((g) => g.layer))],
      hook: (layer, module, out) => {
        const g = groups.find((x) => x.layer === layer && x.module === module);
        if (g) acts.set(g, matmul(out, g.sel));
        return out;
      },
    }));
    let col0 = 0;
    for (const [gi, g] of groups.entries()) {
      const k = ks[gi]!;
      const a = await acts.get(g)!.f32(); // (1, L, k)
      const sumGrad = new Float64Array(L * k); // (L, k): sum_k weight_k d f / d x
      for (const chunk of ctx.chunks) {
        const gradT = tidy(() => {
          let leaf: Tensor | null = null;
          const res = esmForward(ctx.model, ex.batch, {
            from: { layer: g.layer, hidden: hiddens.get(g.layer)! },
            hook: (l, m, out) => {
              if (l !== g.layer || m !== g.module) return out;
              leaf = igScale(out, ctx.baseline(g.module, g.layer), ctx.nodes, chunk, pos); // (M, L, W)
              leaf.requiresGrad = true;
              return leaf;
            },
          });
          backward(trueClassProbability(ctx, ex, res.last).f);
          const grad = (leaf as Tensor | null)?.grad;
          if (!grad) throw new Error(`per-residue IG: no gradient reached layer ${g.layer} ${g.module}`);
          return keep(noGrad(() => matmul(grad, g.sel))); // (M, L, k)
        });
        try {
          const gv = await gradT.f32();
          for (let j = 0; j < chunk.m; j++) {
            const w = run.weights[chunk.node0 + j]!;
            for (let i = 0; i < L * k; i++) sumGrad[i]! += w * gv[j * L * k + i]!;
          }
        } finally {
          gradT.dispose();
        }
      }
      for (let t = 0; t < L; t++) {
        for (let c = 0; c < k; c++) {
          activations[t * K + col0 + c] = a[t * k + c]!;
          if (t >= pos.lo && t < pos.hi) attributions[t * K + col0 + c] = a[t * k + c]! * sumGrad[t * k + c]!;
        }
      }
      col0 += k;
    }
    return { L, activations, attributions };
  });
}
