/**
 * A tiny fine-tuned classifier on disk for the command tests (predict, export, attribute): the kn
 * fixtures' random model with an O(1) head, saved as an esm-kn folder with class labels, and a FASTA
 * file of records of awkward lengths.
 */
import { writeFileSync } from 'node:fs';
import { saveProjectCheckpoint } from '../../model/checkpoint/node.js';
import type { ParamTensor } from '../../model/params.js';
import { headSpec } from '../../model/head.js';
import { type TinyClassifier, randomRecords, tinyClassifier } from './kn_fixtures.js';

/** The test classes (a label with a space, as the enzyme classes have). */
export const LABELS = ['alpha one', 'beta', 'gamma'];

/** Writes `tiny` as an esm-kn folder at `dir`, with class labels (default LABELS) and a task name. */
export async function saveTinyClassifier(dir: string, tiny: TinyClassifier, labels: readonly string[] = LABELS, task = 'test', meta: Record<string, unknown> = {}): Promise<void> {
  const params = new Map<string, ParamTensor<Float32Array>>();
  for (const s of headSpec(tiny.config.embedDim, tiny.numClasses)) params.set(s.name, { shape: s.shape, data: tiny.headParams.get(s.name)! });
  await saveProjectCheckpoint(dir, {
    config: tiny.config, params: tiny.params, head: { pooling: tiny.pooling, labels: labels.slice(0, tiny.numClasses), params }, meta: { task, ...meta },
  });
}

/** A tiny classifier (2 layers, dim 16, 3 classes) saved at `dir`. */
export async function tinyClassifierFolder(dir: string, seed: number, pooling: 'mean' | 'cls'): Promise<TinyClassifier> {
  const tiny = tinyClassifier(seed, 2, 16, 3, pooling);
  await saveTinyClassifier(dir, tiny);
  return tiny;
}

/** Writes `n` random records (5..24 residues, one with lower case) as FASTA; returns them. */
export function writeFasta(path: string, n: number, seed: number): { id: string; sequence: string }[] {
  const records = randomRecords(n, 3, seed, 5, 20).map((r, i) => ({ id: `${r.id}${i === 1 ? '/x' : ''}`, sequence: i === 2 ? r.sequence.toLowerCase() : r.sequence }));
  writeFileSync(path, records.map((r) => `>${r.id} test record\n${r.sequence}\n`).join(''));
  return records;
}

/** Reads a TSV file written by the commands into a header and rows. */
export function parseTsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.trimEnd().split('\n').map((l) => l.split('\t'));
  return { header: lines[0]!, rows: lines.slice(1) };
}
