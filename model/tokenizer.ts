/**
 * The ESM-2 alphabet and batch encoding, matching fair-esm's Alphabet ("ESM-1b" architecture) and
 * BatchConverter: a sequence becomes <cls> residues <eos>, batches are right-padded with <pad>, and
 * special tokens written inside a sequence (e.g. "<mask>") are single tokens. Unlike fair-esm, lower
 * case is upper-cased, and an unknown character is an error naming the record (or maps to <unk>).
 */
import { FormatError } from '../io/errors.js';

/** The 33 ESM-2 tokens; a token's id is its index. */
export const ESM2_TOKENS: readonly string[] = [
  '<cls>', '<pad>', '<eos>', '<unk>',
  'L', 'A', 'G', 'V', 'S', 'E', 'R', 'T', 'I', 'D', 'P', 'K', 'Q', 'N', 'F', 'Y', 'M', 'H', 'W', 'C',
  'X', 'B', 'U', 'Z', 'O', '.', '-',
  '<null_1>', '<mask>',
];

/** Id of <cls>, which starts every sequence. */
export const CLS = 0;
/** Id of <pad>, which fills a batch row after <eos>. */
export const PAD = 1;
/** Id of <eos>, which ends every sequence. */
export const EOS = 2;
/** Id of <unk>. */
export const UNK = 3;
/** Id of <mask>. */
export const MASK = 32;

/** The most residues ESM-2 takes (1024 positions less <cls> and <eos>). */
export const MAX_RESIDUES = 1022;

/** Options for encoding sequences. */
export interface TokenizeOptions {
  /** What an unknown character does: 'error' (default) or 'unk' (becomes <unk>). */
  unknown?: 'error' | 'unk';
  /** Keep the first maxResidues tokens of a longer sequence instead of failing. */
  truncate?: boolean;
  /** Residue limit (default MAX_RESIDUES). */
  maxResidues?: number;
  /** Input file name, prefixed to error messages. */
  file?: string;
}

/** A record to encode. */
export interface SequenceRecord {
  readonly label: string;
  readonly sequence: string;
}

/** A right-padded batch. */
export interface EncodedBatch {
  /** Token ids, [B, L] row-major, <pad> after each sequence's <eos>. */
  tokens: Int32Array;
  /** Tokens per row including <cls> and <eos> (residues + 2). */
  lengths: Int32Array;
  /** B */
  batch: number;
  /** L: the longest row. */
  length: number;
}

const RESIDUE_ID = new Map(ESM2_TOKENS.map((t, i) => [t, i] as const).filter(([t]) => t.length === 1));
const SPECIALS = ESM2_TOKENS.map((t, i) => [t, i] as const).filter(([t]) => t.startsWith('<'));

function fail(label: string, options: TokenizeOptions, what: string): never {
  const record = `record '${label}'`;
  throw options.file ? new FormatError(options.file, `${record}: ${what}`) : new FormatError(record, what);
}

/** Token ids of a sequence's residues (no <cls>/<eos>). Whitespace is ignored. */
export function tokenizeResidues(sequence: string, label = '<sequence>', options: TokenizeOptions = {}): Int32Array {
  const ids: number[] = [];
  for (let i = 0; i < sequence.length; ) {
    const ch = sequence[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '<') {
      const lower = sequence.slice(i, i + 8).toLowerCase();
      const special = SPECIALS.find(([t]) => lower.startsWith(t));
      if (special) {
        ids.push(special[1]);
        i += special[0].length;
        continue;
      }
    }
    const id = RESIDUE_ID.get(ch.toUpperCase());
    if (id !== undefined) ids.push(id);
    else if (options.unknown === 'unk') ids.push(UNK);
    else {
      const shown = /^[\x21-\x7e]$/.test(ch) ? `'${ch}'` : `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      const hint = ch === '<' ? ' (not a special token such as <mask>)' : '';
      fail(label, options, `unknown character ${shown}${hint} at residue ${ids.length + 1}`);
    }
    i++;
  }
  const max = options.maxResidues ?? MAX_RESIDUES;
  if (ids.length > max) {
    if (!options.truncate) fail(label, options, `${ids.length} residues, more than the ${max} ESM-2 accepts (truncate keeps the first ${max})`);
    ids.length = max;
  }
  return Int32Array.from(ids);
}

/** <cls> + residues + <eos> for one sequence. */
export function encodeSequence(sequence: string, label = '<sequence>', options: TokenizeOptions = {}): Int32Array {
  const residues = tokenizeResidues(sequence, label, options);
  const out = new Int32Array(residues.length + 2);
  out[0] = CLS;
  out.set(residues, 1);
  out[out.length - 1] = EOS;
  return out;
}

/** Encodes records into one right-padded batch. */
export function encodeBatch(records: readonly SequenceRecord[], options: TokenizeOptions = {}): EncodedBatch {
  const rows = records.map((r) => encodeSequence(r.sequence, r.label, options));
  const length = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const tokens = new Int32Array(rows.length * length).fill(PAD);
  const lengths = new Int32Array(rows.length);
  rows.forEach((r, b) => {
    tokens.set(r, b * length);
    lengths[b] = r.length;
  });
  return { tokens, lengths, batch: rows.length, length };
}

/** The text of token ids, specials in angle brackets (for messages and debugging). */
export function decodeTokens(ids: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) s += ESM2_TOKENS[ids[i]!] ?? '<?>';
  return s;
}
