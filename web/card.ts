/**
 * A neuron's card on the page (issue 13): kn/explain.ts neuronCards for one neuron of the top-neuron
 * table, computed on the sequences the page has (the pasted or uploaded FASTA records of the run, the
 * analysed one first, up to a cap, each cropped like the analysis). The records carry no classes, so
 * each is labelled with the class the model predicts for it: the enrichment rows and the zeroing
 * effect are about predicted classes. With a single sequence the windows are its best residues (several
 * per record); with more, one window per record, as in the CLI's cards. A query or key row (one unit)
 * gets its rotary pair's card (kn/explain.ts). Browser-safe; GPU work is serialised by the caller.
 */
import type { TaskRecord } from '../data/dataset.js';
import { type NeuronCard, neuronCards } from '../kn/explain.js';
import { type Classifier, classifierLogits, softmaxRows } from '../model/classifier.js';
import type { NeuronRow } from './analysis.js';
import type { InputRecord } from './sequence_input.js';

/** Knobs of a card (the page keeps them small on a software adapter). */
export interface CardOptions {
  /** Top windows shown. */
  readonly windows: number;
  /** Records used (the analysed one first, then the others in input order). */
  readonly maxRecords: number;
  /** Residues kept per record (the first ones), as in the analysis. */
  readonly maxLength: number;
}

/** A card and what it was computed on. */
export interface PageCard {
  readonly card: NeuronCard;
  /** The table row's unit (for a query/key pair card, one of its two units; its score is that unit's). */
  readonly unit: number;
  /** Records used, of those the page had. */
  readonly records: number;
  readonly available: number;
  /** Records longer than maxLength, cropped. */
  readonly cropped: number;
  /** Windows a record could give (the card's windows with one record, else 1). */
  readonly windowsPerRecord: number;
  /** Records predicted as each class (C), and the class names. */
  readonly predictedCounts: readonly number[];
  readonly classNames: readonly string[];
}

const tick = () => new Promise<void>((ok) => setTimeout(ok, 0));

/** The records a card runs on: the analysed one first, then the others in order, up to `max`, cropped. */
export function cardInputs(all: readonly InputRecord[], analysed: number, max: number, maxLength: number): { inputs: InputRecord[]; cropped: number } {
  const order = [analysed, ...all.keys()].filter((i, k, a) => a.indexOf(i) === k && i >= 0 && i < all.length).slice(0, max);
  let cropped = 0;
  const inputs = order.map((i) => {
    const r = all[i]!;
    if (r.sequence.length <= maxLength) return r;
    cropped++;
    return { ...r, sequence: r.sequence.slice(0, maxLength) };
  });
  return { inputs, cropped };
}

/**
 * The card of `neuron` (a row of the table for class `cls`) on the page's records: the records are
 * classified once (their predicted classes become their labels), then kn neuronCards ranks windows by
 * activation and measures zeroing the neuron alone, and a random neuron of its module and layer alone,
 * on the records predicted as `cls` (query and key: the row's rotary pair, its norm, a random pair).
 */
export async function pageNeuronCard(
  clf: Classifier,
  all: readonly InputRecord[],
  analysed: number,
  neuron: NeuronRow,
  cls: number,
  o: CardOptions,
  onProgress: (stage: string, done: number, total: number) => void,
): Promise<PageCard> {
  const { inputs, cropped } = cardInputs(all, analysed, o.maxRecords, o.maxLength);
  const batching = { batchSize: 8, maxLength: o.maxLength };
  const C = clf.head.numClasses;
  onProgress('classifying the records', 0, 1);
  const unlabelled = inputs.map((r, i): TaskRecord => ({ id: r.label || `record ${i + 1}`, sequence: r.sequence, label: 0, source: 'page' }));
  const probs = softmaxRows(await classifierLogits(clf.model, clf.head, unlabelled, batching), C);
  await tick();
  const records = unlabelled.map((r, i): TaskRecord => {
    let best = 0;
    for (let c = 1; c < C; c++) if (probs[i * C + c]! > probs[i * C + best]!) best = c;
    return { ...r, label: best };
  });
  // The analysed record keeps the class of the table even if a near tie flips it here.
  records[0] = { ...records[0]!, label: cls };
  const predictedCounts = Array.from({ length: C }, (_, c) => records.filter((r) => r.label === c).length);
  const windowsPerRecord = records.length === 1 ? o.windows : 1;
  const [card] = await neuronCards(clf.model, clf.head, records, [{ module: neuron.module, layer: neuron.layer, index: neuron.index, classes: [cls], score: neuron.score }], clf.labels, {
    batching,
    windows: o.windows,
    windowsPerRecord,
    method: 'activation',
    zeroRecords: o.maxRecords,
    onProgress: (stage, done, total) => {
      onProgress(stage === 'positions' ? 'activations per residue' : 'zeroing it and a random neuron', done, total);
    },
  });
  await tick();
  return { card: card!, unit: neuron.index, records: records.length, available: all.length, cropped, windowsPerRecord, predictedCounts, classNames: clf.labels };
}
