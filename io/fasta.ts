/**
 * FASTA parsing: records ">label description" followed by sequence lines. Multi-line sequences are
 * joined, blank lines and any line ending (LF, CRLF, CR) are accepted, whitespace inside sequence
 * lines is dropped. Errors name the file, the line and what is wrong.
 */
import { FormatError } from './errors.js';

/** One record. */
export interface FastaRecord {
  /** The first word after '>'. */
  readonly label: string;
  /** The rest of the header line, trimmed (may be empty). */
  readonly description: string;
  /** The residues, lines joined, whitespace removed, case kept. */
  readonly sequence: string;
  /** 1-based line number of the header. */
  readonly line: number;
}

/** Parses FASTA text; `file` names the input in errors. Labels must be unique; sequences non-empty. */
export function parseFasta(text: string, file = '<input>'): FastaRecord[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const records: FastaRecord[] = [];
  const firstLine = new Map<string, number>();
  let current: { label: string; description: string; parts: string[]; line: number } | null = null;
  const close = (): void => {
    if (!current) return;
    const sequence = current.parts.join('');
    if (!sequence) throw new FormatError(file, `line ${current.line}: record '${current.label}' has an empty sequence`);
    records.push({ label: current.label, description: current.description, sequence, line: current.line });
  };
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (!line) return;
    if (line.startsWith('>')) {
      close();
      const header = line.slice(1).trim();
      const space = header.search(/\s/);
      const label = space < 0 ? header : header.slice(0, space);
      if (!label) throw new FormatError(file, `line ${n}: header has no label`);
      const seen = firstLine.get(label);
      if (seen !== undefined) throw new FormatError(file, `line ${n}: duplicate label '${label}' (first at line ${seen})`);
      firstLine.set(label, n);
      current = { label, description: space < 0 ? '' : header.slice(space).trim(), parts: [], line: n };
      return;
    }
    if (!current) throw new FormatError(file, `line ${n}: sequence data before the first '>' header (missing header?)`);
    current.parts.push(line.replace(/\s+/g, ''));
  });
  close();
  if (records.length === 0) throw new FormatError(file, 'no FASTA records (expected lines starting with >)');
  return records;
}
