/**
 * Neuron selection: for one module type, keep the top fraction of its neurons by a score, ranked
 * within each layer (the same share of every layer) or globally over all layers of that module type,
 * or a seeded random subset of the same size. Pure code.
 *
 * A selection is a 0/1 keep mask (layers, W) in layout order; ablate.ts turns it into a hook.
 */
import { mixSeed } from '../model/batching.js';
import { rng } from '../engine/index.js';
import { NEURON_MODULES, type NeuronModule } from '../model/esm.js';
import { type NeuronLayout, moduleSize } from './layout.js';

/** Where the top fraction is taken: per layer, or over all layers of the module type. */
export type Ranking = 'layer' | 'global';

/** Every ranking, for option parsing. */
export const RANKINGS: readonly Ranking[] = ['layer', 'global'];

/** One module type's kept neurons. */
export interface Selection {
  readonly module: NeuronModule;
  /** 'activation', 'abs-activation', 'ig' or 'random'. */
  readonly method: string;
  readonly ranking: Ranking;
  /** Preserved fraction in [0, 1]. */
  readonly fraction: number;
  /** Seed of a random selection; null for score-based ones. */
  readonly seed: number | null;
  /** (layers, W) 1 = kept. */
  readonly keep: Uint8Array;
}

/** Neurons kept out of n at a fraction: rounded, but at least one when the fraction is positive. */
export function keepCount(n: number, fraction: number): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`preserved fraction ${fraction} is outside [0, 1]`);
  if (fraction === 0) return 0;
  return Math.min(n, Math.max(1, Math.round(fraction * n)));
}

/** Indices of the `count` largest values, ties to the lower index (so selections are reproducible). */
export function topIndices(values: ArrayLike<number>, count: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.slice(0, count);
}

/**
 * The units selected together within one layer of width W: every unit alone, or, when `pairs` gives a
 * head dim, the rotary pairs (d, d + Dh/2) of each head (pairs.ts: query and key are only defined per
 * pair, so a selection or a random control that split a pair would measure a basis artefact).
 */
export function unitGroups(W: number, pairs: number | null): number[][] {
  if (pairs === null) return Array.from({ length: W }, (_, w) => [w]);
  if (pairs % 2 || W % pairs) throw new Error(`rotary pairs: head dim ${pairs} must be even and divide the width ${W}`);
  const out: number[][] = [];
  for (let w = 0; w < W; w++) if (w % pairs < pairs / 2) out.push([w, w + pairs / 2]);
  return out;
}

/** The head dim to pair a module's units by: `pairs` for query and key, null for the others. */
export function pairingOf(module: NeuronModule, pairs: number | null): number | null {
  return pairs !== null && (module === 'query' || module === 'key') ? pairs : null;
}

/** Keeps the top `fraction` of the groups of `scores` (one module's (layers, W) scores) per layer or globally. */
function maskFromScores(scores: ArrayLike<number>, layers: number, W: number, fraction: number, ranking: Ranking, groups: number[][]): Uint8Array {
  const keep = new Uint8Array(layers * W);
  // A group's score: the mean of its units' scores (equal within a pair of paired scores).
  const groupScores = (l: number) => groups.map((g) => g.reduce((a, w) => a + scores[l * W + w]!, 0) / g.length);
  if (ranking === 'global') {
    const all = Array.from({ length: layers }, (_, l) => groupScores(l)).flat();
    for (const i of topIndices(all, keepCount(all.length, fraction))) {
      const l = Math.floor(i / groups.length);
      for (const w of groups[i % groups.length]!) keep[l * W + w] = 1;
    }
    return keep;
  }
  const k = keepCount(groups.length, fraction);
  for (let l = 0; l < layers; l++) {
    for (const i of topIndices(groupScores(l), k)) for (const w of groups[i]!) keep[l * W + w] = 1;
  }
  return keep;
}

/**
 * The top `fraction` of a module type's neurons by `scores` (N, the whole layout's overall scores),
 * ranked per layer or globally; with `pairs` (a head dim) query and key are selected in whole rotary
 * pairs (the fraction then counts pairs).
 */
export function selectTop(layout: NeuronLayout, module: NeuronModule, scores: ArrayLike<number>, method: string, fraction: number, ranking: Ranking, pairs: number | null = null): Selection {
  if (scores.length !== layout.total) throw new Error(`selection: ${scores.length} scores for ${layout.total} neurons`);
  const start = layout.starts[module];
  const own = Array.prototype.slice.call(scores, start, start + moduleSize(layout, module)) as number[];
  const W = layout.widths[module];
  return { module, method, ranking, fraction, seed: null, keep: maskFromScores(own, layout.numLayers, W, fraction, ranking, unitGroups(W, pairingOf(module, pairs))) };
}

/**
 * A random selection of the same size as selectTop's: the top of seeded uniform draws. The stream
 * depends on (seed, module) only, so a seed gives the same neurons whatever else is selected, and
 * a larger fraction keeps a superset of a smaller one.
 */
export function selectRandom(layout: NeuronLayout, module: NeuronModule, fraction: number, ranking: Ranking, seed: number): Selection {
  const rand = rng(mixSeed(seed, NEURON_MODULES.indexOf(module)));
  const draws = Float64Array.from({ length: moduleSize(layout, module) }, () => rand());
  const W = layout.widths[module];
  return { module, method: 'random', ranking, fraction, seed, keep: maskFromScores(draws, layout.numLayers, W, fraction, ranking, unitGroups(W, null)) };
}

/** Kept neurons in each layer of a selection (layers). */
export function perLayerCounts(layout: NeuronLayout, s: Selection): number[] {
  const W = layout.widths[s.module];
  return Array.from({ length: layout.numLayers }, (_, l) => {
    let n = 0;
    for (let w = 0; w < W; w++) n += s.keep[l * W + w]!;
    return n;
  });
}

/**
 * A random selection matched layer by layer to `target`: in every layer, as many neurons as the target
 * keeps there, drawn uniformly (the top of seeded uniform draws, one stream per (seed, module, layer)).
 * This is the control a score-based selection is tested against: a method that merely prefers some
 * layers (e.g. the last) cannot beat it by that preference alone. With `pairs` (a head dim), query and
 * key controls are drawn in whole rotary pairs, as the selections they match are made. With ranking 'layer' every layer keeps
 * the same count, so the activation and IG selections share one set of random controls.
 */
export function selectRandomMatched(layout: NeuronLayout, target: Selection, seed: number, pairs: number | null = null): Selection {
  const W = layout.widths[target.module];
  const groups = unitGroups(W, pairingOf(target.module, pairs));
  const size = groups[0]!.length;
  const counts = perLayerCounts(layout, target);
  const keep = new Uint8Array(layout.numLayers * W);
  counts.forEach((k, l) => {
    if (k % size) throw new Error(`random control: layer ${l} of the ${target.module} selection keeps ${k} units, not whole groups of ${size}`);
    const rand = rng(mixSeed(seed, NEURON_MODULES.indexOf(target.module), l));
    const draws = Float64Array.from({ length: groups.length }, () => rand());
    for (const i of topIndices(draws, k / size)) for (const w of groups[i]!) keep[l * W + w] = 1;
  });
  return { module: target.module, method: 'random', ranking: target.ranking, fraction: target.fraction, seed, keep };
}

/** Kept neurons per layer as index lists (for JSON files and reports). */
export function keptPerLayer(layout: NeuronLayout, s: Selection): number[][] {
  const W = layout.widths[s.module];
  return Array.from({ length: layout.numLayers }, (_, l) => {
    const out: number[] = [];
    for (let w = 0; w < W; w++) if (s.keep[l * W + w]) out.push(w);
    return out;
  });
}

/** The inverse of keptPerLayer. */
export function keepFromLists(layout: NeuronLayout, module: NeuronModule, lists: readonly (readonly number[])[]): Uint8Array {
  const W = layout.widths[module];
  if (lists.length !== layout.numLayers) throw new Error(`selection of ${module}: ${lists.length} layers, the model has ${layout.numLayers}`);
  const keep = new Uint8Array(layout.numLayers * W);
  lists.forEach((list, l) => {
    for (const w of list) {
      if (!(Number.isInteger(w) && w >= 0 && w < W)) throw new Error(`selection of ${module}: neuron ${w} of layer ${l} outside [0, ${W})`);
      keep[l * W + w] = 1;
    }
  });
  return keep;
}
