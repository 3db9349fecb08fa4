/**
 * Seeded, stratified train/valid/test splits, stored as accession lists so that every experiment
 * evaluates on the same test set. Pure code; data/files.node.ts reads and writes the files.
 *
 * Within each class the accessions are sorted (code-unit order, so file order does not matter),
 * shuffled with mulberry32 seeded by the split seed, and cut into test, valid and train. Each split
 * holds round(n * fraction) records of a class of n, so class proportions are exact to within one
 * record. The split is random by accession, not by sequence identity: see SPLIT_CAVEAT.
 */
import { rng, shuffleInPlace } from '../engine/index.js';
import { FormatError } from '../io/errors.js';
import { compareIds, TASKS, type TaskDataset, type TaskName, type TaskRecord } from './dataset.js';

/** The three parts of a split. */
export type SplitPart = 'train' | 'valid' | 'test';

/** Parts in file order. */
export const SPLIT_PARTS: readonly SplitPart[] = ['train', 'valid', 'test'];

/** Fraction of every class that goes into each part; they sum to 1. */
export type SplitFractions = Readonly<Record<SplitPart, number>>;

/** 80/10/10. */
export const DEFAULT_FRACTIONS: SplitFractions = { train: 0.8, valid: 0.1, test: 0.1 };

/** Seed of the committed splits. */
export const DEFAULT_SPLIT_SEED = 0;

/** Written into every split file and the data README: what a number measured on this split means. */
export const SPLIT_CAVEAT =
  'Random split by accession, not by sequence identity: homologous (near-duplicate) sequences can fall on both sides, ' +
  'so accuracy on this test set overstates accuracy on proteins unrelated to the training set. Say which split a reported number used.';

const FORMAT = 'esm-kn-split';
const HASH_OF = 'sha256 of "accession<TAB>ec_class<TAB>sequence<LF>" for every record of the data file, sorted by accession';
const VERSION = 1;

/** A split as stored on disk (JSON keys in snake_case). */
export interface DataSplit {
  readonly format: typeof FORMAT;
  readonly version: typeof VERSION;
  readonly task: TaskName;
  readonly task_description: string;
  readonly seed: number;
  readonly fractions: SplitFractions;
  readonly method: string;
  readonly caveat: string;
  /** The data the split was made from: file base name, content hash (see contentHash), task record count. */
  readonly data: { readonly file: string; readonly content_sha256: string; readonly hash_of: string; readonly records: number };
  readonly class_names: readonly string[];
  /** Records per class name in each part. */
  readonly counts: Readonly<Record<SplitPart, Readonly<Record<string, number>>>>;
  readonly train: readonly string[];
  readonly valid: readonly string[];
  readonly test: readonly string[];
}

/** Options of makeSplit. */
export interface SplitOptions {
  /** Shuffle seed (default DEFAULT_SPLIT_SEED). */
  seed?: number;
  /** Part fractions (default DEFAULT_FRACTIONS). */
  fractions?: SplitFractions;
}

function checkFractions(f: SplitFractions): void {
  const values = SPLIT_PARTS.map((p) => f[p]);
  if (values.some((v) => !Number.isFinite(v) || v < 0) || Math.abs(values.reduce((a, b) => a + b, 0) - 1) > 1e-9 || f.train <= 0) {
    throw new Error(`split fractions must be non-negative, sum to 1 and give train a share; got ${JSON.stringify(f)}`);
  }
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop()!;
}

/** Makes the split of a task's records. Same data, seed and fractions give the same split. */
export function makeSplit(dataset: TaskDataset, options: SplitOptions = {}): DataSplit {
  const seed = options.seed ?? DEFAULT_SPLIT_SEED;
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  checkFractions(fractions);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`split seed must be an integer in [0, 2^32); got ${seed}`);
  const byClass: string[][] = dataset.classNames.map(() => []);
  for (const r of dataset.records) byClass[r.label]!.push(r.id);
  const parts: Record<SplitPart, string[]> = { train: [], valid: [], test: [] };
  const counts = { train: {}, valid: {}, test: {} } as Record<SplitPart, Record<string, number>>;
  // One stream across the classes in index order: the whole split follows from the seed.
  const rand = rng(seed);
  byClass.forEach((ids, c) => {
    ids.sort(compareIds);
    shuffleInPlace(ids, rand);
    const n = ids.length;
    const nTest = Math.round(n * fractions.test);
    const nValid = Math.min(Math.round(n * fractions.valid), n - nTest);
    const cut: Record<SplitPart, string[]> = { test: ids.slice(0, nTest), valid: ids.slice(nTest, nTest + nValid), train: ids.slice(nTest + nValid) };
    for (const p of SPLIT_PARTS) {
      parts[p].push(...cut[p]);
      counts[p][dataset.classNames[c]!] = cut[p].length;
    }
  });
  for (const p of SPLIT_PARTS) parts[p].sort(compareIds);
  return {
    format: FORMAT,
    version: VERSION,
    task: dataset.task,
    task_description: TASKS[dataset.task].description,
    seed,
    fractions: { train: fractions.train, valid: fractions.valid, test: fractions.test },
    method: 'stratified by class; within a class, accessions sorted then shuffled (mulberry32, seed) and cut into test, valid, train',
    caveat: SPLIT_CAVEAT,
    data: { file: baseName(dataset.file), content_sha256: dataset.sha256, hash_of: HASH_OF, records: dataset.records.length },
    class_names: dataset.classNames,
    counts,
    ...parts,
  };
}

/** The split as file text: indented JSON, one accession per line, so diffs stay readable. */
export function serializeSplit(split: DataSplit): string {
  return JSON.stringify(split, null, 2) + '\n';
}

/**
 * Checks that parsed JSON is a split of this task's data and returns it typed. Errors are
 * FormatErrors naming `file`: not a split file, another task, an accession the data lacks (named),
 * an accession in two parts, task records in no part, or a data content hash that differs.
 */
export function checkSplit(json: unknown, dataset: TaskDataset, file = '<split>'): DataSplit {
  const fail = (what: string): never => {
    throw new FormatError(file, what);
  };
  const s = json as Partial<Record<keyof DataSplit, unknown>>;
  if (typeof json !== 'object' || json === null || s.format !== FORMAT) fail(`not an esm-kn split file (expected "format": "${FORMAT}")`);
  if (s.version !== VERSION) fail(`split format version ${String(s.version)}, this code reads version ${VERSION}`);
  if (s.task !== dataset.task) fail(`split is for task '${String(s.task)}', the data was selected for task '${dataset.task}'`);
  const where = new Map<string, SplitPart>();
  for (const part of SPLIT_PARTS) {
    const ids = s[part];
    if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string')) fail(`'${part}' must be a list of accessions`);
    for (const id of ids as string[]) {
      const prev = where.get(id);
      if (prev !== undefined) fail(prev === part ? `accession '${id}' appears twice in ${part}` : `accession '${id}' is in both ${prev} and ${part}`);
      where.set(id, part);
    }
  }
  const known = new Set(dataset.records.map((r) => r.id));
  for (const [id, part] of where) {
    if (!known.has(id)) fail(`accession '${id}' (${part}) is not among the ${known.size} records of ${dataset.file} for task ${dataset.task}`);
  }
  const missing = dataset.records.filter((r) => !where.has(r.id));
  if (missing.length) {
    fail(`${missing.length} records of ${dataset.file} for task ${dataset.task} are in no part (first '${missing[0]!.id}'): the data changed since the split was made`);
  }
  const data = s.data as DataSplit['data'] | undefined;
  if (data?.content_sha256 !== dataset.sha256) {
    fail(`data content hash ${dataset.sha256.slice(0, 12)}... of ${dataset.file} differs from the split's ${String(data?.content_sha256).slice(0, 12)}...: labels or sequences changed since the split was made`);
  }
  return json as DataSplit;
}

/** A task's records divided into the parts of a checked split, each part in the split's accession order. */
export function applySplit(dataset: TaskDataset, split: DataSplit): Record<SplitPart, TaskRecord[]> {
  const byId = new Map(dataset.records.map((r) => [r.id, r] as const));
  const pick = (ids: readonly string[]): TaskRecord[] => ids.map((id) => byId.get(id)!);
  return { train: pick(split.train), valid: pick(split.valid), test: pick(split.test) };
}

/** One line per part: "train 10682 (EC1 oxidoreductases 1885, ...)". */
export function describeSplit(split: DataSplit): string[] {
  return SPLIT_PARTS.map((p) => `${p} ${split[p].length} (${Object.entries(split.counts[p]).map(([k, v]) => `${k} ${v}`).join(', ')})`);
}
