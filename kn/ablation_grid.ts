/**
 * The ablation grid on the GPU: for every module type, ranking and preserved fraction, keep each
 * method's top neurons of that module type (replace the rest by zero or the mean), and keep as many
 * layer-matched random neurons for each of S seeds; record every record's predicted class. A random
 * selection depends only on (module, per-layer counts, seed), so methods whose selections keep the same
 * counts in every layer (always so with ranking 'layer') share its evaluation.
 *
 * Axis letters: R test records, C classes, S random selections, N neurons.
 */
import type { TaskRecord } from '../data/dataset.js';
import { argmaxRows } from '../data/metrics.js';
import type { EsmModel, NeuronModule } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import type { EvalBatching } from '../model/classifier.js';
import { type Replacement, ablationEdit, editedMetrics } from './ablate.js';
import type { NeuronLayout } from './layout.js';
import { type Ranking, type Selection, perLayerCounts, selectRandomMatched, selectTop } from './select.js';
import type { TestCell } from './tests.js';
import type { ZeroedPredictions } from './basis_free.js';

/** One ablation measurement; the field order is the CSV's. */
export interface AblationRow {
  readonly module: NeuronModule;
  /** A score method ('activation', 'ig', 'ig-refined') or 'random'. */
  readonly method: string;
  readonly ranking: Ranking;
  readonly replacement: Replacement;
  /** Preserved fraction in [0, 1]. */
  readonly fraction: number;
  /** Random selections: the seed; null for score-based ones. */
  readonly seed: number | null;
  /** Random selections: the method whose per-layer counts they match; null otherwise. */
  readonly matched: string | null;
  /** Neurons of the module type kept (over all layers). */
  readonly kept: number;
  readonly accuracy: number;
  readonly macro_f1: number;
}

/** What the grid runs. */
export interface GridOptions {
  readonly modules: readonly NeuronModule[];
  readonly rankings: readonly Ranking[];
  readonly fractions: readonly number[];
  readonly seeds: readonly number[];
  readonly replacement: Replacement;
  /** Overall scores (N) per method, in the order the report lists them. */
  readonly methods: ReadonlyMap<string, ArrayLike<number>>;
  /** Signed mean activations (N), for mean replacement. */
  readonly means?: ArrayLike<number>;
  readonly batching: EvalBatching;
  /** Head dim to select query and key by whole rotary pairs (kn/pairs.ts), or null for single units. */
  readonly pairs: number | null;
  readonly onProgress?: (done: number, total: number) => void;
}

/** The grid's rows (for the CSV and plots) and its test cells (for kn/tests.ts). */
export interface GridResult {
  readonly rows: AblationRow[];
  readonly cells: TestCell[];
  /** Distinct forward passes over the test records. */
  readonly passes: number;
}

/** Runs the grid on `records` (their labels are the truth). */
export async function ablationGrid(model: EsmModel, head: ClassifierHead, layout: NeuronLayout, records: readonly TaskRecord[], classNames: readonly string[], o: GridOptions): Promise<GridResult> {
  const C = classNames.length;
  const plan: { module: NeuronModule; ranking: Ranking; fraction: number; method: string; sel: Selection; randoms: Selection[] }[] = [];
  const distinct = new Map<string, Selection>();
  const keyOf = (s: Selection) => `${s.module}|${s.seed ?? s.method}|${perLayerCounts(layout, s).join(',')}|${s.method === 'random' ? '' : `${s.ranking}|${s.fraction}`}`;
  for (const module of o.modules) {
    for (const ranking of o.rankings) {
      for (const fraction of o.fractions) {
        for (const [method, scores] of o.methods) {
          const sel = selectTop(layout, module, scores, method, fraction, ranking, o.pairs);
          const randoms = o.seeds.map((seed) => selectRandomMatched(layout, sel, seed, o.pairs));
          plan.push({ module, ranking, fraction, method, sel, randoms });
          for (const s of [sel, ...randoms]) if (!distinct.has(keyOf(s))) distinct.set(keyOf(s), s);
        }
      }
    }
  }
  const preds = new Map<string, { pred: Int32Array; accuracy: number; macro_f1: number }>();
  let done = 0;
  for (const [key, s] of distinct) {
    const r = await editedMetrics(model, head, layout, records, classNames, o.batching, [ablationEdit(layout, s, o.replacement, o.means)]);
    preds.set(key, { pred: argmaxRows(r.logits, C), accuracy: r.accuracy, macro_f1: r.macro_f1 });
    o.onProgress?.(++done, distinct.size);
  }
  const rows: AblationRow[] = [];
  const cells: TestCell[] = [];
  const row = (s: Selection, matched: string | null): AblationRow => {
    const r = preds.get(keyOf(s))!;
    return {
      module: s.module, method: s.method, ranking: s.ranking, replacement: o.replacement, fraction: s.fraction, seed: s.seed, matched,
      kept: s.keep.reduce((a, b) => a + b, 0), accuracy: r.accuracy, macro_f1: r.macro_f1,
    };
  };
  for (const p of plan) {
    rows.push(row(p.sel, null), ...p.randoms.map((s) => row(s, p.method)));
    cells.push({
      module: p.module, method: p.method, ranking: p.ranking, fraction: p.fraction,
      predictions: preds.get(keyOf(p.sel))!.pred, random: p.randoms.map((s) => preds.get(keyOf(s))!.pred),
    });
  }
  return { rows, cells, passes: distinct.size };
}

/** Accuracy and macro-F1 with each whole module type zeroed, against the unablated model. */
export interface ZeroingRow {
  readonly module: NeuronModule;
  readonly accuracy: number;
  readonly macro_f1: number;
  /** Unablated minus zeroed. */
  readonly accuracy_drop: number;
  readonly macro_f1_drop: number;
}

/**
 * Zeroes every neuron of each module type in every layer (a basis-free measure of how much the
 * classifier needs the module type). Zeroing all queries or keys makes attention uniform rather than
 * silencing it, so severity differs by module type in kind, not only in degree. Also returns each
 * zeroed model's predictions per record, for the paired contrasts of kn/basis_free.ts.
 */
export async function moduleZeroing(model: EsmModel, head: ClassifierHead, layout: NeuronLayout, records: readonly TaskRecord[], classNames: readonly string[], modules: readonly NeuronModule[], batching: EvalBatching, base: { accuracy: number; macro_f1: number }): Promise<{ rows: ZeroingRow[]; zeroed: ZeroedPredictions[] }> {
  const rows: ZeroingRow[] = [];
  const zeroed: ZeroedPredictions[] = [];
  for (const module of modules) {
    const none: Selection = { module, method: 'none', ranking: 'layer', fraction: 0, seed: null, keep: new Uint8Array(layout.numLayers * layout.widths[module]) };
    const r = await editedMetrics(model, head, layout, records, classNames, batching, [ablationEdit(layout, none, 'zero')]);
    rows.push({ module, accuracy: r.accuracy, macro_f1: r.macro_f1, accuracy_drop: base.accuracy - r.accuracy, macro_f1_drop: base.macro_f1 - r.macro_f1 });
    zeroed.push({ module, predictions: argmaxRows(r.logits, classNames.length) });
  }
  return { rows, zeroed };
}
