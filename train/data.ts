/**
 * Training data for the train commands: a data file, a task and its train/valid/test split (Node).
 *
 * The split is the committed one (experiments/data/splits/<task>-seed<N>.json) when one exists for
 * the task and seed and was made from data with the same content hash, so that runs on the repo's
 * enzyme file always use the shared test set; for any other data it is computed with the same
 * stratified method (data/split.ts), which is deterministic in the data and the seed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng, shuffleInPlace } from '../engine/index.js';
import { CORPUS_TASK, type DataFile, TASK_NAMES, type TaskDataset, type TaskName, type TaskRecord, selectTask } from '../data/dataset.js';
import { DEFAULT_DATA_FILE, SPLIT_DIR, readDataFile, readSplitFile, splitPath } from '../data/files.node.js';
import { type SplitPart, applySplit, makeSplit } from '../data/split.js';
import { repoRoot } from '../model/assets.node.js';

/** The repository's enzyme data file, as an absolute path (so commands work from any folder). */
export function defaultDataFile(): string {
  return join(repoRoot(), DEFAULT_DATA_FILE);
}

/** A task's records and how they were split. */
export interface SplitData {
  readonly dataset: TaskDataset;
  readonly parts: Readonly<Record<SplitPart, readonly TaskRecord[]>>;
  /** The committed split file used, or null when the split was computed from the data. */
  readonly splitFile: string | null;
  readonly splitSeed: number;
}

/** The committed split file for (task, seed) if it was made from exactly this data, else null. */
function committedSplit(dataset: TaskDataset, seed: number): string | null {
  const path = splitPath(dataset.task, seed, join(repoRoot(), SPLIT_DIR));
  if (!existsSync(path)) return null;
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as { data?: { content_sha256?: unknown } };
    return json.data?.content_sha256 === dataset.sha256 ? path : null;
  } catch {
    // An unreadable split file is reported by readSplitFile only when its hash could match; here it
    // simply does not apply to this data.
    return null;
  }
}

/** Splits a task's records (the committed split where one applies, else a computed one). */
export async function splitDataset(dataset: TaskDataset, splitSeed: number): Promise<SplitData> {
  const splitFile = committedSplit(dataset, splitSeed);
  const split = splitFile ? await readSplitFile(splitFile, dataset) : makeSplit(dataset, { seed: splitSeed });
  return { dataset, parts: applySplit(dataset, split), splitFile, splitSeed };
}

/**
 * The pretraining corpus split: a record is in test when any classification task tests on it, else
 * in valid when any task validates on it, else in train. Pretraining on the train part therefore never
 * sees a record that a fine-tuned model is later checkpointed or tested on, whichever task it is.
 */
export async function corpusSplit(data: DataFile, splitSeed: number): Promise<SplitData> {
  const dataset = selectTask(data, CORPUS_TASK);
  const heldOut = { valid: new Set<string>(), test: new Set<string>() };
  const files: string[] = [];
  for (const task of TASK_NAMES) {
    const s = await splitDataset(selectTask(data, task), splitSeed);
    for (const r of s.parts.valid) heldOut.valid.add(r.id);
    for (const r of s.parts.test) heldOut.test.add(r.id);
    files.push(s.splitFile ?? `${task} computed`);
  }
  const parts: Record<SplitPart, TaskRecord[]> = { train: [], valid: [], test: [] };
  for (const r of dataset.records) parts[heldOut.test.has(r.id) ? 'test' : heldOut.valid.has(r.id) ? 'valid' : 'train'].push(r);
  return { dataset, parts, splitFile: `union of held-out parts: ${files.join(', ')}`, splitSeed };
}

/** Reads a data file, selects the task and splits it ('all': see corpusSplit). */
export async function loadSplitData(dataFile: string, task: TaskName, splitSeed: number): Promise<SplitData> {
  const data = await readDataFile(dataFile);
  return task === CORPUS_TASK ? corpusSplit(data, splitSeed) : splitDataset(selectTask(data, task), splitSeed);
}

/**
 * 'balanced' class weights as scikit-learn computes them: n / (k * n_c) over the k classes present
 * in the training records; a class with no training records gets 0 (it never contributes anyway).
 */
export function balancedClassWeights(records: readonly TaskRecord[], numClasses: number): Float32Array {
  const counts = new Array<number>(numClasses).fill(0);
  for (const r of records) counts[r.label]!++;
  const present = counts.filter((c) => c > 0).length;
  return Float32Array.from(counts, (c) => (c > 0 ? records.length / (present * c) : 0));
}

/** How training examples are weighted in the loss, by class (the --class-weights choices). */
export type ClassWeighting = 'none' | 'balanced' | 'sqrt';

/** The class weightings, in help-text order. */
export const CLASS_WEIGHTINGS: readonly ClassWeighting[] = ['none', 'balanced', 'sqrt'];

/**
 * 'sqrt' class weights: the square roots of the balanced weights b_c = n / (k * n_c), renormalised so
 * that the weighted mean over the training records is 1, i.e. w_c = sqrt(b_c) / sum_c' (n_c' / n)
 * sqrt(b_c'), which simplifies to w_c = n / (sqrt(n_c) * sum_c' sqrt(n_c')). Their span is the square
 * root of the balanced weights' (28x on ec becomes 5.3x). A class with no training records gets 0.
 */
export function sqrtClassWeights(records: readonly TaskRecord[], numClasses: number): Float32Array {
  const counts = new Array<number>(numClasses).fill(0);
  for (const r of records) counts[r.label]!++;
  const rootSum = counts.reduce((a, c) => a + Math.sqrt(c), 0);
  return Float32Array.from(counts, (c) => (c > 0 ? records.length / (Math.sqrt(c) * rootSum) : 0));
}

/** The class weights (C) of a weighting over the training records, or null for 'none'. */
export function classWeightsFor(weighting: ClassWeighting, records: readonly TaskRecord[], numClasses: number): Float32Array | null {
  if (weighting === 'none') return null;
  return weighting === 'balanced' ? balancedClassWeights(records, numClasses) : sqrtClassWeights(records, numClasses);
}

/**
 * The records with their labels permuted (the null twin's training split): a Fisher-Yates shuffle of
 * the label list drawn from rng(seed), each record keeping its sequence and id. Class counts are
 * unchanged; the same seed always gives the same labels.
 */
export function shuffleLabels(records: readonly TaskRecord[], seed: number): TaskRecord[] {
  const labels = records.map((r) => r.label);
  shuffleInPlace(labels, rng(seed));
  return records.map((r, i) => ({ ...r, label: labels[i]! }));
}
