/**
 * `esm-kn extract MODEL FASTA OUTDIR`: per-record embeddings, contacts and logits, as fair-esm's
 * scripts/extract.py, written as OUTDIR/<label>.npz (float32 arrays):
 *   representations_<k>       (N, D)    residue positions of layer k        --include per_tok
 *   mean_representations_<k>  (D)       mean over residues                  --include mean
 *   bos_representations_<k>   (D)       the <cls> position                  --include bos
 *   contacts                  (N, N)    contact probabilities               --include contacts
 *   logits                    (N+2, V)  every token position                --include logits
 * Records are sorted by length and batched by a token budget; results do not depend on batching.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fusedAttentionSupported, initEngine, noGrad, type Tensor, tidyAsync } from '../engine/index.js';
import { loadCheckpoint } from '../model/checkpoint/node.js';
import { contactMap } from '../model/contacts.js';
import { disposeModel, esmForward, prepareBatch, uploadModel } from '../model/esm.js';
import { FormatError } from '../io/errors.js';
import { writeNpzFile } from '../io/node_file.js';
import type { NpyArray } from '../io/npz.js';
import { resolveModel } from '../model/assets.node.js';
import { UsageError, intOption, parseArgs } from './args.js';
import { RECORD_OPTIONS, readEncodedRecords, recordFileName, recordOptions, shardItems, shardOption } from './records.js';
import { Progress } from './progress.js';

const INCLUDE = ['mean', 'per_tok', 'bos', 'contacts', 'logits'] as const;
type Include = (typeof INCLUDE)[number];

export const EXTRACT_USAGE = `esm-kn extract MODEL FASTA OUTDIR [--repr-layers 0 5 6 | all] [--include mean per_tok bos contacts logits]
                   [--truncate] [--unknown-as-unk] [--toks-per-batch 4096] [--shard K/N] [--quiet]
  MODEL   a fair-esm .pt file, a Hugging Face folder, an esm-kn folder, or 'default'
  Layer indices may be negative (-1 = last). Defaults: --repr-layers -1 --include mean.
  --shard K/N processes every N-th record from the K-th (FASTA order); the N shards write disjoint files.`;

/** Normalises layer indices as fair-esm: (i + n + 1) % (n + 1), each in [-(n+1), n]. */
export function normLayers(spec: readonly string[] | undefined, n: number): number[] {
  if (!spec) return [n];
  if (spec.length === 1 && spec[0] === 'all') return Array.from({ length: n + 1 }, (_, i) => i);
  return [...new Set(spec.map((s) => {
    const i = Number(s);
    if (!Number.isInteger(i) || i < -(n + 1) || i > n) throw new UsageError(`extract: --repr-layers ${s} is outside [-${n + 1}, ${n}] for a ${n}-layer model`);
    return (i + n + 1) % (n + 1);
  }))].sort((a, b) => a - b);
}

/** A file name for a record label ('/' is not allowed in names). */
export function npzName(label: string): string {
  return recordFileName(label, '.npz');
}

interface Item {
  readonly label: string;
  readonly tokens: Int32Array; // (N + 2)
}

/**
 * Groups items (sorted by length) into batches of at most `budget` padded tokens, and small enough
 * that one layer's attention maps (B, H, L, L), where they are made, fit one storage binding (`maxAttnBytes`).
 */
function batches(items: readonly Item[], budget: number, heads: number, maxAttnBytes: number): Item[][] {
  const out: Item[][] = [];
  let cur: Item[] = [];
  for (const it of items) {
    const L = Math.max(it.tokens.length, ...cur.map((c) => c.tokens.length));
    const attnBytes = (cur.length + 1) * heads * L * L * 4;
    if (cur.length && (L * (cur.length + 1) > budget || attnBytes > maxAttnBytes)) {
      out.push(cur);
      cur = [];
    }
    cur.push(it);
  }
  if (cur.length) out.push(cur);
  return out;
}

function rows(src: Float32Array, width: number, from: number, count: number): Float32Array {
  return src.slice(from * width, (from + count) * width);
}

/** Runs the command. */
export async function extract(argv: readonly string[]): Promise<void> {
  const p = parseArgs(argv, {
    'repr-layers': { kind: 'list' }, include: { kind: 'list' }, ...RECORD_OPTIONS,
    'toks-per-batch': { kind: 'value' }, shard: { kind: 'value' }, quiet: { kind: 'flag' },
  }, 'extract');
  if (p.positional.length !== 3) throw new UsageError(`extract: needs MODEL FASTA OUTDIR\n${EXTRACT_USAGE}`);
  const [modelArg, fasta, outDir] = p.positional as [string, string, string];
  const include = new Set<Include>();
  for (const v of p.lists.get('include') ?? ['mean']) {
    if (!(INCLUDE as readonly string[]).includes(v)) throw new UsageError(`extract: --include ${v} is not one of ${INCLUDE.join(', ')}`);
    include.add(v as Include);
  }
  const budget = intOption(p, 'toks-per-batch', 4096, 1, 'extract');

  const shard = shardOption(p, 'extract');
  const items: Item[] = shardItems(await readEncodedRecords(fasta, recordOptions(p)), shard);
  const ckpt = await loadCheckpoint(resolveModel(modelArg));
  const c = ckpt.config;
  const layers = normLayers(p.lists.get('repr-layers'), c.numLayers);
  if (include.has('contacts') && !ckpt.hasContactHead) throw new FormatError(modelArg, 'has no contact regression weights (contact_head.regression.*): --include contacts needs them');
  mkdirSync(outDir, { recursive: true });
  const runtime = await initEngine();
  const model = uploadModel(c, ckpt.params);
  const regW = ckpt.params.get('contact_head.regression.weight')?.data;
  const regB = ckpt.params.get('contact_head.regression.bias')?.data[0] ?? 0;
  const needReprs = include.has('mean') || include.has('per_tok') || include.has('bos');
  const sorted = [...items].sort((a, b) => a.tokens.length - b.tokens.length);
  const bar = new Progress('extract', items.length, { unit: 'seq', quiet: p.flags.has('quiet') });
  const D = c.embedDim;
  const V = c.vocabSize;
  // (B, H, L, L) attention maps exist only for contacts or where the fused kernel can't run.
  const mapsMade = include.has('contacts') || !fusedAttentionSupported(c.embedDim / c.attentionHeads);
  const maxAttnBytes = mapsMade ? runtime.info.maxStorageBindingSize : Infinity;
  for (const group of batches(sorted, budget, c.attentionHeads, maxAttnBytes)) {
    const B = group.length;
    const L = Math.max(...group.map((g) => g.tokens.length));
    const tokens = new Int32Array(B * L).fill(c.padIdx);
    group.forEach((g, b) => tokens.set(g.tokens, b * L));
    const outputs = await tidyAsync(async () => {
      const res = noGrad(() => esmForward(model, prepareBatch(c, tokens, B, L), {
        reprLayers: needReprs ? layers : [], logits: include.has('logits'), attentions: include.has('contacts'),
      }));
      const hidden = new Map<number, Float32Array>();
      for (const k of needReprs ? layers : []) hidden.set(k, await res.hiddens.get(k)!.f32());
      const logits = res.logits ? await res.logits.f32() : null;
      const contacts: Float32Array[] = [];
      if (res.attentions) {
        for (let b = 0; b < B; b++) {
          const n = group[b]!.tokens.length - 2;
          const map: Tensor = noGrad(() => contactMap(res.attentions!, b, n, regW!, regB));
          contacts.push(await map.f32());
        }
        for (const a of res.attentions) a.dispose();
      }
      return { hidden, logits, contacts };
    });
    for (const [b, g] of group.entries()) {
      const n = g.tokens.length - 2;
      const arrays: [string, NpyArray][] = [];
      for (const [k, h] of outputs.hidden) {
        const seq = rows(h, D, b * L, L); // (L, D) of this record
        if (include.has('per_tok')) arrays.push([`representations_${k}`, { shape: [n, D], data: rows(seq, D, 1, n) }]);
        if (include.has('mean')) {
          const mean = new Float32Array(D);
          for (let t = 1; t <= n; t++) for (let d = 0; d < D; d++) mean[d]! += seq[t * D + d]!;
          for (let d = 0; d < D; d++) mean[d]! /= n;
          arrays.push([`mean_representations_${k}`, { shape: [D], data: mean }]);
        }
        if (include.has('bos')) arrays.push([`bos_representations_${k}`, { shape: [D], data: rows(seq, D, 0, 1) }]);
      }
      if (outputs.contacts[b]) arrays.push(['contacts', { shape: [n, n], data: outputs.contacts[b]! }]);
      if (outputs.logits) arrays.push(['logits', { shape: [n + 2, V], data: rows(outputs.logits, V, b * L, n + 2) }]);
      await writeNpzFile(join(outDir, npzName(g.label)), arrays);
      bar.tick(1);
    }
  }
  bar.finish();
  disposeModel(model);
}
