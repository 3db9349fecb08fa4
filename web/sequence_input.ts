/**
 * The page's sequence input: pasted or uploaded text is FASTA when any line starts with '>', otherwise
 * one bare sequence. Every record is checked against ESM-2's alphabet here, so a bad character is a
 * one-line message naming the record and the residue, before any GPU work.
 */
import { FormatError } from '../io/errors.js';
import { parseFasta } from '../io/fasta.js';
import { MAX_RESIDUES, tokenizeResidues } from '../model/tokenizer.js';

/** One sequence to analyse. */
export interface InputRecord {
  readonly label: string;
  readonly description: string;
  /** Residue letters, whitespace removed. */
  readonly sequence: string;
}

/** Parses and checks the input text; `name` is the uploaded file's name or 'pasted text'. */
export function parseSequenceInput(text: string, name: string): InputRecord[] {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (!trimmed) throw new FormatError(name, 'no sequence: paste a protein sequence or FASTA, or upload a FASTA file');
  const records = /^\s*>/m.test(trimmed)
    ? parseFasta(trimmed, name).map((r) => ({ label: r.label, description: r.description, sequence: r.sequence }))
    : [{ label: 'sequence', description: '', sequence: trimmed.replace(/\s+/g, '') }];
  for (const r of records) {
    if (r.sequence.includes('<')) throw new FormatError(name, `record '${r.label}': special tokens such as <mask> are not taken here, residue letters only`);
    tokenizeResidues(r.sequence, r.label, { file: name, maxResidues: MAX_RESIDUES, truncate: true });
  }
  return records;
}
