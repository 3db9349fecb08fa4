/**
 * Dai et al.'s knowledge-attribution check, per class: take a class's top neurons of one module type
 * (by that class's scores, ranked over all layers), suppress them (x0) or amplify them (x2), and
 * measure the change in that class's probability on its own examples, and on the other classes'
 * examples both that class's probability and each example's own true-class probability (Dai et al.'s
 * "unrelated facts" control). Changes are relative: (after - before) / before of the mean probability.
 *
 * Axis letters: R records, C classes, N neurons.
 */
import type { TaskRecord } from '../data/dataset.js';
import type { EsmModel, NeuronModule } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import { type EvalBatching, classifierLogits, softmaxRows } from '../model/classifier.js';
import { editHook, scaleEdit } from './ablate.js';
import { moduleSize } from './layout.js';
import { type NeuronScores, classScores, examplesByClass } from './scores.js';
import { keepCount, topIndices } from './select.js';

/** Suppression sets the neurons to 0, amplification doubles them. */
export type ClassEditKind = 'suppress' | 'amplify';

/** One (module, class, edit) result. */
export interface ClassEditRow {
  readonly module: NeuronModule;
  readonly class: number;
  readonly class_name: string;
  readonly edit: ClassEditKind;
  /** Neurons edited (the class's top fraction of the module type). */
  readonly neurons: number;
  /** Mean p(class) on the class's own examples, before and after, and the relative change. */
  readonly own_before: number;
  readonly own_after: number;
  readonly own_change: number;
  /** Mean p(class) on the other classes' examples. */
  readonly others_before: number;
  readonly others_after: number;
  readonly others_change: number;
  /** Mean p(true class) on the other classes' examples. */
  readonly others_true_before: number;
  readonly others_true_after: number;
  readonly others_true_change: number;
}

/** Options of classEdits. */
export interface ClassEditOptions {
  readonly modules: readonly NeuronModule[];
  /** Share of the module type's neurons edited per class (e.g. 0.01). */
  readonly fraction: number;
  readonly batching: EvalBatching;
  readonly onProgress?: (done: number, total: number) => void;
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
}

const change = (before: number, after: number): number => (before === 0 ? Number.NaN : (after - before) / before);

/** Suppression and amplification of every class's top neurons in each module type. */
export async function classEdits(model: EsmModel, head: ClassifierHead, records: readonly TaskRecord[], scores: NeuronScores, o: ClassEditOptions): Promise<ClassEditRow[]> {
  const { layout, classNames } = scores;
  const C = classNames.length;
  const perClass = classScores(scores);
  const scored = examplesByClass(scores).map((idx) => idx.length > 0);
  const before = softmaxRows(await classifierLogits(model, head, records, o.batching), C); // (R, C)
  const rows: ClassEditRow[] = [];
  const total = o.modules.length * scored.filter(Boolean).length * 2;
  for (const module of o.modules) {
    const start = layout.starts[module];
    const size = moduleSize(layout, module);
    for (let c = 0; c < C; c++) {
      if (!scored[c]) continue;
      const own = perClass[c]!.subarray(start, start + size);
      const neurons = topIndices(own, keepCount(size, o.fraction));
      for (const edit of ['suppress', 'amplify'] as const) {
        const h = editHook(layout, [scaleEdit(layout, module, neurons, edit === 'suppress' ? 0 : 2)]);
        let after: Float64Array;
        try {
          after = softmaxRows(await classifierLogits(model, head, records, o.batching, h.hook), C);
        } finally {
          h.dispose();
        }
        const pick = (p: Float64Array, mine: boolean, col: (r: number) => number) =>
          mean(records.flatMap((r, i) => ((r.label === c) === mine ? [p[i * C + col(i)]!] : [])));
        const ob = pick(before, true, () => c);
        const oa = pick(after, true, () => c);
        const xb = pick(before, false, () => c);
        const xa = pick(after, false, () => c);
        const tb = pick(before, false, (i) => records[i]!.label);
        const ta = pick(after, false, (i) => records[i]!.label);
        rows.push({
          module, class: c, class_name: classNames[c]!, edit, neurons: neurons.length,
          own_before: ob, own_after: oa, own_change: change(ob, oa),
          others_before: xb, others_after: xa, others_change: change(xb, xa),
          others_true_before: tb, others_true_after: ta, others_true_change: change(tb, ta),
        });
        o.onProgress?.(rows.length, total);
      }
    }
  }
  return rows;
}
