/**
 * Which records the study scores and tests on: a seeded, class-stratified subsample of a split,
 * capped per class, and the helpers that turn one record into a batch of one. Pure code.
 */
import { mixSeed } from '../model/batching.js';
import type { TaskRecord } from '../data/dataset.js';
import { rng, shuffleInPlace } from '../engine/index.js';
import { encodeSequence } from '../model/tokenizer.js';

/**
 * Up to `perClass` records of each class (all of them when null), drawn without replacement by a
 * shuffle seeded per (seed, class) after sorting by id, so the choice depends only on the records'
 * ids, the cap and the seed. Output is grouped by class, in class order.
 */
export function stratifiedSample(records: readonly TaskRecord[], numClasses: number, perClass: number | null, seed: number): TaskRecord[] {
  const out: TaskRecord[] = [];
  for (let c = 0; c < numClasses; c++) {
    const pool = records.filter((r) => r.label === c).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const rand = rng(mixSeed(seed, c));
    shuffleInPlace(pool, rand);
    out.push(...(perClass === null ? pool : pool.slice(0, perClass)));
  }
  return out;
}

/** Tokens (1, L) of one record cropped to its first `maxLength` residues: <cls> residues <eos>. */
export function exampleTokens(record: TaskRecord, maxLength: number): Int32Array {
  return encodeSequence(record.sequence.slice(0, maxLength), record.id);
}

/**
 * Position weights (B, L) for per-sequence means over residues: 1/n at the n residue positions
 * (1..n, between <cls> and <eos>) of each row, 0 at <cls>, <eos> and <pad>. lengths count <cls>/<eos>.
 */
export function residueWeights(lengths: ArrayLike<number>, L: number): Float32Array {
  const w = new Float32Array(lengths.length * L);
  for (let b = 0; b < lengths.length; b++) {
    const n = lengths[b]! - 2;
    for (let l = 1; l <= n; l++) w[b * L + l] = 1 / n;
  }
  return w;
}
