/**
 * Planted ground truth for calibrating the knowledge-neuron study: small ESM-2 classifiers with
 * hand-set weights whose decision is wired to chosen ffn_in units of one layer, uploadable as a normal
 * model and head (so every kn/ function runs on them unchanged), a generator of labelled records with
 * known motif positions, and null models on which nothing is planted.
 *
 * The planted circuit (layer P, unit u, residue r; every other weight small and random):
 *   embeddings   every token's row is zero-mean with unit variance over D (so a LayerNorm with weight 1
 *                and bias 0 maps it to itself), orthogonal to two zero-mean unit directions: FLAG (the
 *                residue-r detector's input) and READ (the residual dimension the head reads). Residue r's
 *                row is sqrt(D) FLAG, so FLAG . LN(e_t) is sqrt(D) at r and 0 at every other token.
 *   fc1 (P)      row u = (gain / sqrt(D)) FLAG, bias -gain / 2: pre-activation +gain/2 at r, -gain/2
 *                elsewhere, so gelu gives ~gain/2 at r and ~0 (|x| < 1e-8 for gain 12) elsewhere.
 *   fc2 (P)      column u = write READ: the unit's activation a adds a write READ to the residual.
 *   final LN     at an r position the residual is sqrt(D) FLAG + a write READ + noise, all zero-mean, so
 *                emb_layer_norm_after gives READ . last = a write / sqrt(1 + (a write)^2 / D): increasing
 *                in a (monotone, saturating at sqrt(D)); at other positions READ . last ~ 0.
 *   head         mean pooling gives READ . pooled ~ (#r / n) READ . last_r; head.dense row 0 is
 *                sharpness (READ . pooled - threshold), tanh, and head.out gives class 1 (motif)
 *                +margin h0 and class 0 -margin h0.
 * Units may also be planted for further classes (a unit's `class`, default 1): class k's units write
 * their own zero-mean unit direction READ_k (READ_1 = READ), every embedding row is orthogonal to each,
 * head.dense row k - 1 reads READ_k as row 0 reads READ, and head.out gives class k +margin h_{k-1} and
 * class 0 -margin (h_0 + ... + h_{K-1}): one class per planted circuit, each decided by its own units.
 * Attention projections and the other FFN units carry small random weights (noise std ~0.02), so every
 * module has live units and the rest of the network contributes little. Several units may be planted
 * (one residue each, by default all written to READ): a record is positive when it holds any planted residue.
 *
 * Axis letters: V vocabulary, D model dim, F FFN dim, C classes.
 */
import { gaussian, rng, shuffleInPlace } from '../../engine/random.js';
import type { TaskRecord } from '../../data/dataset.js';
import { makeConfig, type EsmConfig } from '../../model/config.js';
import { ESM2_TOKENS, encodeSequence } from '../../model/tokenizer.js';
import { refClassifierProbs } from '../../kn/ref/ig.js';
import { type ParamTensor, initParams, paramSpec } from '../../model/params.js';
import type { NeuronModule } from '../../model/esm.js';
import { type TinyClassifier, refHead } from './kn_fixtures.js';

/** One planted unit: an ffn_in unit that fires on one residue. */
export interface PlantedUnit {
  readonly module: NeuronModule;
  readonly layer: number;
  readonly index: number;
  /** The one-letter residue it detects. */
  readonly residue: string;
  /** The class whose logit it drives (1..K). */
  readonly class: number;
}

/** Settings of plantedClassifier; every field has a default. */
export interface PlantedOptions {
  /** Transformer layers (default 2). */
  readonly numLayers?: number;
  /** D (default 32) and heads (default 4, so Dh = 8). */
  readonly embedDim?: number;
  readonly attentionHeads?: number;
  /** The layer holding the planted units (default 0, so the signal crosses a whole layer above). */
  readonly layer?: number;
  /** Planted ffn_in units: index, residue and the class they decide (default one unit, 37, on 'H', class 1). */
  readonly units?: readonly { readonly index: number; readonly residue: string; readonly class?: number }[];
  /** Seed of the small random weights (default 1). */
  readonly seed?: number;
  /** Std of the small random weights (default 0.02). */
  readonly noise?: number;
  /**
   * Whether the head reads the planted circuit (default true). False gives a null model: the same
   * backbone, with READ and every FLAG projected out of every row of head.dense (row 0 is then small and
   * random), so the head cannot see whether a planted unit fired.
   */
  readonly readPlanted?: boolean;
}

/** A planted classifier on the host, with its ground truth. */
export interface PlantedClassifier extends TinyClassifier {
  /** The planted units, as (module, layer, index) with the residue each detects. */
  readonly planted: readonly PlantedUnit[];
  /** Class names: 0 'no_motif', 1 'motif' (with K > 1 planted classes, 'motif1' .. 'motifK'). */
  readonly classNames: readonly string[];
  /** The zero-mean unit directions (D) of the first detector's input and of the head's reading of class 1. */
  readonly flag: Float64Array;
  readonly read: Float64Array;
  /** READ_k of every planted class k = 1..K (reads[0] = read). */
  readonly reads: readonly Float64Array[];
}

/** Class names of the planted task. */
export const PLANTED_CLASSES: readonly string[] = ['no_motif', 'motif'];

/** The detector's pre-activation at its residue is +GAIN/2, elsewhere -GAIN/2. */
const GAIN = 12;
/** fc2 weight of a planted unit along READ. */
const WRITE = 1.5;
/** head.dense row 0: sharpness and threshold on READ . pooled. */
const SHARPNESS = 8;
const THRESHOLD = 0.1;
/** head.out: class 1 logit +MARGIN h0, class 0 -MARGIN h0. */
const MARGIN = 3;

/** A zero-mean unit vector (D) with +1/sqrt(2) at a and -1/sqrt(2) at b. */
function direction(D: number, a: number, b: number): Float64Array {
  const v = new Float64Array(D);
  v[a] = Math.SQRT1_2;
  v[b] = -Math.SQRT1_2;
  return v;
}

/** x minus its projections on the unit vectors `dirs` and on the constant direction, in place. */
function orthogonalise(x: Float64Array, dirs: readonly Float64Array[]): void {
  const D = x.length;
  const mean = x.reduce((a, b) => a + b, 0) / D;
  for (let d = 0; d < D; d++) x[d]! -= mean;
  for (const u of dirs) {
    let dot = 0;
    for (let d = 0; d < D; d++) dot += x[d]! * u[d]!;
    for (let d = 0; d < D; d++) x[d]! -= dot * u[d]!;
  }
}

/** The token id of a one-letter residue. */
export function residueToken(residue: string): number {
  const id = ESM2_TOKENS.indexOf(residue);
  if (id < 4 || residue.length !== 1) throw new Error(`planted: '${residue}' is not a residue token`);
  return id;
}

/**
 * A small ESM-2 classifier (2 classes, mean pooling) whose decision is wired to planted ffn_in units
 * (see the file comment). Deterministic in its options.
 */
export function plantedClassifier(o: PlantedOptions = {}): PlantedClassifier {
  const numLayers = o.numLayers ?? 2;
  const D = o.embedDim ?? 32;
  const P = o.layer ?? 0;
  const units = o.units ?? [{ index: 37, residue: 'H' }];
  const noise = o.noise ?? 0.02;
  const K = Math.max(1, ...units.map((u) => u.class ?? 1));
  const config = makeConfig({ numLayers, embedDim: D, attentionHeads: o.attentionHeads ?? 4, name: `kn-planted-${numLayers}x${D}` });
  const F = config.ffnDim;
  if (!(P >= 0 && P < numLayers)) throw new Error(`planted: layer ${P} outside [0, ${numLayers})`);
  for (const u of units) if (!(Number.isInteger(u.index) && u.index >= 0 && u.index < F)) throw new Error(`planted: unit ${u.index} outside [0, ${F})`);
  for (const u of units) if (!(Number.isInteger(u.class ?? 1) && (u.class ?? 1) >= 1)) throw new Error(`planted: unit ${u.index} decides class ${u.class}, not 1 or above`);
  if (2 * (units.length + K) > D) throw new Error(`planted: ${units.length} FLAG and ${K} READ directions need D >= ${2 * (units.length + K)}, not ${D}`);
  const flags = units.map((_, i) => direction(D, 2 * i, 2 * i + 1));
  const reads = Array.from({ length: K }, (_, k) => direction(D, D - 2 * k - 2, D - 2 * k - 1));
  const read = reads[0]!;
  const rand = rng(o.seed ?? 1);
  const small = (): number => gaussian(rand, noise);

  const params = new Map<string, ParamTensor<Float32Array>>();
  const rotary = initParams(config, 0);
  for (const spec of paramSpec(config)) {
    if (spec.tiedTo) continue;
    if (spec.kind === 'rotary_buffer') {
      params.set(spec.name, rotary.get(spec.name)!);
      continue;
    }
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (spec.kind === 'linear_weight') for (let i = 0; i < n; i++) data[i] = small();
    if (spec.kind === 'norm_weight') data.fill(1);
    params.set(spec.name, { shape: spec.shape, data });
  }

  // Embeddings (V, D): zero-mean, variance 1, orthogonal to every FLAG and READ_k; planted residues on FLAG.
  const emb = params.get('embed_tokens.weight')!.data;
  const planted = new Map(units.map((u, i) => [residueToken(u.residue), flags[i]!]));
  for (let t = 0; t < config.vocabSize; t++) {
    const row = planted.get(t) ? Float64Array.from(planted.get(t)!) : Float64Array.from({ length: D }, () => gaussian(rand));
    if (!planted.get(t)) orthogonalise(row, [...flags, ...reads]);
    const norm = Math.sqrt(row.reduce((a, b) => a + b * b, 0));
    for (let d = 0; d < D; d++) emb[t * D + d] = (row[d]! * Math.sqrt(D)) / norm;
  }
  // The detectors and their writes.
  const fc1w = params.get(`layers.${P}.fc1.weight`)!.data; // (F, D)
  const fc1b = params.get(`layers.${P}.fc1.bias`)!.data; // (F)
  const fc2w = params.get(`layers.${P}.fc2.weight`)!.data; // (D, F)
  units.forEach((u, i) => {
    for (let d = 0; d < D; d++) fc1w[u.index * D + d] = (GAIN / Math.sqrt(D)) * flags[i]![d]!;
    fc1b[u.index] = -GAIN / 2;
    for (let d = 0; d < D; d++) fc2w[d * F + u.index] = WRITE * reads[(u.class ?? 1) - 1]![d]!;
  });

  // Head: dense row k - 1 reads READ_k (or, for the null, small random weights), out maps h to the classes.
  const headParams = new Map<string, Float32Array>();
  const dense = Float32Array.from({ length: D * D }, small); // (D, D)
  const denseBias = new Float32Array(D);
  if (o.readPlanted ?? true) {
    reads.forEach((r, k) => {
      for (let d = 0; d < D; d++) dense[k * D + d] = SHARPNESS * r[d]!;
      denseBias[k] = -SHARPNESS * THRESHOLD;
    });
  } else {
    // The null: no row of head.dense sees READ or any FLAG. READ alone is not enough: a firing unit also
    // shrinks every other component of its position's residual through the LayerNorms (FLAG from
    // sqrt(D) to sqrt(D) / sqrt(1 + (a write)^2 / D)), which a head reading FLAG sees.
    for (let r = 0; r < D; r++) {
      const row = Float64Array.from(dense.subarray(r * D, (r + 1) * D));
      for (const u of [...flags, ...reads]) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += row[d]! * u[d]!;
        for (let d = 0; d < D; d++) row[d]! -= dot * u[d]!;
      }
      dense.set(row, r * D);
    }
  }
  const out = Float32Array.from({ length: (K + 1) * D }, small); // (C, D)
  for (let k = 0; k < K; k++) {
    out[k] = -MARGIN;
    out[(k + 1) * D + k] = MARGIN;
  }
  headParams.set('head.dense.weight', dense);
  headParams.set('head.dense.bias', denseBias);
  headParams.set('head.out.weight', out);
  headParams.set('head.out.bias', new Float32Array(K + 1));
  return {
    config, params, headParams, numClasses: K + 1, pooling: 'mean',
    classNames: K === 1 ? PLANTED_CLASSES : ['no_motif', ...Array.from({ length: K }, (_, k) => `motif${k + 1}`)],
    planted: units.map((u) => ({ module: 'ffn_in', layer: P, index: u.index, residue: u.residue, class: u.class ?? 1 })),
    flag: flags[0]!, read, reads,
  };
}

/**
 * The null model: the planted classifier's architecture with every weight random ('test'-mode
 * initParams: O(1) weights, biases and LayerNorm gains) and a random O(1) head; nothing is planted.
 * With `centreOn`, head.out.bias is set so that the median logit difference over those records is 0
 * (on the float64 reference), so the null predicts both classes instead of one constant class.
 */
export function nullClassifier(seed: number, o: Pick<PlantedOptions, 'numLayers' | 'embedDim' | 'attentionHeads'> = {}, centreOn: readonly TaskRecord[] = []): TinyClassifier {
  const D = o.embedDim ?? 32;
  const config: EsmConfig = makeConfig({ numLayers: o.numLayers ?? 2, embedDim: D, attentionHeads: o.attentionHeads ?? 4, name: `kn-null-${o.numLayers ?? 2}x${D}` });
  const params = initParams(config, seed, { mode: 'test' });
  const rand = rng(seed + 7919);
  const headParams = new Map<string, Float32Array>([
    ['head.dense.weight', Float32Array.from({ length: D * D }, () => gaussian(rand, 1 / Math.sqrt(D)))],
    ['head.dense.bias', Float32Array.from({ length: D }, () => gaussian(rand, 0.3))],
    ['head.out.weight', Float32Array.from({ length: 2 * D }, () => gaussian(rand, 2 / Math.sqrt(D)))],
    ['head.out.bias', new Float32Array(2)],
  ]);
  const t: TinyClassifier = { config, params, headParams, numClasses: 2, pooling: 'mean' };
  if (centreOn.length) {
    const diffs = centreOn.map((r) => {
      const tokens = encodeSequence(r.sequence, r.id);
      const p = refClassifierProbs(config, params, refHead(t), tokens, 1, tokens.length); // (1, C)
      return Math.log(p[1]!) - Math.log(p[0]!);
    }).sort((a, b) => a - b);
    const mid = diffs.length >> 1;
    const median = diffs.length % 2 ? diffs[mid]! : (diffs[mid - 1]! + diffs[mid]!) / 2;
    headParams.get('head.out.bias')![1] = -median;
  }
  return t;
}

/** A synthetic record with the positions of its planted residues. */
export interface PlantedRecord extends TaskRecord {
  /** 0-based indices into `sequence` of every planted residue (token position = index + 1); empty for class 0. */
  readonly motifPositions: readonly number[];
}

/** Settings of plantedRecords. */
export interface PlantedRecordOptions {
  /** Planted residues (default ['H']): class 1 records hold 1..maxMotifs of them, class 0 none. */
  readonly residues?: readonly string[];
  /** Sequence lengths minLength..maxLength (default 12..20). */
  readonly minLength?: number;
  readonly maxLength?: number;
  /** Most planted residues in a positive record (default 3). */
  readonly maxMotifs?: number;
  /** Record id prefix (default 'P'). */
  readonly prefix?: string;
  /**
   * One class per residue (default false): records cycle through classes 0..K (K residues), class k
   * holding residues[k - 1] only, for a classifier with a planted unit of class k on that residue.
   */
  readonly perClass?: boolean;
}

const STANDARD = 'ACDEFGHIKLMNPQRSTVWY';

/**
 * n records alternating class 0 (no planted residue anywhere) and class 1 (1..maxMotifs planted
 * residues at distinct random positions, the rest drawn from the other standard residues), seeded;
 * with `perClass`, cycling through class 0 and one class per residue.
 */
export function plantedRecords(n: number, seed: number, o: PlantedRecordOptions = {}): PlantedRecord[] {
  const residues = o.residues ?? ['H'];
  const background = [...STANDARD].filter((c) => !residues.includes(c));
  const lo = o.minLength ?? 12;
  const hi = o.maxLength ?? 20;
  const maxMotifs = o.maxMotifs ?? 3;
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const label = i % (o.perClass ? residues.length + 1 : 2);
    const len = lo + Math.floor(rand() * (hi - lo + 1));
    const seq = Array.from({ length: len }, () => pick(background));
    const positions: number[] = [];
    if (label > 0) {
      const k = 1 + Math.floor(rand() * maxMotifs);
      while (positions.length < k) {
        const p = Math.floor(rand() * len);
        if (!positions.includes(p)) positions.push(p);
      }
      positions.sort((a, b) => a - b);
      for (const p of positions) seq[p] = o.perClass ? residues[label - 1]! : pick(residues);
    }
    return { id: `${o.prefix ?? 'P'}${String(i).padStart(3, '0')}`, sequence: seq.join(''), label, source: 'planted', motifPositions: positions };
  });
}

/**
 * The shuffled-label twin of a record set: the same sequences with their labels permuted by a seeded
 * shuffle (class counts kept), so that no label depends on the sequence.
 */
export function shuffleLabels<R extends TaskRecord>(records: readonly R[], seed: number): R[] {
  const labels = records.map((r) => r.label);
  shuffleInPlace(labels, rng(seed));
  return records.map((r, i) => ({ ...r, label: labels[i]! }));
}
