/**
 * Length-bucketed token batches for classification (and MLM, see mlm.ts). Pure code.
 *
 * Training: the records are shuffled, cut into chunks, each chunk sorted by length and packed into
 * batches, and the batch order shuffled again. Batches then hold similar lengths (little padding)
 * while their composition and order still change every epoch. Everything random comes from
 * (seed, epoch), so an epoch's batches can be rebuilt exactly, e.g. after resuming.
 * Evaluation: all records sorted by length, no randomness; results carry ids, so order is free.
 * With the balanced sampler a training epoch draws its records class by class (balancedDraw) and then
 * goes through the same chunks and packing.
 *
 * Sequences longer than maxLength residues are cropped: a random window in training (a different
 * view each epoch), the first maxLength residues in evaluation (the same prediction every time).
 */
import { rng, shuffleInPlace } from '../engine/index.js';
import { encodeBatch, MAX_RESIDUES } from './tokenizer.js';

/** Target value of positions or rows a loss must skip (PyTorch's ignore_index default). */
export const IGNORE_INDEX = -100;

/** A record to batch; a missing label becomes IGNORE_INDEX. */
export interface BatchRecord {
  readonly id: string;
  readonly sequence: string;
  readonly label?: number;
}

/** How batches are formed. */
export interface BatchOptions {
  /** 'train': shuffled, random crops; 'eval': sorted by length, first-window crops. */
  mode: 'train' | 'eval';
  /** Seed of the shuffles and crops (default 0). */
  seed?: number;
  /** Most sequences per batch. Defaults to 32 when tokenBudget is not given either. */
  batchSize?: number;
  /** Most tokens per batch, padding included (B * L, L counting <cls> and <eos>). */
  tokenBudget?: number;
  /** Most residues per sequence before cropping (default MAX_RESIDUES, 1022). */
  maxLength?: number;
  /**
   * Records per length-sorted chunk in training (default the larger of 1024 and 8 batches): larger pads
   * less but mixes lengths less. Batches never span chunks, so it must be at least batchSize.
   */
  chunkSize?: number;
  /**
   * How training draws an epoch's records (default 'shuffle'): 'shuffle' takes every record once;
   * 'balanced' draws as many records as there are, classes uniformly (see balancedDraw). Every record
   * needs a label for 'balanced'. Evaluation ignores it.
   */
  sampler?: Sampler;
}

/** How a training epoch draws its records. */
export type Sampler = 'shuffle' | 'balanced';

/** The samplers, in help-text order. */
export const SAMPLERS: readonly Sampler[] = ['shuffle', 'balanced'];

/** Which records a batch holds and where each is cropped. */
export interface BatchPlan {
  /** Indices into the records. */
  readonly indices: readonly number[];
  /** Residue offset of each crop (0 when the sequence fits). */
  readonly starts: readonly number[];
}

/** A batch ready for the model. */
export interface TokenBatch {
  /** Token ids, [B, L] row-major: <cls> residues <eos> <pad>... */
  tokens: Int32Array;
  /** [B] tokens per row including <cls> and <eos>. */
  lengths: Int32Array;
  /** [B] class indices (IGNORE_INDEX where a record had none). */
  labels: Int32Array;
  /** [B] record ids. */
  ids: string[];
  /** [B] residue offset of each row's crop. */
  starts: Int32Array;
  /** B */
  batch: number;
  /** L: the longest row. */
  length: number;
}

/**
 * One 32-bit seed from several integers (murmur3's finaliser per part), so that (seed, epoch) or
 * (seed, epoch, record) streams are independent and any of them can be recreated on its own.
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

function positiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`${name} must be a positive integer; got ${v}`);
}

/**
 * Class-balanced draws: `count` record indices where the classes present come in blocks of k (one of
 * each class per block, in a random order), so every draw's class is uniform and over the draws each
 * class appears floor(count / k) or ceil(count / k) times; within a class, records are taken from a
 * random permutation of that class, without replacement until it is used up (a cycle), then from a
 * fresh permutation. Deterministic in the labels and `rand`.
 */
export function balancedDraw(labels: readonly number[], count: number, rand: () => number): number[] {
  const byClass = new Map<number, number[]>();
  labels.forEach((c, i) => {
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  });
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const cycles = new Map(classes.map((c) => [c, { order: [] as number[], next: 0 }]));
  const out: number[] = [];
  while (out.length < count) {
    const block = [...classes];
    shuffleInPlace(block, rand);
    for (const c of block) {
      if (out.length === count) break;
      const cycle = cycles.get(c)!;
      if (cycle.next === cycle.order.length) {
        cycle.order = [...byClass.get(c)!];
        shuffleInPlace(cycle.order, rand);
        cycle.next = 0;
      }
      out.push(cycle.order[cycle.next++]!);
    }
  }
  return out;
}

/**
 * The batches of one epoch as index lists and crop offsets (cheap; encode them with encodePlan).
 * The same records, options and epoch always give the same plan.
 */
export function planBatches(records: readonly BatchRecord[], options: BatchOptions, epoch = 0): BatchPlan[] {
  const seed = options.seed ?? 0;
  const maxLength = options.maxLength ?? MAX_RESIDUES;
  const batchSize = options.batchSize ?? (options.tokenBudget === undefined ? 32 : Infinity);
  const chunkSize = options.chunkSize ?? (Number.isFinite(batchSize) ? Math.max(1024, 8 * batchSize) : 1024);
  const budget = options.tokenBudget ?? Infinity;
  for (const [name, v] of [['batchSize', options.batchSize], ['tokenBudget', options.tokenBudget], ['maxLength', maxLength], ['chunkSize', chunkSize]] as const) {
    positiveInt(name, v);
  }
  if (options.batchSize !== undefined && chunkSize < batchSize) throw new Error(`chunkSize ${chunkSize} is smaller than batchSize ${batchSize}; batches never span chunks`);
  const train = options.mode === 'train';
  const cropped = records.map((r) => Math.min(r.sequence.length, maxLength));
  const tooLong = cropped.findIndex((n) => n + 2 > budget);
  if (tooLong >= 0) {
    throw new Error(`tokenBudget ${budget} cannot hold record '${records[tooLong]!.id}' (${cropped[tooLong]! + 2} tokens after cropping to maxLength ${maxLength})`);
  }
  const byLength = (a: number, b: number): number => cropped[a]! - cropped[b]!;
  const rand = rng(mixSeed(seed, epoch));
  let order = records.map((_, i) => i);
  const chunks: number[][] = [];
  if (train && options.sampler === 'balanced') {
    const missing = records.findIndex((r) => r.label === undefined);
    if (missing >= 0) throw new Error(`sampler balanced needs labels; record '${records[missing]!.id}' has none`);
    order = balancedDraw(records.map((r) => r.label!), records.length, rand);
  } else if (train) shuffleInPlace(order, rand);
  if (train) {
    for (let i = 0; i < order.length; i += chunkSize) chunks.push(order.slice(i, i + chunkSize).sort(byLength));
  } else {
    chunks.push(order.sort(byLength)); // stable: equal lengths keep record order
  }
  // Draws of a record so far this epoch (only the balanced sampler draws a record twice).
  const drawn = new Map<number, number>();
  const withCrops = (indices: number[]): BatchPlan => {
    const starts = indices.map((i) => {
      const k = drawn.get(i) ?? 0;
      drawn.set(i, k + 1);
      const spare = records[i]!.sequence.length - maxLength;
      if (spare <= 0 || !train) return 0;
      // Seeded per (seed, epoch, record) and, from a record's second draw on, the draw: a record's
      // crop does not depend on batch size or order.
      return Math.floor(rng(k === 0 ? mixSeed(seed, epoch, i) : mixSeed(seed, epoch, i, k))() * (spare + 1));
    });
    return { indices, starts };
  };
  const plans: BatchPlan[] = [];
  for (const chunk of chunks) {
    // Ascending lengths, so the record being added sets the padded length of the batch.
    let current: number[] = [];
    for (const i of chunk) {
      if (current.length > 0 && (current.length + 1 > batchSize || (current.length + 1) * (cropped[i]! + 2) > budget)) {
        plans.push(withCrops(current));
        current = [];
      }
      current.push(i);
    }
    if (current.length > 0) plans.push(withCrops(current));
  }
  if (train) shuffleInPlace(plans, rand);
  return plans;
}

/**
 * The training plans of each epoch, built when an epoch is first asked for and kept until another
 * epoch is (a training loop walks the epochs in order).
 */
export function epochPlans(records: readonly BatchRecord[], options: BatchOptions): (epoch: number) => BatchPlan[] {
  let cached: { epoch: number; plans: BatchPlan[] } | null = null;
  return (epoch) => {
    if (cached?.epoch !== epoch) cached = { epoch, plans: planBatches(records, options, epoch) };
    return cached.plans;
  };
}

/** Encodes one planned batch with the ESM-2 tokenizer. */
export function encodePlan(records: readonly BatchRecord[], plan: BatchPlan, maxLength = MAX_RESIDUES): TokenBatch {
  const rows = plan.indices.map((i, k) => {
    const r = records[i]!;
    return { label: r.id, sequence: r.sequence.slice(plan.starts[k]!, plan.starts[k]! + maxLength) };
  });
  const enc = encodeBatch(rows, { maxResidues: maxLength });
  return {
    tokens: enc.tokens,
    lengths: enc.lengths,
    labels: Int32Array.from(plan.indices, (i) => records[i]!.label ?? IGNORE_INDEX),
    ids: plan.indices.map((i) => records[i]!.id),
    starts: Int32Array.from(plan.starts),
    batch: enc.batch,
    length: enc.length,
  };
}

/** All batches of one epoch, encoded. */
export function makeBatches(records: readonly BatchRecord[], options: BatchOptions, epoch = 0): TokenBatch[] {
  return planBatches(records, options, epoch).map((p) => encodePlan(records, p, options.maxLength ?? MAX_RESIDUES));
}

/** Real tokens over padded tokens (sum of lengths / sum of B * L): 1 means no padding. */
export function paddingEfficiency(batches: readonly Pick<TokenBatch, 'lengths' | 'batch' | 'length'>[]): number {
  let real = 0;
  let padded = 0;
  for (const b of batches) {
    for (const n of b.lengths) real += n;
    padded += b.batch * b.length;
  }
  return padded === 0 ? 1 : real / padded;
}
