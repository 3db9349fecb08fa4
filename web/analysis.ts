/**
 * What the page computes for one sequence, in order: the class probabilities of the analysed residues
 * (the first maxLength) and, when the model stores a reading that differs (windows over the whole
 * sequence, say), the probabilities under that reading too; the per-residue IG of
 * the predicted class; every neuron's IG for the predicted class (kn igScores, one call for all
 * module types, reporting progress per (module, layer) pair); the top neurons; and the probabilities when only each module type's
 * top neurons are preserved (the others zeroed) or when those top neurons are ablated (zeroed).
 * Browser-safe; GPU work is serialised by the caller (one run at a time).
 *
 * Axis letters: C classes, N neurons, W module width.
 */
import type { TaskRecord } from '../data/dataset.js';
import { NEURON_MODULES, type NeuronModule } from '../model/esm.js';
import { type ModuleEdit, ablationEdit, editHook } from '../kn/ablate.js';
import { type Classifier, type ModelReading, classifierLogits, describeReading, softmaxRows, windowStarts } from '../model/classifier.js';
import { igScores } from '../kn/ig_scores.js';
import { neuronAt, neuronLayout } from '../kn/layout.js';
import { type ResidueIgResult, residueIg } from '../kn/residue_ig.js';
import { selectTop, topIndices } from '../kn/select.js';
import { encodeSequence } from '../model/tokenizer.js';

/** Knobs of a run (the page caps them to stay interactive on a software adapter). */
export interface RunOptions {
  /** m for the per-residue track. */
  readonly residueSteps: number;
  /** m for the neuron scores (one batched pass per (layer, module)). */
  readonly neuronSteps: number;
  /** Residues kept (the first ones). */
  readonly maxLength: number;
  /** Rows of the neuron table. */
  readonly topK: number;
  /** Share of each module type's neurons preserved or ablated, per layer. */
  readonly fraction: number;
  /** How the model reads a sequence (its checkpoint's reading), or null when it stores none. */
  readonly reading?: ModelReading | null;
}

/** Progress: a stage name and how far it is. */
export type OnProgress = (stage: string, done: number, total: number) => void;

/** One neuron of the table. */
export interface NeuronRow {
  readonly module: NeuronModule;
  readonly layer: number;
  readonly index: number;
  readonly score: number;
}

/** Class probabilities with one module type's top neurons preserved (others zeroed) or ablated. */
export interface EditEffect {
  readonly module: NeuronModule;
  /** Neurons of the type preserved / ablated. */
  readonly selected: number;
  readonly total: number;
  readonly preserve: Float64Array;
  readonly ablate: Float64Array;
}

/** The class probabilities of the whole sequence under the model's reading, when that differs from the analysis. */
export interface ReadingResult {
  readonly probs: Float64Array;
  readonly predicted: number;
  /** Forward passes it averaged (windows), 1 for a crop. */
  readonly passes: number;
  /** The reading in words ("the mean of 256-residue windows at stride 128"). */
  readonly describe: string;
}

/** Everything the page shows for a sequence. */
export interface RunResult {
  /** The residues analysed (cropped to maxLength). */
  readonly sequence: string;
  readonly cropped: boolean;
  readonly probs: Float64Array;
  readonly predicted: number;
  /** The model's own reading of the whole sequence; null when it reads exactly what was analysed (or stores no reading). */
  readonly reading: ReadingResult | null;
  readonly residue: ResidueIgResult;
  readonly neurons: readonly NeuronRow[];
  readonly effects: readonly EditEffect[];
  /** Seconds per stage. */
  readonly timings: Readonly<Record<string, number>>;
}

const tick = () => new Promise<void>((ok) => setTimeout(ok, 0));

function record(sequence: string, label: number): TaskRecord {
  return { id: 'input', sequence, label, source: 'page' };
}

/** Class probabilities (C) of one sequence, with an optional edit. */
export async function classProbabilities(clf: Classifier, sequence: string, maxLength: number, edits: readonly ModuleEdit[] = []): Promise<Float64Array> {
  const layout = neuronLayout(clf.config);
  const h = edits.length ? editHook(layout, edits) : null;
  try {
    const logits = await classifierLogits(clf.model, clf.head, [record(sequence, 0)], { batchSize: 1, maxLength }, h?.hook);
    return softmaxRows(logits, clf.head.numClasses);
  } finally {
    h?.dispose();
  }
}

/**
 * Whether the model's reading of a `fullLength`-residue sequence is one pass over exactly the analysed
 * first `analysedLength` residues (true with no reading: nothing else to show).
 */
export function readingIsAnalysis(reading: ModelReading | null | undefined, fullLength: number, analysedLength: number): boolean {
  if (!reading) return true;
  const onePass = reading.window ? (fullLength <= reading.window.size ? fullLength : -1) : Math.min(fullLength, reading.maxLength);
  return onePass === analysedLength;
}

/** The class probabilities (C) of the whole sequence under the model's reading. */
export async function readingProbabilities(clf: Classifier, sequence: string, reading: ModelReading): Promise<ReadingResult> {
  const w = reading.window;
  const logits = await classifierLogits(clf.model, clf.head, [record(sequence, 0)], w ? { batchSize: 8, maxLength: w.size, window: w } : { batchSize: 1, maxLength: reading.maxLength });
  const probs = softmaxRows(logits, clf.head.numClasses);
  return { probs, predicted: topIndices(probs, 1)[0]!, passes: w ? windowStarts(sequence.length, w).length : 1, describe: describeReading(reading) };
}

/** The full analysis of one sequence (already validated; cropped here to maxLength). */
export async function analyse(clf: Classifier, sequence: string, opts: RunOptions, onProgress: OnProgress): Promise<RunResult> {
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    timings[name] = (performance.now() - t0) / 1000;
    await tick();
    return r;
  };
  const seq = sequence.slice(0, opts.maxLength);
  const C = clf.head.numClasses;
  const layout = neuronLayout(clf.config);

  onProgress('classifying', 0, 1);
  const probs = await timed('classify', () => classProbabilities(clf, seq, opts.maxLength));
  const predicted = topIndices(probs, 1)[0]!;
  const reading = readingIsAnalysis(opts.reading, sequence.length, seq.length) ? null
    : await timed('reading', () => readingProbabilities(clf, sequence, opts.reading!));

  onProgress('per-residue attribution', 0, 1);
  const residue = await timed('residue IG', () =>
    residueIg(clf.model, clf.head, encodeSequence(seq, 'input'), predicted, {
      steps: opts.residueSteps,
      onProgress: async (d, t) => {
        onProgress('per-residue attribution', d, t);
        await tick();
      },
    }),
  );

  onProgress('neuron attribution', 0, 1);
  const scores = await timed('neuron IG', async () => {
    // One call for every module: one shared first pass; progress and UI yields come per (module, layer).
    const s = await igScores(clf.model, clf.head, [record(seq, predicted)], clf.labels, {
      steps: opts.neuronSteps,
      rule: 'riemann',
      maxLength: opts.maxLength,
      completeness: false,
      onPair: async (d, t) => {
        onProgress('neuron attribution', d, t);
        await tick();
      },
    });
    return Float64Array.from(s.values.subarray(0, layout.total));
  });
  const neurons = topIndices(scores, Math.min(opts.topK, layout.total)).map((flat) => ({ ...neuronAt(layout, flat), score: scores[flat]! }));

  const effects: EditEffect[] = [];
  await timed('edits', async () => {
    for (const [i, module] of NEURON_MODULES.entries()) {
      onProgress('preserving and ablating', i, NEURON_MODULES.length);
      const sel = selectTop(layout, module, scores, 'ig', opts.fraction, 'layer');
      const preserve = await classProbabilities(clf, seq, opts.maxLength, [ablationEdit(layout, sel, 'zero')]);
      const ablate = await classProbabilities(clf, seq, opts.maxLength, [{ module, factors: Float32Array.from(sel.keep, (k) => 1 - k) }]);
      effects.push({ module, selected: sel.keep.reduce((a, b) => a + b, 0), total: sel.keep.length, preserve, ablate });
    }
  });
  onProgress('done', 1, 1);
  if (probs.length !== C) throw new Error(`expected ${C} probabilities, got ${probs.length}`);
  return { sequence: seq, cropped: seq.length < sequence.length, probs, predicted, reading, residue, neurons, effects, timings };
}
