/**
 * Integrated gradients for every neuron (Dai et al., ACL 2022; Sundararajan et al., 2017): for one
 * example, one layer and one module, the module's whole output a is scaled along the straight path
 * from a baseline b (zero by default) to a, and neuron w's attribution is
 *   (a - b)_w . integral_0^1 d f(b + alpha (a - b)) / d x_w d alpha,
 * summed over the scaled token positions, f the model's probability for the example's true class. The
 * attributions of a module sum to f(a) - f(b) (completeness); the gap is recorded as Captum reports it.
 *
 * The fused path costs one forward to the top per example plus, per (layer, module), one
 * batched pass over the layers from that layer up, instead of m full passes:
 *   1. the example runs once at batch 1 (no grad), caching each layer's input hidden state;
 *   2. per (layer, module): the layers above resume from the cached state (esmForward's `from`); at the
 *      module a hook replaces its output by the M scaled copies (ig_scale, one kernel) as one batch, a
 *      leaf that requires grad (no parameter does), so the rest of the network runs batched while
 *      everything before the module stays at batch 1 and broadcasts;
 *   3. backward of sum_k f(x_k) gives d f / d x_k for every copy; ig_accumulate multiplies by (a - b),
 *      the quadrature weights, sums over positions and adds into the example's row of a GPU score block.
 * The steps are chunked (Captum's internal batch) to bound memory; the first node (alpha 0, weight 0)
 * gives f(baseline) for the completeness check. Scores are read back once per block of examples.
 *
 * Axis letters: M IG steps (rows of one chunk), L tokens, D model dim, W module width, C classes,
 * R rows of a score block, N neurons, P (module, layer) pairs.
 */
import {
  backward,
  empty,
  igAccumulate,
  igRecord,
  igScale,
  keep,
  mul,
  type NodeChunk,
  noGrad,
  rt,
  softmax,
  sum,
  type Tensor,
  tensor,
  tidy,
  tidyAsync,
  zeros,
} from '../engine/index.js';
import type { TaskRecord } from '../data/dataset.js';
import { type EsmBatch, type EsmModel, NEURON_MODULES, type NeuronModule, esmForward, prepareBatch } from '../model/esm.js';
import { type ClassifierHead, classify, meanPoolWeights } from '../model/head.js';
import { exampleTokens } from './examples.js';
import { type NeuronLayout, neuronLayout, neuronOffset } from './layout.js';
import { type QuadratureRule, nodeTable, quadrature } from './quadrature.js';

/**
 * Which token positions are scaled (and summed over): 'all', 'residues' (not <cls> or <eos>), or
 * 'cls' (only <cls>: Dai et al.'s single-position scaling; under it query and key attributions differ
 * legitimately, see pairs.ts, and with `<cls>` pooling it is the prediction position).
 */
export type IgPositions = 'all' | 'residues' | 'cls';

/** Every choice, for option parsing. */
export const IG_POSITIONS: readonly IgPositions[] = ['all', 'residues', 'cls'];

/** Options of igScores. */
export interface IgOptions {
  /** m: quadrature nodes (steps). */
  readonly steps: number;
  readonly rule: QuadratureRule;
  /** Rows per batched pass (Captum's internal_batch_size); default: as many as fit the memory budget. */
  readonly internalBatch?: number;
  /** Residues kept per sequence (its first ones). */
  readonly maxLength: number;
  /** Per-neuron baseline (N) in layout order (e.g. mean activations); zero when absent. */
  readonly baseline?: Float64Array;
  /**
   * 'all' (default): every token position is scaled, so alpha = 0 with a zero baseline is the model
   * with the whole module zeroed, as the ablations zero it; 'residues': <cls> and <eos> keep their value.
   */
  readonly positions?: IgPositions;
  /** Evaluate f(baseline) and record the completeness gap (default true). */
  readonly completeness?: boolean;
  /** Modules to score (default all); the others' scores stay 0. */
  readonly modules?: readonly NeuronModule[];
  /** 'fused' (default) or 'naive': m independent full passes, for benchmarks and tests. */
  readonly path?: 'fused' | 'naive';
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Finer progress within each example: called (and awaited) once each (module, layer) pair has been
   * recorded and submitted and the pair before it has finished on the GPU, with the pairs so far and
   * the pairs per example; a page yields to its UI here. The last pair is still running at (P, P).
   */
  readonly onPair?: (done: number, total: number) => void | Promise<void>;
  readonly meta?: Record<string, unknown>;
}

/** What one example's IG needs on the GPU, shared by the fused and naive paths. */
export interface IgContext {
  readonly model: EsmModel;
  readonly head: ClassifierHead;
  readonly layout: NeuronLayout;
  readonly modules: readonly NeuronModule[];
  /** (K, 2) node table: (alpha, weight), node 0 the baseline when completeness is on. */
  readonly nodes: Tensor;
  readonly withBaseline: boolean;
  /** Naive path: chunks of one node, each a full pass from the embeddings. */
  readonly naive: boolean;
  readonly chunks: readonly NodeChunk[];
  readonly positions: IgPositions;
  readonly onPair?: IgOptions['onPair'];
  /** (W) baseline of (module, layer). */
  baseline(module: NeuronModule, layer: number): Tensor;
  /** (R, N) score block and (R P, 3) completeness stats. */
  readonly score: Tensor;
  readonly stats: Tensor;
  /** Frees the context's GPU memory. */
  dispose(): void;
}

/** One example ready for IG: its batch of one, pooling weights and one-hot true class (1, C). */
export interface IgExample {
  readonly batch: EsmBatch;
  readonly pool: Tensor | undefined;
  readonly onehot: Tensor;
  readonly label: number;
  /** Row of the score block. */
  readonly row: number;
}

/** Rows per pass that keep the widest activation (attention probabilities or the FFN) near 256 MiB. */
export function autoInternalBatch(model: EsmModel, L: number, nodes: number): number {
  const c = model.config;
  const budget = Math.min(256 * 2 ** 20, rt().info.maxStorageBindingSize);
  const perRow = 4 * L * Math.max(c.attentionHeads * L, c.ffnDim);
  return Math.max(1, Math.min(nodes, Math.floor(budget / perRow)));
}

/** Chunks of at most `size` consecutive nodes of a K-node table. */
export function chunkNodes(K: number, size: number): NodeChunk[] {
  const out: NodeChunk[] = [];
  for (let node0 = 0; node0 < K; node0 += size) out.push({ node0, m: Math.min(size, K - node0) });
  return out;
}

/** Index of (module, layer) among the P completeness rows of an example (module-major). */
export function pairIndex(layout: NeuronLayout, module: NeuronModule, layer: number): number {
  return NEURON_MODULES.indexOf(module) * layout.numLayers + layer;
}

/** The scaled positions [lo, hi) of a sequence of L tokens. */
export function scaledPositions(positions: IgPositions, L: number): { lo: number; hi: number } {
  if (positions === 'cls') return { lo: 0, hi: 1 };
  return positions === 'all' ? { lo: 0, hi: L } : { lo: 1, hi: L - 1 };
}

/** f for a batch of final hidden states: class probabilities (M, C) and sum_k p_k[label] (a scalar). */
export function trueClassProbability(ctx: IgContext, ex: IgExample, last: Tensor): { probs: Tensor; f: Tensor } {
  const probs = softmax(classify(ctx.head, last, ex.pool)); // (M, C)
  return { probs, f: sum(mul(probs, ex.onehot)) }; // ()
}

/**
 * Records one chunk: the model from `from` (or the embeddings) with the module replaced by the chunk's
 * scaled copies, backward, and the accumulation. `a` holds the module's actual activation (1, L, W),
 * captured by the first chunk. Returns the chunk's probabilities (M, C) when it holds the baseline node.
 */
export function runChunk(ctx: IgContext, ex: IgExample, module: NeuronModule, layer: number, chunk: NodeChunk, a: { t: Tensor | null }, exScratch: Tensor, from: Tensor | null): Tensor | null {
  return tidy(() => {
    const base = ctx.baseline(module, layer);
    let leaf: Tensor | null = null;
    const pos = scaledPositions(ctx.positions, ex.batch.L);
    const res = esmForward(ctx.model, ex.batch, {
      from: from ? { layer, hidden: from } : undefined,
      hook: (l, m, out) => {
        if (l !== layer || m !== module) return out;
        a.t ??= keep(out);
        leaf = igScale(a.t, base, ctx.nodes, chunk, pos); // (M, L, W)
        leaf.requiresGrad = true;
        return leaf;
      },
    });
    const { probs, f } = trueClassProbability(ctx, ex, res.last);
    backward(f);
    const g = (leaf as Tensor | null)?.grad;
    if (!g) throw new Error(`integrated gradients: no gradient reached layer ${layer} ${module}`);
    const offset = ex.row * ctx.layout.total + neuronOffset(ctx.layout, module, layer);
    igAccumulate(g, a.t!, base, ctx.nodes, chunk, pos, { score: ctx.score, offset, ex: exScratch, reset: chunk.node0 === 0 });
    return ctx.withBaseline && chunk.node0 === 0 ? keep(probs) : null;
  });
}

/** Records the completeness row of (module, layer): sum of attributions, f(x), f(baseline). */
export function recordCompleteness(ctx: IgContext, ex: IgExample, module: NeuronModule, layer: number, exScratch: Tensor, px: Tensor, pb: Tensor | null): void {
  if (!pb) return;
  const P = NEURON_MODULES.length * ctx.layout.numLayers;
  igRecord(exScratch, px, pb, ctx.stats, ex.row * P + pairIndex(ctx.layout, module, layer), ex.label, ex.label);
}

/**
 * f(x) at batch 1 as class probabilities (1, C), and the hidden states entering each layer (the
 * naive path recomputes everything per step, so it needs only f(x)).
 */
function firstPass(ctx: IgContext, ex: IgExample): { px: Tensor; hiddens: Map<number, Tensor> } {
  return noGrad(() => {
    const layers = ctx.naive ? [] : Array.from({ length: ctx.layout.numLayers }, (_, i) => i);
    const res = esmForward(ctx.model, ex.batch, { reprLayers: layers });
    return { px: trueClassProbability(ctx, ex, res.last).probs, hiddens: res.hiddens };
  });
}

/**
 * The IG of one example: every selected (module, layer), scores into the example's row of the block.
 * Fused: each chunk resumes from the cached hidden state. Naive: chunks of one node, each a full pass
 * from the embeddings (m independent forward-and-backward passes, the reference the bench beats).
 */
export async function igExampleScores(ctx: IgContext, ex: IgExample): Promise<void> {
  await tidyAsync(async () => {
    const { px, hiddens } = firstPass(ctx, ex);
    let inFlight: Promise<void> | null = null;
    const pairs = ctx.modules.length * ctx.layout.numLayers;
    let pairsDone = 0;
    for (const module of ctx.modules) {
      for (let layer = 0; layer < ctx.layout.numLayers; layer++) {
        tidy(() => {
          const scratch = empty([ctx.layout.widths[module]], 'f32', 'ig_example'); // (W)
          const a = { t: null as Tensor | null };
          let pb: Tensor | null = null;
          const from = ctx.naive ? null : hiddens.get(layer)!;
          for (const chunk of ctx.chunks) pb = runChunk(ctx, ex, module, layer, chunk, a, scratch, from) ?? pb;
          recordCompleteness(ctx, ex, module, layer, scratch, px, pb);
          a.t?.dispose();
          pb?.dispose();
        });
        // At most two pairs in flight: the next pair is recorded while this one runs, and waiting for the
        // previous one bounds the queue (thousands of queued dispatches with their bind groups crash
        // lavapipe) and lets the pool reuse the pairs' buffers.
        const done = rt().submitted();
        done.catch(() => undefined); // awaited below or by the next pair; a rejection is not unhandled
        if (inFlight) await inFlight;
        inFlight = done;
        await ctx.onPair?.(++pairsDone, pairs);
      }
    }
    await rt().sync();
  });
}

/** Uploads what every example shares: node table, chunking, baselines, a score block of `rows` rows. */
export function igContext(model: EsmModel, head: ClassifierHead, opts: IgOptions, rows: number, maxTokens: number): IgContext {
  const naive = opts.path === 'naive';
  const layout = neuronLayout(model.config);
  const withBaseline = opts.completeness ?? true;
  const table = nodeTable(quadrature(opts.rule, opts.steps), withBaseline);
  const K = table.length / 2;
  const size = naive ? 1 : opts.internalBatch ?? autoInternalBatch(model, maxTokens, K);
  const nodes = keep(tensor(table, [K, 2], 'f32', 'ig_nodes'));
  const baselines = new Map<string, Tensor>();
  const baseline = (module: NeuronModule, layer: number): Tensor => {
    const key = opts.baseline ? `${module}:${layer}` : String(layout.widths[module]);
    let t = baselines.get(key);
    if (!t) {
      const W = layout.widths[module];
      const start = neuronOffset(layout, module, layer);
      t = keep(opts.baseline ? tensor(opts.baseline.subarray(start, start + W), [W], 'f32', 'ig_baseline') : zeros([W], 'f32', 'ig_baseline'));
      baselines.set(key, t);
    }
    return t;
  };
  const P = NEURON_MODULES.length * layout.numLayers;
  const score = keep(zeros([rows, layout.total], 'f32', 'ig_scores')); // (R, N)
  const stats = keep(zeros([rows * P, 3], 'f32', 'ig_stats')); // (R P, 3)
  return {
    model, head, score, stats, naive, layout, nodes, withBaseline, baseline,
    modules: opts.modules ?? NEURON_MODULES,
    chunks: chunkNodes(K, size),
    positions: opts.positions ?? 'all',
    onPair: opts.onPair,
    dispose() {
      for (const t of [nodes, score, stats, ...baselines.values()]) t.dispose();
    },
  };
}

/** Prepares one record as an IgExample (tensors live in the caller's scope). */
export function igExample(ctx: IgContext, record: TaskRecord, row: number, maxLength: number): IgExample {
  const tokens = exampleTokens(record, maxLength);
  const L = tokens.length;
  const C = ctx.head.numClasses;
  if (!(record.label >= 0 && record.label < C)) throw new Error(`record '${record.id}' has class ${record.label}, the head has ${C}`);
  const onehot = new Float32Array(C);
  onehot[record.label] = 1;
  return {
    batch: prepareBatch(ctx.model.config, tokens, 1, L),
    pool: ctx.head.pooling === 'mean' ? meanPoolWeights([L - 2], L) : undefined,
    onehot: tensor(onehot, [1, C], 'f32', 'onehot'),
    label: record.label,
    row,
  };
}

/** Checks the parameters need no gradient: IG differentiates with respect to activations only. */
export function checkFrozen(model: EsmModel, head: ClassifierHead): void {
  for (const [name, t] of [...model.params, ...head.params]) {
    if (t.requiresGrad) throw new Error(`integrated gradients: parameter ${name} requires grad; load the model without gradients`);
  }
}
