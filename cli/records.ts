/**
 * FASTA records as the per-record commands (extract, predict, attribute) read them: each record
 * checked and encoded once, with the same one-line errors (file, record, residue position) and the
 * same --truncate / --unknown-as-unk choices, and the --shard K/N split shared by sharded commands.
 */
import { FormatError } from '../io/errors.js';
import { readFastaFile } from '../io/node_file.js';
import { decodeTokens, encodeSequence } from '../model/tokenizer.js';
import { type Parsed, UsageError } from './args.js';

/** One checked record. */
export interface EncodedRecord {
  /** The FASTA label (first word of the header). */
  readonly label: string;
  /** <cls> residues <eos>, cropped to the residue limit when --truncate was given. */
  readonly tokens: Int32Array;
  /** The residues as the tokenizer reads them back (upper case; <unk> for unknown ones): one token per residue. */
  readonly residues: string;
}

/** How records are encoded, from --truncate and --unknown-as-unk. */
export interface RecordOptions {
  readonly truncate: boolean;
  readonly unknownAsUnk: boolean;
}

/** Option table entries of the record flags. */
export const RECORD_OPTIONS = { truncate: { kind: 'flag' }, 'unknown-as-unk': { kind: 'flag' } } as const;

/** The record flags of a parsed command line. */
export function recordOptions(p: Parsed): RecordOptions {
  return { truncate: p.flags.has('truncate'), unknownAsUnk: p.flags.has('unknown-as-unk') };
}

/** Reads and encodes a FASTA file; the first bad record is a FormatError naming the file, record and residue. */
export async function readEncodedRecords(fasta: string, opts: RecordOptions): Promise<EncodedRecord[]> {
  const records = await readFastaFile(fasta);
  return records.map((r) => {
    const tokens = encodeSequence(r.sequence, r.label, { truncate: opts.truncate, unknown: opts.unknownAsUnk ? 'unk' : 'error', file: fasta });
    return { label: r.label, tokens, residues: decodeTokens(tokens.subarray(1, tokens.length - 1)) };
  });
}

/** A file name for a record label ('/', '\' and NUL are not allowed in names). */
export function recordFileName(label: string, ext: string): string {
  return `${label.replace(/[/\\\0]/g, '_')}${ext}`;
}

/** Shard K of N (1-based K), as --shard K/N gives it. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** --shard K/N, or null when absent. K runs from 1 to N. */
export function shardOption(p: Parsed, command: string): Shard | null {
  const v = p.values.get('shard');
  if (v === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(count >= 1 && index >= 1 && index <= count)) throw new UsageError(`${command}: --shard must be K/N with 1 <= K <= N, got '${v}'`);
  return { index, count };
}

/**
 * The items of one shard: every N-th item from the (K-1)-th, in order. Deterministic, balanced to within
 * one item, and every item lies in exactly one shard of a set.
 */
export function shardItems<T>(items: readonly T[], shard: Shard | null): T[] {
  return shard ? items.filter((_, i) => i % shard.count === shard.index - 1) : [...items];
}

/** Fails when a shard got no records (more shards than records). */
export function checkShardNotEmpty(file: string, shard: Shard | null, n: number, total: number): void {
  if (shard && n === 0) throw new FormatError(file, `shard ${shard.index}/${shard.count} is empty: only ${total} records`);
}
