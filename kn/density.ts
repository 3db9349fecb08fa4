/**
 * Where the knowledge neurons sit: rank every neuron of the model by its overall score (IG attributions
 * are comparable across modules: each module's sum to a change in probability), take the global top
 * fraction (e.g. 1% of all neurons), and report per module type and layer the share of that module's
 * neurons in the top set, i.e. normalised by module size (ffn_in has 4x the neurons of the others).
 * Enrichment = share / top fraction: 1 is what a module gets by size alone.
 *
 * Confidence intervals: percentile bootstrap over the scored examples (resampled within each class,
 * one seeded stream per resample), recomputing the overall scores and the top set each time. Pure code.
 */
import { NEURON_MODULES, type NeuronModule } from '../model/esm.js';
import { moduleSize, neuronAt } from './layout.js';
import { type NeuronScores, bootstrapClasses, examplesByClass, overallScores } from './scores.js';
import { keepCount, topIndices } from './select.js';

/** Share of one (module, layer) in the global top set, with its bootstrap interval. */
export interface DensityCell {
  readonly module: NeuronModule;
  readonly layer: number;
  /** Top-set neurons in this (module, layer). */
  readonly count: number;
  /** count / W: the share of the module's neurons in that layer that are in the top set. */
  readonly share: number;
  readonly share_lo: number;
  readonly share_hi: number;
  /** share / top fraction. */
  readonly enrichment: number;
}

/** The same over all layers of a module type. */
export interface DensityModule {
  readonly module: NeuronModule;
  readonly count: number;
  readonly share: number;
  readonly share_lo: number;
  readonly share_hi: number;
  readonly enrichment: number;
  readonly enrichment_lo: number;
  readonly enrichment_hi: number;
}

/** The density analysis. */
export interface Density {
  readonly topFraction: number;
  readonly topCount: number;
  readonly resamples: number;
  readonly seed: number;
  readonly cells: DensityCell[];
  readonly modules: DensityModule[];
  /** A plain sentence: do the key projections stand out, as Nori et al. (2023) report? */
  readonly keyStatement: string;
}

/** Counts of top-set neurons per (module, layer), module-major as the layout. */
function counts(s: NeuronScores, scores: Float64Array, top: number): number[][] {
  const { layout } = s;
  const out = NEURON_MODULES.map(() => new Array<number>(layout.numLayers).fill(0));
  for (const i of topIndices(scores, top)) {
    const n = neuronAt(layout, i);
    out[NEURON_MODULES.indexOf(n.module)]![n.layer]!++;
  }
  return out;
}

function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
}

/** The density of the global top `topFraction` of neurons, with `resamples` bootstrap resamples. */
export function neuronDensity(s: NeuronScores, topFraction: number, resamples: number, seed: number): Density {
  const { layout } = s;
  const top = keepCount(layout.total, topFraction);
  const byClass = examplesByClass(s);
  const point = counts(s, overallScores(s, byClass), top);
  const boot = Array.from({ length: resamples }, (_, b) => counts(s, overallScores(s, bootstrapClasses(byClass, seed * 100003 + b)), top));
  const interval = (f: (c: number[][]) => number): [number, number] => {
    const xs = boot.map(f).sort((a, b) => a - b);
    return resamples ? [percentile(xs, 0.025), percentile(xs, 0.975)] : [Number.NaN, Number.NaN];
  };
  const cells: DensityCell[] = [];
  const modules: DensityModule[] = [];
  NEURON_MODULES.forEach((module, mi) => {
    const W = layout.widths[module];
    for (let layer = 0; layer < layout.numLayers; layer++) {
      const [lo, hi] = interval((c) => c[mi]![layer]! / W);
      const share = point[mi]![layer]! / W;
      cells.push({ module, layer, count: point[mi]![layer]!, share, share_lo: lo, share_hi: hi, enrichment: share / topFraction });
    }
    const size = moduleSize(layout, module);
    const total = (c: number[][]) => c[mi]!.reduce((a, b) => a + b, 0) / size;
    const [lo, hi] = interval(total);
    const share = total(point);
    modules.push({
      module, count: point[mi]!.reduce((a, b) => a + b, 0), share, share_lo: lo, share_hi: hi,
      enrichment: share / topFraction, enrichment_lo: lo / topFraction, enrichment_hi: hi / topFraction,
    });
  });
  return { topFraction, topCount: top, resamples, seed, cells, modules, keyStatement: keyStatement(modules, topFraction) };
}

const pct = (x: number): string => `${(100 * x).toFixed(x < 0.01 ? 2 : 1)}%`;

/**
 * Key stands out when its share of top neurons is the highest of the six module types and its
 * bootstrap interval lies above every other module's point estimate and above the size-only level.
 */
function keyStatement(modules: readonly DensityModule[], topFraction: number): string {
  const key = modules.find((m) => m.module === 'key')!;
  const others = modules.filter((m) => m.module !== 'key');
  const best = [...modules].sort((a, b) => b.share - a.share)[0]!;
  const highest = best.module === 'key';
  const clear = highest && key.share_lo > topFraction && others.every((m) => key.share_lo > m.share);
  const detail = `key projections hold ${pct(key.share)} of their neurons in the global top ${pct(topFraction)} ` +
    `(enrichment ${key.enrichment.toFixed(2)}x, 95% bootstrap interval ${key.enrichment_lo.toFixed(2)}-${key.enrichment_hi.toFixed(2)}x); ` +
    `the densest module type is ${best.module} (${pct(best.share)}).`;
  if (clear) return `Yes: the key projections stand out, as Nori et al. (2023) report: ${detail}`;
  if (highest) return `Not clearly: the key projections are the densest module type, but their interval overlaps other module types or the size-only level: ${detail}`;
  return `No: the key projections do not stand out in this model: ${detail}`;
}
