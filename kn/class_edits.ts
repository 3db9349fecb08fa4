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
import { mixSeed } from '../model/batching.js';
import type { EsmModel, NeuronModule } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import { type EvalBatching, classifierLogits, softmaxRows } from '../model/classifier.js';
import { editHook, scaleEdit } from './ablate.js';
import type { NeuronLayout } from './layout.js';
import { type NeuronScores, classScores, examplesByClass } from './scores.js';
import { type Selection, selectRandomMatched, selectTop } from './select.js';
import { empiricalPValue, holm } from './stats.js';

/** Suppression sets the neurons to 0, amplification doubles them. */
export type ClassEditKind = 'suppress' | 'amplify';

/** Both edits, in report order. */
export const CLASS_EDIT_KINDS: readonly ClassEditKind[] = ['suppress', 'amplify'];

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
  /**
   * The same edit on layer-matched random neurons of the module (as many in every layer), one per control
   * seed: the mean relative change of p(class) on the class's own examples, and the empirical p-value of
   * "the top neurons change it more than random ones" ((1 + #{random as extreme}) / (1 + S); more
   * negative for suppression, more positive for amplification). Under a zero baseline an IG score is a
   * first-order estimate of this very edit, so without this control "suppression lowers its class" is
   * nearly guaranteed.
   */
  readonly random_own_change: number;
  readonly random_own_changes: number[];
  readonly p_value: number;
  /** Holm within the (module, edit) family over classes. With S control seeds no p is below 1 / (S + 1). */
  readonly p_adjusted: number;
}

/**
 * Specificity of suppression: row `class` edited, column c2 the relative change of the mean p(c2) on
 * c2's own examples. A specific edit has a large negative diagonal and small off-diagonal entries.
 */
export interface SpecificityRow {
  readonly module: NeuronModule;
  readonly class: number;
  readonly class_name: string;
  readonly changes: number[];
}

/** Options of classEdits. */
export interface ClassEditOptions {
  readonly modules: readonly NeuronModule[];
  /** Share of the module type's neurons edited per class (e.g. 0.01). */
  readonly fraction: number;
  readonly batching: EvalBatching;
  /** Seeds of the random-neuron controls (none: no control). */
  readonly controlSeeds: readonly number[];
  /** The edits made (default both; the quick study suppresses only). */
  readonly kinds?: readonly ClassEditKind[];
  /** Head dim to take query and key neurons in whole rotary pairs (kn/pairs.ts), or null/absent for single units. */
  readonly pairs?: number | null;
  readonly onProgress?: (done: number, total: number) => void;
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
}

const change = (before: number, after: number): number => (before === 0 ? Number.NaN : (after - before) / before);

/** Flat indices (within the module type) of a selection's kept neurons. */
function keptIndices(s: Selection): number[] {
  const out: number[] = [];
  s.keep.forEach((k, i) => k && out.push(i));
  return out;
}

/**
 * Layer-matched random flat indices (within the module type) for a set of neurons: the same count per
 * layer (in whole rotary pairs of query and key when `pairs` gives the head dim), drawn as
 * selectRandomMatched draws the ablations' controls, from a stream of its own.
 */
export function matchedRandomNeurons(layout: NeuronLayout, module: NeuronModule, neurons: readonly number[], seed: number, pairs: number | null = null): number[] {
  const keep = new Uint8Array(layout.numLayers * layout.widths[module]);
  for (const i of neurons) keep[i] = 1;
  const target: Selection = { module, method: 'class-edit', ranking: 'global', fraction: 0, seed: null, keep };
  return keptIndices(selectRandomMatched(layout, target, mixSeed(seed, 7), pairs));
}

/** Mean of p(col) over the records that are (mine) or are not (!mine) of class c. */
function meanProb(p: Float64Array, records: readonly TaskRecord[], C: number, c: number, mine: boolean, col: (r: number) => number): number {
  let s = 0;
  let n = 0;
  records.forEach((r, i) => {
    if ((r.label === c) !== mine) return;
    s += p[i * C + col(i)]!;
    n++;
  });
  return n ? s / n : Number.NaN;
}

/** Suppression and amplification of every class's top neurons in each module type, with random controls. */
export async function classEdits(model: EsmModel, head: ClassifierHead, records: readonly TaskRecord[], scores: NeuronScores, o: ClassEditOptions): Promise<{ rows: ClassEditRow[]; specificity: SpecificityRow[] }> {
  const { layout, classNames } = scores;
  const C = classNames.length;
  const perClass = classScores(scores);
  const scored = examplesByClass(scores).map((idx) => idx.length > 0);
  const before = softmaxRows(await classifierLogits(model, head, records, o.batching), C); // (R, C)
  const probsAfter = async (module: NeuronModule, neurons: readonly number[], factor: number): Promise<Float64Array> => {
    const h = editHook(layout, [scaleEdit(layout, module, neurons, factor)]);
    try {
      return softmaxRows(await classifierLogits(model, head, records, o.batching, h.hook), C);
    } finally {
      h.dispose();
    }
  };
  const rows: ClassEditRow[] = [];
  const specificity: SpecificityRow[] = [];
  const present = scored.filter(Boolean).length;
  const kinds = o.kinds ?? CLASS_EDIT_KINDS;
  const total = o.modules.length * present * kinds.length * (1 + o.controlSeeds.length);
  let done = 0;
  const tick = () => o.onProgress?.(++done, total);
  for (const module of o.modules) {
    for (let c = 0; c < C; c++) {
      if (!scored[c]) continue;
      // The class's top neurons of the module type, over all layers (whole rotary pairs of query and key).
      const neurons = keptIndices(selectTop(layout, module, perClass[c]!, 'ig', o.fraction, 'global', o.pairs ?? null));
      for (const edit of kinds) {
        const factor = edit === 'suppress' ? 0 : 2;
        const after = await probsAfter(module, neurons, factor);
        tick();
        const ob = meanProb(before, records, C, c, true, () => c);
        const oa = meanProb(after, records, C, c, true, () => c);
        const xb = meanProb(before, records, C, c, false, () => c);
        const xa = meanProb(after, records, C, c, false, () => c);
        const tb = meanProb(before, records, C, c, false, (i) => records[i]!.label);
        const ta = meanProb(after, records, C, c, false, (i) => records[i]!.label);
        const randomChanges: number[] = [];
        for (const seed of o.controlSeeds) {
          const r = await probsAfter(module, matchedRandomNeurons(layout, module, neurons, seed, o.pairs ?? null), factor);
          randomChanges.push(change(ob, meanProb(r, records, C, c, true, () => c)));
          tick();
        }
        const ownChange = change(ob, oa);
        rows.push({
          module, class: c, class_name: classNames[c]!, edit, neurons: neurons.length,
          own_before: ob, own_after: oa, own_change: ownChange,
          others_before: xb, others_after: xa, others_change: change(xb, xa),
          others_true_before: tb, others_true_after: ta, others_true_change: change(tb, ta),
          random_own_change: randomChanges.length ? mean(randomChanges) : Number.NaN,
          random_own_changes: randomChanges,
          p_value: Number.isNaN(ownChange) ? Number.NaN : empiricalPValue(ownChange, randomChanges.filter((x) => !Number.isNaN(x)), edit === 'suppress' ? 'less' : 'greater'),
          p_adjusted: Number.NaN,
        });
        if (edit === 'suppress') {
          specificity.push({
            module, class: c, class_name: classNames[c]!,
            changes: classNames.map((_, c2) => change(meanProb(before, records, C, c2, true, () => c2), meanProb(after, records, C, c2, true, () => c2))),
          });
        }
      }
    }
  }
  return { rows: holmPerFamily(rows), specificity };
}

/** Fills p_adjusted: Holm over the classes of each (module, edit) family (NaN p-values left out). */
function holmPerFamily(rows: readonly ClassEditRow[]): ClassEditRow[] {
  const out = [...rows];
  const families = new Map<string, number[]>();
  rows.forEach((r, i) => {
    if (Number.isNaN(r.p_value)) return;
    const k = `${r.module}|${r.edit}`;
    families.set(k, [...(families.get(k) ?? []), i]);
  });
  for (const idx of families.values()) {
    const adj = holm(idx.map((i) => rows[i]!.p_value));
    idx.forEach((i, k) => (out[i] = { ...rows[i]!, p_adjusted: adj[k]! }));
  }
  return out;
}
