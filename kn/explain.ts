/**
 * Neuron cards (issue 13, "what the neurons know"): for the top neurons of each class and module type,
 * by a score file's per-class means, what each responds to on a set of records:
 *   - its top windows (one per record, at the record's highest value, +-half residues; exact ties broken
 *     by a seeded hash of the record id, never by the set's order, and counted) and their sequence logo
 *     (kn/logo.ts: small-sample corrected information content);
 *   - which classes and EC sub-classes the top windows' records belong to against the set
 *     (kn/neuron_card.ts: one-sided Fisher per card; Benjamini-Hochberg q-values over every enrichment
 *     test of the cards made together, all cards and both levels: one family per run);
 *   - a position profile and the Spearman correlation of per-record mean activation with length, with
 *     length and terminal detectors named (detectorCall);
 *   - the change in its class's mean probability on that class's records when it alone is zeroed, next
 *     to a random neuron of the same module and layer zeroed alone;
 * and across neurons the Jaccard overlap of the classes' top sets and clusters of near-identical logos.
 *
 * Query and key neurons are rotary pairs (d, d + Dh/2) (kn/pairs.ts: the split of a pair into units is
 * not a property of the model): chosen among pairs by the pair's mean class score, read by the pair's
 * norm (activation) or summed attribution (kn/positions.ts), zeroed as a pair against a random pair, and
 * named by the pair's first unit (`index`) with both in `units`. So one pair never gets two cards.
 *
 * Windows are ranked by activation (method 'activation') or by per-residue gradient x activation of
 * the true-class probability (method 'ig', kn/positions.ts: the integrand of integrated gradients at the
 * input, a one-node approximation, not the m-step IG of the scores). Browser-safe: no Node built-ins;
 * cli/neurons_explain.ts writes the files.
 *
 * Axis letters: C classes, N neurons of the model, R records.
 */
import type { TaskRecord } from '../data/dataset.js';
import { type EvalBatching, classifierLogits, softmaxRows } from '../model/classifier.js';
import { NEURON_MODULES, type EsmModel, type NeuronModule } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import { editHook, scaleEdit } from './ablate.js';
import { moduleScores, neuronLayout, sameLayout } from './layout.js';
import { type Logo, clusterLogos, consensus, sequenceLogo } from './logo.js';
import {
  type CutoffTies,
  type DetectorCall,
  type EnrichmentRow,
  type EnrichmentTest,
  type LengthCorrelation,
  NeuronAccumulator,
  type PositionProfile,
  adjustEnrichment,
  detectorCall,
  ecSubclasses,
  enrichmentTests,
  sequenceWindow,
} from './neuron_card.js';
import { neuronUnits, pairRowInPlace } from './pairs.js';
import { type NeuronRef, neuronKey, neuronPositions } from './positions.js';
import { type CardIg, describeCardIg } from './positions_ig.js';
import { type NeuronScores, classScores } from './scores.js';
import { pairingOf, topIndices, unitGroups } from './select.js';
import { jaccard } from './stats.js';
import { rng } from '../engine/index.js';

/** What ranks a neuron's windows. */
export type WindowMethod = 'activation' | 'ig';

/** Options of explainNeurons. */
export interface ExplainOptions {
  readonly batching: EvalBatching;
  /** Neurons per class and module type (default 2), ranked over all layers by the class's mean score. */
  readonly top?: number;
  /** Module types explained (default all). */
  readonly modules?: readonly NeuronModule[];
  /** Top windows per neuron (default 20) and residues on each side of a window's centre (default 7). */
  readonly windows?: number;
  /** Windows a record may give, its best residues (default 1; the page takes several from a single sequence). */
  readonly windowsPerRecord?: number;
  readonly half?: number;
  readonly method?: WindowMethod;
  /**
   * With method 'ig': per-residue attribution as m-step integrated gradients (kn/positions_ig.ts)
   * instead of gradient x activation (the IG integrand at alpha = 1, one node; the default).
   */
  readonly ig?: CardIg;
  /**
   * With method 'activation': also compute per-residue gradient x activation of the true-class
   * probability and keep it with each window (one forward and backward per batch; default off).
   */
  readonly attributions?: boolean;
  /** Records of the neuron's class used for the zeroing effect (default 32, the first ones in set order). */
  readonly zeroRecords?: number;
  /** Seed of the random control neurons (default 0). */
  readonly seed?: number;
  /** Logo similarity that joins two neurons' logos in one cluster (default 0.8). */
  readonly clusterThreshold?: number;
  /** (stage, done, total) after each batch of 'positions' (records) and each 'zeroing' evaluation. */
  readonly onProgress?: (stage: string, done: number, total: number) => void;
}

/** One top window of a neuron. */
export interface CardWindow {
  readonly record: string;
  /** 1-based residue at the window's centre. */
  readonly position: number;
  readonly window: string;
  /** The activation there (a query/key pair's norm); `attribution` a pair's summed attribution. */
  readonly activation: number;
  readonly attribution?: number;
  /** The record's class name and full EC numbers. */
  readonly class: string;
  readonly ec?: string;
}

/** Zeroing the neuron (a query/key pair: both units) alone against zeroing a random one of the same module and layer alone. */
export interface ZeroEffect {
  /** Records of the neuron's class the means run over. */
  readonly records: number;
  /** Mean probability of the class, unedited. */
  readonly p_before: number;
  /** With the neuron zeroed, and the change (after - before). */
  readonly p_after: number;
  readonly change: number;
  /** The random control: its first unit, its units (a random pair for query and key) and the effect. */
  readonly random: { readonly index: number; readonly units: readonly number[]; readonly p_after: number; readonly change: number };
}

/** A neuron's card; `index` is a query/key pair's first unit. */
export interface NeuronCard extends NeuronRef {
  /** The units it stands for: [d, d + Dh/2] for a query/key pair, [index] otherwise. */
  readonly units: readonly number[];
  /** The first class it is a top neuron of, and every such class (in class order). */
  readonly class: string;
  readonly classes: readonly string[];
  /** Its mean score for `class` in the score file. */
  readonly score: number;
  readonly windows: readonly CardWindow[];
  readonly logo: Logo;
  readonly consensus: string;
  readonly enrichment: readonly EnrichmentRow[];
  readonly position_profile: PositionProfile;
  readonly length_correlation: LengthCorrelation;
  readonly detector: DetectorCall;
  /**
   * Records tied exactly with the last kept window, and how many of them were kept: when tied > kept the
   * choice among them was a seeded hash of the record id, and enrichment among them is chance.
   */
  readonly cutoff_ties: CutoffTies;
  readonly zero_effect: ZeroEffect | null;
}

/** "neuron 37", or "pair (5, 9)" for a query/key card: how reports and the page name a card's units. */
export function unitsName(c: { readonly index: number; readonly units?: readonly number[] }): string {
  return c.units && c.units.length === 2 ? `pair (${c.units[0]}, ${c.units[1]})` : `neuron ${c.index}`;
}

/** A group of neurons with near-identical logos. */
export interface LogoCluster {
  /** neuronKey of each member ("ffn_in:1:37"). */
  readonly members: readonly string[];
  /** The first member's consensus. */
  readonly consensus: string;
}

/** Every card and the comparisons across them. */
export interface Explanations {
  readonly neurons: readonly NeuronCard[];
  readonly class_names: readonly string[];
  /** Per class, the neuronKeys of its top set (over the explained modules). */
  readonly top_sets: readonly (readonly string[])[];
  /** (C, C) Jaccard index of the classes' top sets. */
  readonly jaccard: readonly (readonly number[])[];
  /** Groups of two or more neurons whose logos match (kn/logo.ts clusterLogos). */
  readonly clusters: readonly LogoCluster[];
  readonly meta: Readonly<Record<string, unknown>>;
}

/** A neuron chosen for a card and the classes it is top for. */
export interface ChosenNeuron extends NeuronRef {
  readonly classes: number[];
  /** Its mean score for its first class. */
  readonly score: number;
}

/**
 * The top `top` neurons of each class and module type by the class's mean score, ranked over all
 * layers of the module type (ties to the lower index). Query and key are ranked as rotary pairs of a
 * head of `headDim` units, by the pair's mean score (kn/pairs.ts, as the study pairs them), and chosen
 * by their first unit. A neuron top for several classes is chosen once. Returns the distinct neurons
 * (in order of first choice) and each class's top set.
 */
export function chooseNeurons(scores: NeuronScores, headDim: number, top: number, modules: readonly NeuronModule[] = NEURON_MODULES): { neurons: ChosenNeuron[]; topSets: string[][] } {
  const layout = scores.layout;
  const perClass = classScores(scores);
  for (const row of perClass) pairRowInPlace(row, layout, headDim);
  const chosen = new Map<string, { n: ChosenNeuron; classes: number[] }>();
  const topSets = perClass.map((row, c) => {
    const set: string[] = [];
    for (const module of modules) {
      const W = layout.widths[module];
      const ms = moduleScores(layout, row, module); // (layers, W)
      const firsts = unitGroups(W, pairingOf(module, headDim)).map((g) => g[0]!);
      const candidates = Array.from({ length: layout.numLayers }, (_, l) => firsts.map((w) => l * W + w)).flat(); // flat (layer, first unit), ascending
      for (const j of topIndices(candidates.map((i) => ms[i]!), Math.min(top, candidates.length))) {
        const i = candidates[j]!;
        const ref = { module, layer: Math.floor(i / W), index: i % W };
        const key = neuronKey(ref);
        set.push(key);
        const seen = chosen.get(key);
        if (seen) seen.classes.push(c);
        else {
          const classes = [c];
          chosen.set(key, { n: { ...ref, classes, score: ms[i]! }, classes });
        }
      }
    }
    return set;
  });
  return { neurons: [...chosen.values()].map((v) => v.n), topSets };
}

/** The per-class top sets' Jaccard matrix (C, C). */
export function jaccardMatrix(topSets: readonly (readonly string[])[]): number[][] {
  return topSets.map((a) => topSets.map((b) => jaccard(a, b)));
}

/** FNV-1a hash of a string, from a seed: ids to class-blind tie-breaks and random streams. */
function hash(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/**
 * A random group of `groups` (one module and layer's units, or its rotary pairs) other than the one
 * holding `n.index`, from a stream seeded by (seed, neuron).
 */
function randomPartner(n: NeuronRef, groups: readonly (readonly number[])[], seed: number): readonly number[] {
  const own = groups.findIndex((g) => g.includes(n.index));
  if (groups.length < 2) return groups[own]!;
  const j = Math.floor(rng(hash(neuronKey(n), seed))() * (groups.length - 1));
  return groups[j >= own ? j + 1 : j]!;
}

/** Mean probability of class c over logits (R, C). */
function meanProb(logits: Float32Array, C: number, c: number): number {
  const p = softmaxRows(logits, C);
  let s = 0;
  for (let r = 0; r < p.length / C; r++) s += p[r * C + c]!;
  return s / (p.length / C);
}

/** Zeroing effects of each card's neuron and its random partner on its class's records. */
async function zeroEffects(model: EsmModel, head: ClassifierHead, records: readonly TaskRecord[], neurons: readonly ChosenNeuron[], o: ExplainOptions): Promise<ZeroEffect[]> {
  const layout = neuronLayout(model.config);
  const C = head.numClasses;
  const cap = o.zeroRecords ?? 32;
  const byClass = new Map<number, { recs: TaskRecord[]; before: number }>();
  const total = neurons.length * 2;
  let done = 0;
  const run = async (recs: readonly TaskRecord[], n: { module: NeuronModule; layer: number; units: readonly number[] } | null): Promise<Float32Array> => {
    if (!n) return classifierLogits(model, head, recs, o.batching);
    const h = editHook(layout, [scaleEdit(layout, n.module, n.units.map((w) => n.layer * layout.widths[n.module] + w), 0)]);
    try {
      return await classifierLogits(model, head, recs, o.batching, h.hook);
    } finally {
      h.dispose();
    }
  };
  const out: ZeroEffect[] = [];
  for (const n of neurons) {
    const c = n.classes[0]!;
    let base = byClass.get(c);
    if (!base) {
      const recs = records.filter((r) => r.label === c).slice(0, cap);
      base = { recs, before: recs.length ? meanProb(await run(recs, null), C, c) : Number.NaN };
      byClass.set(c, base);
    }
    const groups = unitGroups(layout.widths[n.module], pairingOf(n.module, model.config.headDim));
    const partner = { module: n.module, layer: n.layer, units: randomPartner(n, groups, o.seed ?? 0) };
    const own = { module: n.module, layer: n.layer, units: neuronUnits(n.module, n.index, model.config.headDim) };
    const after = base.recs.length ? meanProb(await run(base.recs, own), C, c) : Number.NaN;
    o.onProgress?.('zeroing', ++done, total);
    const randomAfter = base.recs.length ? meanProb(await run(base.recs, partner), C, c) : Number.NaN;
    o.onProgress?.('zeroing', ++done, total);
    out.push({
      records: base.recs.length,
      p_before: base.before,
      p_after: after,
      change: after - base.before,
      random: { index: partner.units[0]!, units: partner.units, p_after: randomAfter, change: randomAfter - base.before },
    });
  }
  return out;
}

/**
 * The cards of given neurons on `records` (class names index the records' labels; a neuron's first
 * class is the one its zeroing effect is measured on): one pass over the records for the per-residue
 * values of every neuron, then two classifier evaluations per neuron on its class's records for the
 * zeroing effect (skipped when `head` is null). Enrichment q-values are Benjamini-Hochberg over every
 * enrichment test of the call's cards (all cards, class and sub-class levels: one family), each p-value
 * the card's own. A query or key neuron given by either unit of its rotary pair gets the pair's card.
 * `top`, `modules` and `clusterThreshold` are not used.
 */
export async function neuronCards(
  model: EsmModel,
  head: ClassifierHead | null,
  records: readonly TaskRecord[],
  given: readonly ChosenNeuron[],
  classNames: readonly string[],
  o: ExplainOptions,
): Promise<NeuronCard[]> {
  const Dh = model.config.headDim;
  const neurons = given.map((n) => ({ ...n, index: neuronUnits(n.module, n.index, Dh)[0]! }));
  const method = o.method ?? 'activation';
  const keep = o.windows ?? 20;
  const half = o.half ?? 7;
  const tiebreak = (r: number): number => hash(records[r]!.id, o.seed ?? 0);
  const acc = neurons.map(() => new NeuronAccumulator(keep, tiebreak, o.windowsPerRecord ?? 1));
  await neuronPositions(model, head, records, neurons, {
    batching: o.batching,
    attribution: method === 'ig' || (o.attributions === true && head !== null),
    ...(method === 'ig' && o.ig ? { ig: o.ig } : {}),
    onProgress: (done, total) => o.onProgress?.('positions', done, total),
  }, (e) => {
    // The residues read (the first --max-len, or every residue under a window reading), not the full
    // length: regions, bins and the length correlation describe what the model saw; on a cropped
    // record the true C-terminus is unobserved.
    const len = e.residues;
    neurons.forEach((_, k) => {
      const a = e.activations.subarray(k * e.residues, (k + 1) * e.residues);
      acc[k]!.add(e.record, len, a, e.attributions?.subarray(k * e.residues, (k + 1) * e.residues), method === 'ig' ? 'attribution' : 'activation');
    });
  });
  const zero = head ? await zeroEffects(model, head, records, neurons, o) : null;
  const classLabels = records.map((r) => [classNames[r.label] ?? String(r.label)]);
  const subLabels = records.map((r) => ecSubclasses(r.ec));
  const hasEc = subLabels.some((s) => s.length > 0);
  const tops = acc.map((a) => a.topWindows());
  // One Benjamini-Hochberg family over every card's tests of both levels: a reader scans all the cards.
  const tests = tops.map((t): EnrichmentTest[] => {
    const topRecords = t.map((c) => c.record);
    return [...enrichmentTests('class', classLabels, topRecords), ...(hasEc ? enrichmentTests('subclass', subLabels, topRecords) : [])];
  });
  const enrichment = adjustEnrichment(tests);
  return neurons.map((n, k): NeuronCard => {
    const windows = tops[k]!.map((c): CardWindow => {
      const r = records[c.record]!;
      return {
        record: r.id, position: c.position + 1, window: sequenceWindow(r.sequence, c.position, half), activation: c.activation,
        ...(c.attribution !== undefined ? { attribution: c.attribution } : {}), class: classNames[r.label] ?? String(r.label), ...(r.ec ? { ec: r.ec } : {}),
      };
    });
    const logo = sequenceLogo(windows.map((w) => w.window));
    const profile = acc[k]!.profile();
    const length = acc[k]!.lengthCorrelation();
    return {
      module: n.module, layer: n.layer, index: n.index, units: neuronUnits(n.module, n.index, Dh),
      class: classNames[n.classes[0]!]!, classes: n.classes.map((c) => classNames[c]!), score: n.score,
      windows, logo, consensus: consensus(logo),
      enrichment: enrichment[k]!,
      position_profile: profile, length_correlation: length, detector: detectorCall(profile, length), cutoff_ties: acc[k]!.cutoffTies(),
      zero_effect: zero ? zero[k]! : null,
    };
  });
}

/**
 * Cards for the top neurons of `scores` (chooseNeurons) on `records` (neuronCards), with the Jaccard
 * overlap of the classes' top sets and clusters of near-identical logos.
 */
export async function explainNeurons(model: EsmModel, head: ClassifierHead | null, records: readonly TaskRecord[], scores: NeuronScores, o: ExplainOptions): Promise<Explanations> {
  const layout = neuronLayout(model.config);
  if (!sameLayout(layout, scores.layout)) throw new Error('the scores were computed on a model of another shape');
  const classNames = scores.classNames;
  const { neurons, topSets } = chooseNeurons(scores, model.config.headDim, o.top ?? 2, o.modules ?? NEURON_MODULES);
  const cards = await neuronCards(model, head, records, neurons, classNames, o);
  const groups = clusterLogos(cards.map((c) => c.logo), o.clusterThreshold ?? 0.8);
  const clusters = groups.filter((g) => g.length > 1).map((g) => ({ members: g.map((i) => neuronKey(cards[i]!)), consensus: cards[g[0]!]!.consensus }));
  return {
    neurons: cards, class_names: classNames, top_sets: topSets, jaccard: jaccardMatrix(topSets), clusters,
    meta: {
      scores_method: scores.method, window_method: o.method ?? 'activation',
      attribution: (o.method ?? 'activation') === 'ig' ? describeCardIg(o.ig)
        : o.attributions ? `${describeCardIg(undefined)}, kept with each window (windows ranked by activation)` : 'none (windows ranked by activation)', records: records.length, top_per_class_and_module: o.top ?? 2,
      modules: o.modules ?? NEURON_MODULES, windows: o.windows ?? 20, ...(o.windowsPerRecord ? { windows_per_record: o.windowsPerRecord } : {}), half_window: o.half ?? 7, max_length: o.batching.maxLength,
      positions: o.batching.window
        ? `every residue of each record, read as the model reads it: ${o.batching.window.size}-residue windows at stride ${o.batching.window.stride}, each residue from the window where it is most central; position profiles, terminal regions and the length correlation are over whole records`
        : `residues read: the first ${o.batching.maxLength} of each record; position profiles, terminal regions and the length correlation are over those`,
      ...(o.batching.window ? { window: o.batching.window } : {}),
      query_key: 'per rotary pair (d, d + Dh/2), named by d: chosen by the pair\'s mean score, windows by the pair\'s norm (activation) or summed attribution, zeroed as a pair against a random pair',
      enrichment_q: 'Benjamini-Hochberg over every enrichment test of this run (all cards, class and sub-class levels together: one family of enrichment_tests tests); p-values are each card\'s own one-sided Fisher tests',
      enrichment_tests: cards.reduce((a, c) => a + c.enrichment.length, 0),
      zero_records_per_class: o.zeroRecords ?? 32, seed: o.seed ?? 0, cluster_threshold: o.clusterThreshold ?? 0.8,
    },
  };
}
