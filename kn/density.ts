/**
 * Where the knowledge neurons sit: rank every neuron of the model by its overall score (IG attributions
 * are comparable across modules: each module's sum to a change in probability), take the global top
 * fraction (e.g. 1% of all neurons), and report per module type and layer the share of that module's
 * neurons in the top set, i.e. normalised by module size (ffn_in has 4x the neurons of the others).
 * Enrichment = share / top fraction: 1 is what a module gets by size alone.
 *
 * Confidence intervals: percentile bootstrap over the scored examples (resampled within each class,
 * one seeded stream per resample, derived in kn/seeds.ts so it shares no draw with the ablation tests),
 * recomputing the overall scores and the top set each time. Pure code.
 */
import { NEURON_MODULES, type NeuronModule } from '../model/esm.js';
import { moduleSize, neuronAt } from './layout.js';
import { type NeuronScores, bootstrapClasses, examplesByClass, overallScores } from './scores.js';
import { densityResampleSeed } from './seeds.js';
import { keepCount, topIndices } from './select.js';
import { empiricalPValue, holm, percentileInterval } from './stats.js';

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

/**
 * Attribution mass of one module type. Only the signed sum is basis-free (for IG it is the module's
 * share of f(x) - f(0) by completeness, whatever basis its units are written in); abs, per_neuron and
 * share_of_total depend on the unit basis, which only ffn_in (after the GELU) has as a privileged one.
 */
export interface ModuleMass {
  readonly module: NeuronModule;
  /** Sum of the overall scores over the module's neurons (for IG, by completeness, the module's share of f(x) - f(0)). */
  readonly signed: number;
  /** Sum of |overall score| over its neurons. */
  readonly abs: number;
  /** abs / neurons: mean |score| per neuron. */
  readonly per_neuron: number;
  /** abs / the sum of abs over all module types. */
  readonly share_of_total: number;
}

/** Share of each module's neurons in the global top set at one top fraction (the sensitivity curve). */
export interface SensitivityPoint {
  readonly top_fraction: number;
  readonly module: NeuronModule;
  readonly share: number;
  readonly share_lo: number;
  readonly share_hi: number;
}

/** A one-sided test of key against one other module type: the fields every key contrast shares. */
export interface KeyTest {
  readonly other: NeuronModule;
  /** Key's value minus the other's. */
  readonly difference: number;
  readonly ci_low: number;
  readonly ci_high: number;
  /** One-sided bootstrap p of "key > other": (1 + #{difference <= 0}) / (1 + resamples). */
  readonly p_value: number;
  /** Holm over the family's testable contrasts. */
  readonly p_adjusted: number;
  readonly significant: boolean;
  /** False for a module tied to key by construction: reported, not tested. */
  readonly testable: boolean;
}

/**
 * Holm over the rows whose `other` is not tied to key; tied rows get NaN and are never significant.
 * Shared by every family of key contrasts (density here, zeroing in basis_free.ts).
 */
export function holmKeyTests<T extends Pick<KeyTest, 'other' | 'p_value'>>(rows: readonly T[], tied: readonly NeuronModule[]): (T & Pick<KeyTest, 'p_adjusted' | 'significant' | 'testable'>)[] {
  const testable = rows.filter((r) => !tied.includes(r.other));
  const adj = holm(testable.map((r) => r.p_value));
  return rows.map((r) => {
    const k = testable.indexOf(r);
    return k < 0 ? { ...r, p_adjusted: Number.NaN, significant: false, testable: false } : { ...r, p_adjusted: adj[k]!, significant: adj[k]! < 0.05, testable: true };
  });
}

/** Key minus one other module type, over bootstrap resamples of the scored examples. */
export interface KeyContrast extends KeyTest {
  /**
   * 'share': share of the module's neurons in the global top set; 'per_neuron': mean |score| per neuron
   * (both depend on the unit basis for every module but ffn_in); 'mass': the module type's signed
   * attribution mass per neuron, its signed sum (basis-free: for IG its share of f(x) - f(0)) over its
   * neuron count (fixed by the architecture), so module types of different sizes compare.
   */
  readonly quantity: 'share' | 'per_neuron' | 'mass';
}

/** The verdict on Nori et al.'s headline (results.json verdicts.key_density). */
export interface KeyDensityVerdict {
  readonly statement: string;
  /** Key's share exceeds every other module type's, each contrast Holm-significant. */
  readonly significant: boolean;
  readonly quantity: 'share';
  readonly top_fraction: number;
  readonly contrasts: KeyContrast[];
  /** The same test on mean |score| per neuron (basis-free in total, not per unit). */
  readonly per_neuron_significant: boolean;
  /** The same test on the signed attribution mass (basis-free). */
  readonly mass_significant: boolean;
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
  readonly mass: ModuleMass[];
  readonly sensitivity: SensitivityPoint[];
  readonly keyDensity: KeyDensityVerdict;
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

/** Mass per module type of overall scores (N). */
export function moduleMass(s: Pick<NeuronScores, 'layout'>, scores: Float64Array): ModuleMass[] {
  const { layout } = s;
  const rows = NEURON_MODULES.map((module) => {
    const start = layout.starts[module];
    const size = moduleSize(layout, module);
    let signed = 0;
    let abs = 0;
    for (let i = start; i < start + size; i++) {
      signed += scores[i]!;
      abs += Math.abs(scores[i]!);
    }
    return { module, signed, abs, per_neuron: abs / size };
  });
  const total = rows.reduce((a, r) => a + r.abs, 0);
  return rows.map((r) => ({ ...r, share_of_total: total > 0 ? r.abs / total : Number.NaN }));
}

const shareOf = (layout: NeuronScores['layout'], c: number[][], mi: number): number =>
  c[mi]!.reduce((a, b) => a + b, 0) / moduleSize(layout, NEURON_MODULES[mi]!);

/** Top fractions of the sensitivity curve. */
export const SENSITIVITY_FRACTIONS: readonly number[] = [0.005, 0.01, 0.02, 0.05, 0.1];

/**
 * The density of the global top `topFraction` of neurons, with `resamples` bootstrap resamples of
 * the scored examples (within classes), the sensitivity over SENSITIVITY_FRACTIONS, each module's
 * attribution mass (from `massOf`, e.g. the raw scores when `s` is normalised per example; the same
 * examples in the same order, so one resample of examples serves both), and the key-versus-others
 * contrasts with Holm's adjustment.
 */
export function neuronDensity(s: NeuronScores, topFraction: number, resamples: number, seed: number, sensitivity: readonly number[] = SENSITIVITY_FRACTIONS, massOf: NeuronScores = s, tiedToKey: readonly NeuronModule[] = []): Density {
  const { layout } = s;
  const top = keepCount(layout.total, topFraction);
  const byClass = examplesByClass(s);
  const overall = overallScores(s, byClass);
  const point = counts(s, overall, top);
  const fractions = [...new Set([topFraction, ...sensitivity])].sort((a, b) => a - b);
  const tops = fractions.map((f) => keepCount(layout.total, f));
  // One set of resampled overall scores serves every fraction and the mass contrasts.
  const bootScores = Array.from({ length: resamples }, (_, b) => overallScores(s, bootstrapClasses(byClass, densityResampleSeed(seed, b))));
  const bootCounts = tops.map((t) => bootScores.map((sc) => counts(s, sc, t)));
  const boot = bootCounts[fractions.indexOf(topFraction)]!;
  const cells: DensityCell[] = [];
  const modules: DensityModule[] = [];
  NEURON_MODULES.forEach((module, mi) => {
    const W = layout.widths[module];
    for (let layer = 0; layer < layout.numLayers; layer++) {
      const [lo, hi] = percentileInterval(boot.map((c) => c[mi]![layer]! / W));
      const share = point[mi]![layer]! / W;
      cells.push({ module, layer, count: point[mi]![layer]!, share, share_lo: lo, share_hi: hi, enrichment: share / topFraction });
    }
    const [lo, hi] = percentileInterval(boot.map((c) => shareOf(layout, c, mi)));
    const share = shareOf(layout, point, mi);
    modules.push({
      module, count: point[mi]!.reduce((a, b) => a + b, 0), share, share_lo: lo, share_hi: hi,
      enrichment: share / topFraction, enrichment_lo: lo / topFraction, enrichment_hi: hi / topFraction,
    });
  });
  const sens: SensitivityPoint[] = fractions.flatMap((f, fi) => {
    const pt = counts(s, overall, tops[fi]!);
    return NEURON_MODULES.map((module, mi) => {
      const [lo, hi] = percentileInterval(bootCounts[fi]!.map((c) => shareOf(layout, c, mi)));
      return { top_fraction: f, module, share: shareOf(layout, pt, mi), share_lo: lo, share_hi: hi };
    });
  });
  // Mass from raw (unnormalised) scores when given: there the signed sum keeps IG's completeness.
  const massByClass = examplesByClass(massOf);
  const mass = moduleMass(massOf, overallScores(massOf, massByClass));
  const bootMass = Array.from({ length: resamples }, (_, b) => moduleMass(massOf, overallScores(massOf, bootstrapClasses(massByClass, densityResampleSeed(seed, b)))));
  const ki = NEURON_MODULES.indexOf('key');
  const contrast = (quantity: KeyContrast['quantity']): KeyContrast[] => {
    const value = (mi: number, c: number[][], m: ModuleMass[]) => (quantity === 'share' ? shareOf(layout, c, mi) : quantity === 'mass' ? m[mi]!.signed / moduleSize(layout, NEURON_MODULES[mi]!) : m[mi]!.per_neuron);
    const raw = NEURON_MODULES.flatMap((other, mi) => {
      if (mi === ki) return [];
      const diffs = boot.map((c, b) => value(ki, c, bootMass[b]!) - value(mi, c, bootMass[b]!));
      const [lo, hi] = percentileInterval(diffs);
      const p = empiricalPValue(0, diffs, 'less');
      return [{ other, quantity, difference: value(ki, point, mass) - value(mi, point, mass), ci_low: lo, ci_high: hi, p_value: p }];
    });
    return holmKeyTests(raw, tiedToKey);
  };
  const shares = contrast('share');
  const perNeuron = contrast('per_neuron');
  const signedMass = contrast('mass');
  const allSignificant = (cs: readonly KeyContrast[]) => cs.filter((c) => c.testable).every((c) => c.significant);
  const keyDensity: KeyDensityVerdict = {
    statement: keyVerdictStatement(shares, perNeuron, signedMass, topFraction, resamples),
    significant: allSignificant(shares),
    quantity: 'share', top_fraction: topFraction, contrasts: [...shares, ...perNeuron, ...signedMass],
    per_neuron_significant: allSignificant(perNeuron),
    mass_significant: allSignificant(signedMass),
  };
  return { topFraction, topCount: top, resamples, seed, cells, modules, keyStatement: keyStatement(modules, topFraction), mass, sensitivity: sens, keyDensity };
}

const pct = (x: number): string => `${(100 * x).toFixed(x < 0.01 ? 2 : 1)}%`;

/** The tested sentence on key density: every contrast must be Holm-significant. */
function keyVerdictStatement(shares: readonly KeyContrast[], perNeuron: readonly KeyContrast[], mass: readonly KeyContrast[], topFraction: number, resamples: number): string {
  const testable = shares.filter((c) => c.testable);
  const tied = shares.filter((c) => !c.testable).map((c) => c.other);
  const failing = testable.filter((c) => !c.significant).map((c) => c.other);
  const test = `paired bootstrap over scored examples (${resamples} resamples), one-sided, Holm over the ${testable.length} testable module types, alpha 0.05`;
  const tiedNote = tied.length ? ` Key versus ${tied.join(', ')} is not testable here: under joint scaling their attributions are equal per rotary pair by construction.` : '';
  const pn = perNeuron.filter((c) => c.testable).every((c) => c.significant) ? 'also' : 'not';
  const ms = mass.filter((c) => c.testable).every((c) => c.significant) ? 'also' : 'not';
  const others = `by mean |score| per neuron (basis-dependent) they are ${pn} above all testable others; by signed attribution mass per neuron (basis-free, the same test) ${ms}.`;
  if (!failing.length) {
    return `Key projections are denser than every testable other module type (${testable.map((c) => c.other).join(', ')}) in the global top ${pct(topFraction)} (${test}); ${others}${tiedNote}`;
  }
  return `Not shown: key projections are not significantly denser than ${failing.join(', ')} in the global top ${pct(topFraction)} (${test}); ${others}${tiedNote}`;
}

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
