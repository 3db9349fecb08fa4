/**
 * Per-residue evidence for a few chosen neurons: each neuron's activation at every residue of every
 * record, and optionally a per-residue attribution, kept per position instead of summed away (the
 * scores in activation.ts and ig.ts sum over positions).
 *
 * Memory stays bounded by one evaluation batch: a forward hook multiplies each hooked module output
 * (B, L, W) by a 0/1 selection matrix (W, k) that picks the chosen neurons of that (module, layer), so
 * only (B, L, K) values are read back per batch, and each record's rows are handed to a callback (the
 * caller decides what to keep; `collectPositions` keeps everything, for small sets).
 *
 * Attribution (`attribution: true`) is gradient x activation of the record's true-class probability f
 * with respect to the neuron's output at each residue: a_lw . d f / d a_lw, the integrand of integrated
 * gradients at alpha = 1 (a one-node, first-order IG with a zero baseline; Shrikumar et al. 2016), not
 * the m-step IG of ig.ts. It needs one forward and one backward per batch: a zero leaf (B, L, W) is
 * added to each hooked output, so its gradient is d f / d a.
 *
 * With `ig` the attribution is the m-step integrated gradients of ig.ts decomposed over positions
 * instead (kn/positions_ig.ts: the whole module output of the layer scaled jointly, zero baseline):
 * a neuron's values summed over the scaled positions are its igScores score for the record. It runs
 * record by record, one batched pass per (module, layer) and chunk of nodes.
 *
 * With a window reading (batching.window) a long record is read as the model reads it, window by
 * window, and its evidence covers every residue (windowedPositions).
 *
 * Query and key neurons are read per rotary pair by default (kn/pairs.ts; `qk: 'unit'` reads the raw
 * unit): rotating q and k by one angle within a pair (d, d + Dh/2) leaves the model unchanged but mixes
 * the two units, so a single unit's activation is not a property of the model. A pair's activation is
 * its norm sqrt(a_d^2 + a_{d+Dh/2}^2) and its attribution the sum of its two units' (a dot product of
 * gradient and activation within the pair); both are invariant to that rotation. Both units are read
 * as U unit columns and reduced to the K neurons on the host.
 *
 * Axis letters: B batch, L tokens, W module width, K chosen neurons, U their units, k chosen units of
 * one (module, layer), C classes, Dh head dim.
 */
import { type Tensor, add, backward, concat, keep, matmul, mul, noGrad, softmax, sum, tensor, tidy, zeros } from '../engine/index.js';
import type { TaskRecord } from '../data/dataset.js';
import { encodePlan, planBatches } from '../model/batching.js';
import { type EvalBatching, type EvalWindow, classifierForward, eachEvalBatch, windowStarts } from '../model/classifier.js';
import { type EsmModel, NEURON_MODULES, type NeuronHook, type NeuronModule, esmForward, moduleWidth, prepareBatch } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import { type QkUnits, neuronUnits } from './pairs.js';
import { type CardIg, cardIgRun, recordIg } from './positions_ig.js';

/** One neuron: output unit `index` of `module` in `layer`. */
export interface NeuronRef {
  readonly module: NeuronModule;
  readonly layer: number;
  readonly index: number;
}

/** "ffn_in:1:37", a neuron's key in maps and files. */
export function neuronKey(n: NeuronRef): string {
  return `${n.module}:${n.layer}:${n.index}`;
}

/** What one record gives: the chosen neurons' values at its residues. */
export interface RecordEvidence {
  /** Index of the record in the input list. */
  readonly record: number;
  /** n: residues seen (the record's first ones, up to the batching's maxLength; all of them under a window reading). */
  readonly residues: number;
  /** (K, n) activation of neuron k at residue i, in the order of the neurons given (a query/key pair's norm). */
  readonly activations: Float32Array;
  /** (K, n) gradient x activation (or with `ig` integrated gradients) of the true-class probability (a query/key pair's sum); only with `attribution` or `ig`. */
  readonly attributions?: Float32Array;
}

/** Options of neuronPositions. */
export interface PositionOptions {
  readonly batching: EvalBatching;
  /** Also compute per-residue gradient x activation (needs the classifier head). */
  readonly attribution?: boolean;
  /** Per-residue attribution as m-step integrated gradients instead (implies `attribution`). */
  readonly ig?: CardIg;
  /** Query and key neurons per rotary pair (default) or per unit (basis-dependent; for checks). */
  readonly qk?: QkUnits;
  /** Called after each batch with the records done so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Chosen neurons grouped by (module, layer): the selection matrix of each and where its columns go. */
export interface Group {
  readonly module: NeuronModule;
  readonly layer: number;
  /** (W, k) 0/1 selection matrix on the GPU. */
  readonly sel: Tensor;
  /** Position in the caller's neuron list of each of the k columns. */
  readonly targets: number[];
}

/** The neurons grouped by (module, layer), each group's selection matrix kept (the caller disposes it). */
export function groupNeurons(model: EsmModel, neurons: readonly NeuronRef[]): Group[] {
  const c = model.config;
  const byPair = new Map<string, { module: NeuronModule; layer: number; idx: number[]; targets: number[] }>();
  neurons.forEach((n, i) => {
    const W = moduleWidth(c, n.module);
    if (!(NEURON_MODULES as readonly string[]).includes(n.module)) throw new Error(`neuron ${neuronKey(n)}: unknown module`);
    if (!(Number.isInteger(n.layer) && n.layer >= 0 && n.layer < c.numLayers)) throw new Error(`neuron ${neuronKey(n)}: layer outside [0, ${c.numLayers})`);
    if (!(Number.isInteger(n.index) && n.index >= 0 && n.index < W)) throw new Error(`neuron ${neuronKey(n)}: index outside [0, ${W})`);
    const key = `${n.module}:${n.layer}`;
    const g = byPair.get(key) ?? { module: n.module, layer: n.layer, idx: [], targets: [] };
    g.idx.push(n.index);
    g.targets.push(i);
    byPair.set(key, g);
  });
  return [...byPair.values()].map((g) => {
    const W = moduleWidth(c, g.module);
    const k = g.idx.length;
    const m = new Float32Array(W * k); // (W, k)
    g.idx.forEach((w, j) => (m[w * k + j] = 1));
    return { module: g.module, layer: g.layer, sel: keep(tensor(m, [W, k], 'f32', `select_${g.module}_${g.layer}`)), targets: g.targets };
  });
}

/** (B, L, K) from per-group (B, L, k) blocks, in group order. */
function joinGroups(blocks: readonly Tensor[]): Tensor {
  return blocks.length === 1 ? blocks[0]! : concat(blocks, 2);
}

/** Splits a batch's (B, L, K) values (groups' column order) into per-record (K, n) rows in neuron order. */
function perRecord(values: Float32Array, L: number, lengths: ArrayLike<number>, b: number, order: readonly number[]): { n: number; rows: Float32Array } {
  const K = order.length;
  const n = lengths[b]! - 2;
  const rows = new Float32Array(K * n);
  for (let col = 0; col < K; col++) {
    const k = order[col]!;
    for (let i = 0; i < n; i++) rows[k * n + i] = values[(b * L + i + 1) * K + col]!; // residue i is token i + 1
  }
  return { n, rows };
}

/**
 * Per-neuron rows from per-unit rows: `units[k]` unit rows (U, n) belong to neuron k, in order; one
 * unit is copied, a pair gives its norm (activations) or its sum (attributions). Returns (K, n).
 */
function reduceUnits(rows: Float32Array, n: number, units: readonly (readonly number[])[], reduce: 'norm' | 'sum'): Float32Array {
  const out = new Float32Array(units.length * n); // (K, n)
  let u = 0;
  units.forEach((us, k) => {
    for (let i = 0; i < n; i++) {
      if (us.length === 1) out[k * n + i] = rows[u * n + i]!;
      else {
        const a = rows[u * n + i]!;
        const b = rows[(u + 1) * n + i]!;
        out[k * n + i] = reduce === 'norm' ? Math.hypot(a, b) : a + b;
      }
    }
    u += us.length;
  });
  return out;
}

/**
 * Runs the records in evaluation batches and calls `consume` once per record with the chosen neurons'
 * activations (and attributions) at its residues, query and key neurons per rotary pair unless
 * `qk: 'unit'`. Records are visited in batch order (length-sorted), each exactly once; `consume` gets
 * the record's index.
 */
export async function neuronPositions(
  model: EsmModel,
  head: ClassifierHead | null,
  records: readonly TaskRecord[],
  neurons: readonly NeuronRef[],
  opts: PositionOptions,
  consume: (e: RecordEvidence) => void,
): Promise<void> {
  const w = opts.batching.window;
  if (w) {
    if (w.stride > w.size) throw new Error(`window stride ${w.stride} is more than its size ${w.size}: residues between windows would be read by none`);
    if (records.some((r) => r.sequence.length > w.size)) return windowedPositions(model, head, records, neurons, opts, w, consume);
    // Every record fits one window: read whole, as the windowed path reads its short records.
    opts = { ...opts, batching: { ...opts.batching, maxLength: w.size, window: undefined } };
  }
  const units = neurons.map((n) => (opts.qk === 'unit' ? [n.index] : neuronUnits(n.module, n.index, model.config.headDim)));
  if (units.every((us) => us.length === 1)) return unitPositions(model, head, records, neurons, opts, consume);
  const flat = neurons.flatMap((n, k) => units[k]!.map((index) => ({ module: n.module, layer: n.layer, index }))); // (U)
  return unitPositions(model, head, records, flat, opts, (e) => {
    consume({
      record: e.record, residues: e.residues, activations: reduceUnits(e.activations, e.residues, units, 'norm'),
      ...(e.attributions ? { attributions: reduceUnits(e.attributions, e.residues, units, 'sum') } : {}),
    });
  });
}

/**
 * neuronPositions under a window reading (batching.window): every record longer than W is read as its
 * W-residue windows at the reading's stride (windowStarts, the last flush with the end), each window a
 * record of its own, and each residue takes its values from the window where it sits farthest from an
 * edge (the most context on both sides; ties to the earlier window). The record's evidence then spans
 * all its residues, as the model's reading does. Attributions are each window's own (of that window's
 * true-class probability), not of the mean logits.
 */
async function windowedPositions(
  model: EsmModel,
  head: ClassifierHead | null,
  records: readonly TaskRecord[],
  neurons: readonly NeuronRef[],
  opts: PositionOptions,
  w: EvalWindow,
  consume: (e: RecordEvidence) => void,
): Promise<void> {
  const pieces: TaskRecord[] = [];
  const owner: { record: number; start: number }[] = [];
  const windows = records.map((r, n) => {
    const starts = windowStarts(r.sequence.length, w);
    for (const start of starts) {
      pieces.push({ ...r, id: `${r.id}@${start}`, sequence: r.sequence.slice(start, start + w.size) });
      owner.push({ record: n, start });
    }
    return starts.length;
  });
  const K = neurons.length;
  const pending = new Map<number, { start: number; e: RecordEvidence }[]>();
  const total = pieces.length;
  await neuronPositions(model, head, pieces, neurons, {
    ...opts,
    batching: { ...opts.batching, maxLength: w.size, window: undefined },
    onProgress: opts.onProgress && ((done) => opts.onProgress!(Math.round((done / total) * records.length), records.length)),
  }, (e) => {
    const { record, start } = owner[e.record]!;
    const got = [...(pending.get(record) ?? []), { start, e }];
    if (got.length < windows[record]!) {
      pending.set(record, got);
      return;
    }
    pending.delete(record);
    const n = records[record]!.sequence.length;
    const activations = new Float32Array(K * n); // (K, n)
    const attributions = got[0]!.e.attributions ? new Float32Array(K * n) : undefined; // (K, n)
    for (let i = 0; i < n; i++) {
      let best = got[0]!;
      let margin = -1;
      for (const g of got) {
        const j = i - g.start;
        if (j < 0 || j >= g.e.residues) continue;
        const m = Math.min(j, g.e.residues - 1 - j);
        if (m > margin || (m === margin && g.start < best.start)) [best, margin] = [g, m];
      }
      const j = i - best.start;
      for (let k = 0; k < K; k++) {
        activations[k * n + i] = best.e.activations[k * best.e.residues + j]!;
        if (attributions) attributions[k * n + i] = best.e.attributions![k * best.e.residues + j]!;
      }
    }
    consume({ record, residues: n, activations, ...(attributions ? { attributions } : {}) });
  });
}

/** neuronPositions on single units (query and key as raw units). */
async function unitPositions(
  model: EsmModel,
  head: ClassifierHead | null,
  records: readonly TaskRecord[],
  neurons: readonly NeuronRef[],
  opts: PositionOptions,
  consume: (e: RecordEvidence) => void,
): Promise<void> {
  if (neurons.length === 0 || records.length === 0) return;
  if ((opts.attribution || opts.ig) && !head) throw new Error('per-residue attributions need the classifier head');
  const groups = groupNeurons(model, neurons);
  const order = groups.flatMap((g) => g.targets); // column -> neuron index
  const byPair = new Map(groups.map((g) => [`${g.module}:${g.layer}`, g] as const));
  let done = 0;
  try {
    if (opts.ig) {
      const run = cardIgRun(model, head!, opts.ig, opts.batching.maxLength);
      try {
        for (const [r, record] of records.entries()) {
          const { L, activations, attributions } = await recordIg(run, record, groups); // (1, L, K) each
          const a = perRecord(activations, L, [L], 0, order);
          consume({ record: r, residues: a.n, activations: a.rows, attributions: perRecord(attributions, L, [L], 0, order).rows });
          opts.onProgress?.(r + 1, records.length);
        }
      } finally {
        run.dispose();
      }
      return;
    }
    if (!opts.attribution) {
      await eachEvalBatch(records, opts.batching, (tb) => {
        const blocks = new Map<Group, Tensor>();
        const hook: NeuronHook = (layer, module, out) => {
          const g = byPair.get(`${module}:${layer}`);
          if (g) blocks.set(g, matmul(out, g.sel)); // (B, L, k)
          return out;
        };
        esmForward(model, prepareBatch(model.config, tb.tokens, tb.batch, tb.length), { hook });
        return joinGroups(groups.map((g) => blocks.get(g)!)); // (B, L, K)
      }, (values, tb, indices) => {
        indices.forEach((r, b) => {
          const { n, rows } = perRecord(values, tb.length, tb.lengths, b, order);
          consume({ record: r, residues: n, activations: rows });
        });
        done += indices.length;
        opts.onProgress?.(done, records.length);
      });
      return;
    }
    const C = head!.numClasses;
    for (const plan of planBatches(records, { mode: 'eval', batchSize: opts.batching.batchSize, tokenBudget: opts.batching.tokenBudget, maxLength: opts.batching.maxLength })) {
      const tb = encodePlan(records, plan, opts.batching.maxLength);
      const onehot = new Float32Array(tb.batch * C); // (B, C) true class
      plan.indices.forEach((r, b) => (onehot[b * C + records[r]!.label] = 1));
      const [act, attr] = tidy(() => {
        const probes = new Map<Group, { out: Tensor; leaf: Tensor }>();
        const hook: NeuronHook = (layer, module, out) => {
          const g = byPair.get(`${module}:${layer}`);
          if (!g) return out;
          const leaf = zeros(out.shape, 'f32', `probe_${module}_${layer}`); // (B, L, W)
          leaf.requiresGrad = true;
          probes.set(g, { out, leaf });
          return add(out, leaf);
        };
        const p = softmax(classifierForward(model, head!, tb, undefined, hook)); // (B, C)
        backward(sum(mul(p, tensor(onehot, [tb.batch, C], 'f32', 'true_class'))));
        return noGrad(() => {
          const a = joinGroups(groups.map((g) => matmul(probes.get(g)!.out, g.sel))); // (B, L, K)
          const x = joinGroups(groups.map((g) => matmul(mul(probes.get(g)!.leaf.grad!, probes.get(g)!.out), g.sel))); // (B, L, K)
          return [keep(a), keep(x)] as const;
        });
      });
      try {
        const [va, vx] = await Promise.all([act.f32(), attr.f32()]);
        plan.indices.forEach((r, b) => {
          const a = perRecord(va, tb.length, tb.lengths, b, order);
          consume({ record: r, residues: a.n, activations: a.rows, attributions: perRecord(vx, tb.length, tb.lengths, b, order).rows });
        });
      } finally {
        act.dispose();
        attr.dispose();
      }
      done += tb.batch;
      opts.onProgress?.(done, records.length);
    }
  } finally {
    for (const g of groups) g.sel.dispose();
  }
}

/** Every record's evidence, indexed like `records` (for small sets: it keeps K x residues floats). */
export async function collectPositions(
  model: EsmModel,
  head: ClassifierHead | null,
  records: readonly TaskRecord[],
  neurons: readonly NeuronRef[],
  opts: PositionOptions,
): Promise<RecordEvidence[]> {
  const out = new Array<RecordEvidence>(records.length);
  await neuronPositions(model, head, records, neurons, opts, (e) => (out[e.record] = e));
  return out;
}
