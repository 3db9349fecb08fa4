/**
 * Neuron scores computed in shards and merged. A study's examples are split round-robin: shard K of N
 * scores examples K-1, K-1+N, K-1+2N, ... of the full (deterministic) example list. A shard's scores
 * are partial sufficient statistics: every example's row (E_k, N), its completeness rows and its
 * identity, because every per-class and overall score is a mean of example rows (scores.ts). Merging
 * puts the rows back in example order, so a complete set of shards gives exactly the unsharded scores
 * (the same rows; float-level differences only where a batch's padding or chunking changed). Pure code.
 *
 * Axis letters: E examples, N neurons, P (module, layer) pairs.
 */
import { FormatError } from '../io/errors.js';
import { sameLayout } from './layout.js';
import type { NeuronScores } from './scores.js';

/** What a shard's scores record about their place in the full set (meta.shard). */
export interface ShardInfo {
  /** K, 1-based. */
  readonly index: number;
  /** N. */
  readonly count: number;
  /** E of the full set. */
  readonly examples: number;
  /** Hash of the full set's example ids in order (ties the shards of one run together). */
  readonly ids_hash: string;
}

/** FNV-1a (64-bit, as two 32-bit halves) of the ids joined by newlines, as hex. */
export function idsHash(ids: readonly string[]): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b9;
  for (const ch of ids.join('\n')) {
    const c = ch.codePointAt(0)!;
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return `${h1.toString(16).padStart(8, '0')}${h2.toString(16).padStart(8, '0')}`;
}

/** Example indices (into the full list of E) that shard K of N holds, in order. */
export function shardIndices(E: number, index: number, count: number): number[] {
  const out: number[] = [];
  for (let i = index - 1; i < E; i += count) out.push(i);
  return out;
}

/** The shard info to store with shard K of N of the examples `ids` (the full list). */
export function shardInfo(ids: readonly string[], index: number, count: number): ShardInfo {
  return { index, count, examples: ids.length, ids_hash: idsHash(ids) };
}

/**
 * Settings that may differ between shards of one run without changing any value. Where the model lay
 * (model, model_path) is free too: the model is matched by its weights' hash (modelMismatch).
 */
const FREE_META = new Set(['shard', 'internal_batch', 'model', 'model_path', 'model_sha256']);

/**
 * Why shard `b` was not scored with the model of shard `a`, or null; `unverified` when either lacks
 * meta.model_sha256 (written by neurons score from this version on, model/weights_hash.node.ts). Such
 * older shards are matched by the model's path instead, as before: copies at other paths are refused,
 * and other weights at the same path cannot be told apart (merge says so).
 */
export function modelMismatch(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): { differs: string | null; unverified: boolean } {
  const [ha, hb] = [a.model_sha256, b.model_sha256];
  if (typeof ha === 'string' && typeof hb === 'string') {
    return { differs: ha === hb ? null : `scored with other weights (model sha256 ${hb.slice(0, 12)}... from ${String(b.model_path)}, not ${ha.slice(0, 12)}... from ${String(a.model_path)})`, unverified: false };
  }
  const differs = a.model_path === b.model_path ? null
    : `scored with the model at ${String(b.model_path)}, not ${String(a.model_path)} (a shard without model_sha256, from an older esm-kn, is matched by path: rescore it to merge copies of one model)`;
  return { differs, unverified: true };
}

function comparableMeta(meta: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(meta).filter(([k]) => !FREE_META.has(k)).sort(([a], [b]) => (a < b ? -1 : 1))));
}

function infoOf(file: string, s: NeuronScores): ShardInfo {
  const i = s.meta.shard as Partial<ShardInfo> | undefined;
  if (!i || !Number.isInteger(i.index) || !Number.isInteger(i.count) || !Number.isInteger(i.examples) || typeof i.ids_hash !== 'string') {
    throw new FormatError(file, 'is not a shard (no shard K/N in its metadata: written by neurons score without --shard?)');
  }
  return i as ShardInfo;
}

/** One shard's scores and the file they came from (named in errors). */
export interface ShardFile {
  readonly file: string;
  readonly scores: NeuronScores;
}

/** Options of mergeShards. */
export interface MergeOptions {
  /** Told, once, when some shard's model could be matched only by its path (older shards). */
  readonly onNote?: (note: string) => void;
}

/**
 * The unsharded scores from a complete set of shards, in any order. Refuses, naming the file: a file
 * that is not a shard, a shard of another run (model weights, method, classes, model shape, settings,
 * shard count or example set differ), a repeated shard, and a shard whose rows do not fit its place;
 * and names the missing shards of an incomplete set.
 */
export function mergeShards(shards: readonly ShardFile[], options: MergeOptions = {}): NeuronScores {
  if (!shards.length) throw new Error('merge: no shards given');
  const first = shards[0]!;
  const f = infoOf(first.file, first.scores);
  const byIndex = new Map<number, ShardFile>();
  const unverified: string[] = [];
  for (const sh of shards) {
    const s = sh.scores;
    const i = infoOf(sh.file, s);
    const model = modelMismatch(first.scores.meta, s.meta);
    if (model.unverified) unverified.push(sh.file);
    const differs = i.count !== f.count ? `a shard of ${i.count}, not of ${f.count}`
      : i.examples !== f.examples || i.ids_hash !== f.ids_hash ? 'a different example set'
        : s.method !== first.scores.method ? `method ${s.method}, not ${first.scores.method}`
          : s.classNames.join('\n') !== first.scores.classNames.join('\n') ? 'different classes'
            : !sameLayout(s.layout, first.scores.layout) ? 'a model of another shape'
              : model.differs ? model.differs
                : Boolean(s.completeness) !== Boolean(first.scores.completeness) ? 'completeness rows only in one of them'
                  : comparableMeta(s.meta) !== comparableMeta(first.scores.meta) ? 'different settings or provenance'
                    : null;
    if (differs) throw new FormatError(sh.file, `shard ${i.index}/${i.count} does not match ${first.file}: ${differs}`);
    const seen = byIndex.get(i.index);
    if (seen) throw new FormatError(sh.file, `repeats shard ${i.index}/${i.count} (also ${seen.file})`);
    const want = shardIndices(f.examples, i.index, f.count).length;
    if (s.examples.length !== want) throw new FormatError(sh.file, `shard ${i.index}/${i.count} holds ${s.examples.length} examples, expected ${want} of ${f.examples}`);
    byIndex.set(i.index, sh);
  }
  if (unverified.length) options.onNote?.(`${unverified.join(', ')}: no model_sha256 (scored by an older esm-kn): the shards' model was matched by its path only, not by its weights`);
  const missing = Array.from({ length: f.count }, (_, k) => k + 1).filter((k) => !byIndex.has(k));
  if (missing.length) {
    const given = [...byIndex.keys()].sort((a, b) => a - b).join(', ');
    throw new FormatError(first.file, `its set of ${f.count} shards lacks shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${f.count}`).join(', ')} (given ${given})`);
  }
  const N = first.scores.layout.total;
  const E = f.examples;
  const values = new Float32Array(E * N); // (E, N)
  const P3 = first.scores.completeness ? first.scores.completeness.length / Math.max(1, first.scores.examples.length) : 0;
  const completeness = first.scores.completeness ? new Float32Array(E * P3) : undefined; // (E, P, 3)
  const examples = new Array<NeuronScores['examples'][number]>(E);
  for (const [k, sh] of byIndex) {
    shardIndices(E, k, f.count).forEach((e, j) => {
      examples[e] = sh.scores.examples[j]!;
      values.set(sh.scores.values.subarray(j * N, (j + 1) * N), e * N);
      completeness?.set(sh.scores.completeness!.subarray(j * P3, (j + 1) * P3), e * P3);
    });
  }
  if (idsHash(examples.map((e) => e.id)) !== f.ids_hash) throw new FormatError(first.file, 'the shards\' example ids do not make up the example set they were cut from');
  const { shard: _shard, ...meta } = first.scores.meta;
  return { ...first.scores, examples, values, completeness, meta };
}
