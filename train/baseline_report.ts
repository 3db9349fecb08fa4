/**
 * The baselines scored as the model is scored (same split, same crop, same metrics), with the
 * homology-aware view: test records whose most similar training sequence (3-mer count-profile cosine,
 * on whole sequences) is below a threshold are "remote", and every method is also scored on them
 * alone, which shows how much of an accuracy is recall of near-duplicates. Pure code.
 *
 * Axis letters: R evaluated records, C classes.
 */
import { type Metrics, computeMetrics } from '../data/metrics.js';
import type { TaskRecord } from '../data/dataset.js';
import { DEFAULT_REMOTE_THRESHOLD, compositionBaseline, cropRecords, kmerNearestNeighbour, majorityBaseline, splitBySimilarity } from './baselines.js';

/** Accuracy and macro-F1 of one method on all evaluated records and on the remote ones. */
export interface BaselineRow {
  readonly name: string;
  readonly description: string;
  readonly accuracy: number;
  readonly macro_f1: number;
  readonly remote: { readonly records: number; readonly accuracy: number; readonly macro_f1: number };
  readonly seconds: number;
  readonly metrics: Metrics;
}

/** What the baselines run on. */
export interface BaselineOptions {
  /** Residues kept per sequence (its first ones), for training and evaluated records alike; null: whole. */
  readonly maxLength: number | null;
  /** Also the composition + dipeptide regression (420 features; about a minute on two cores). */
  readonly dipeptides: boolean;
  /** Nearest-training cosine below which a record counts as remote. */
  readonly remoteThreshold: number;
}

/** Defaults: whole sequences, no dipeptides, remote below 0.3. */
export const BASELINE_DEFAULTS: BaselineOptions = { maxLength: null, dipeptides: false, remoteThreshold: DEFAULT_REMOTE_THRESHOLD };

/** The remote view of a split: similarity of each evaluated record to its nearest training record. */
export interface RemoteView {
  readonly threshold: number;
  /** (R) nearest-training 3-mer cosine of each evaluated record, on whole sequences. */
  readonly similarity: Float64Array;
  /** Indices of the remote records (similarity < threshold). */
  readonly remote: Int32Array;
}

/** Each evaluated record's similarity to the training split, and the remote ones. */
export function remoteView(train: readonly TaskRecord[], records: readonly TaskRecord[], threshold: number): RemoteView {
  const nn = kmerNearestNeighbour(train, records);
  return { threshold, similarity: nn.maxSimilarity, remote: splitBySimilarity(nn.maxSimilarity, threshold).remote };
}

/** Accuracy and macro-F1 of predictions on a subset of records (all when absent). */
export function scoreSubset(records: readonly TaskRecord[], pred: ArrayLike<number>, classNames: readonly string[], subset?: Int32Array): Metrics {
  const idx = subset ?? Int32Array.from(records, (_, i) => i);
  return computeMetrics(Array.from(idx, (i) => records[i]!.label), Array.from(idx, (i) => pred[i]!), classNames);
}

/** Scores a method's predictions as a row (all records and the remote view). */
export function baselineRow(name: string, description: string, records: readonly TaskRecord[], pred: ArrayLike<number>, classNames: readonly string[], view: RemoteView, seconds: number): BaselineRow {
  const all = scoreSubset(records, pred, classNames);
  const remote = scoreSubset(records, pred, classNames, view.remote);
  return {
    name, description, accuracy: all.accuracy, macro_f1: all.macro_f1,
    remote: { records: view.remote.length, accuracy: remote.accuracy, macro_f1: remote.macro_f1 }, seconds, metrics: all,
  };
}

/** Runs every baseline: majority, composition regression (+ dipeptides), 3-mer cosine 1-NN. */
export function runBaselines(train: readonly TaskRecord[], records: readonly TaskRecord[], classNames: readonly string[], o: BaselineOptions = BASELINE_DEFAULTS, view = remoteView(train, records, o.remoteThreshold)): BaselineRow[] {
  const C = classNames.length;
  const crop = <T extends TaskRecord>(xs: readonly T[]) => (o.maxLength === null ? [...xs] : cropRecords(xs, o.maxLength));
  const tr = crop(train);
  const ev = crop(records);
  const rows: BaselineRow[] = [];
  const timed = (name: string, description: string, f: () => ArrayLike<number>) => {
    const t0 = performance.now();
    const pred = f();
    rows.push(baselineRow(name, description, records, pred, classNames, view, (performance.now() - t0) / 1000));
  };
  timed('majority', 'always the most frequent training class', () => majorityBaseline(tr, C).predict(ev));
  timed('composition', 'softmax regression on the 20 amino-acid frequencies', () => compositionBaseline(tr, ev, C).predictions);
  if (o.dipeptides) timed('composition+dipeptides', 'softmax regression on amino-acid and dipeptide frequencies (420)', () => compositionBaseline(tr, ev, C, { dipeptides: true }).predictions);
  timed('3-mer 1-NN', 'label of the training sequence with the most similar 3-mer count profile (cosine)', () => kmerNearestNeighbour(tr, ev).predictions);
  return rows;
}
