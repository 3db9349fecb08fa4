/**
 * Labelled enzyme data: parsing (TSV or labelled FASTA) and the three classification tasks.
 * Pure code, no Node built-ins, so a browser can reuse it; data/files.node.ts reads files.
 *
 * Every record carries its top-level EC class (0 = non-enzyme, 1-7 = EC1-EC7). A task maps that class
 * to a class index and may leave records out; the loader says how many and why.
 *
 * Formats:
 * - TSV with a header line naming at least the columns accession, ec_class and sequence (ec and source
 *   are optional; other columns are ignored). experiments/data/enzymes.tsv.gz is this format.
 * - FASTA whose header is `>ACCESSION ec_class=N`, optionally followed by `source=NAME` and free text:
 *   the same label vocabulary as the TSV, so either file feeds every task.
 * Text starting with '>' (after blank lines) is FASTA, anything else TSV.
 */
import { parseFasta } from '../io/fasta.js';
import { FormatError } from '../io/errors.js';
import { ESM2_TOKENS } from '../model/tokenizer.js';

/** Names of the tasks: three classification tasks and 'all', the masked-language pretraining corpus. */
export type TaskName = 'ec' | 'enzyme' | 'ec+non' | 'all';

/** The task a command uses when none is named. */
export const DEFAULT_TASK: TaskName = 'ec';

/** Every classification task, in a fixed order (CLI help, split generation). */
export const TASK_NAMES: readonly TaskName[] = ['ec', 'enzyme', 'ec+non'];

/**
 * The pretraining corpus: every record of the data file, all classes and lengths. It has no split
 * file of its own: its validation and test parts are the union of the classification tasks'
 * (model/train/data.ts), so that no record any task validates or tests on is ever pretrained on.
 */
export const CORPUS_TASK: TaskName = 'all';

/** The tasks `pretrain` takes: the corpus first, then the classification tasks. */
export const PRETRAIN_TASK_NAMES: readonly TaskName[] = [CORPUS_TASK, ...TASK_NAMES];

/** Names of the top-level EC classes 1-7, index 0 unused (non-enzyme). */
export const EC_CLASS_NAMES: readonly string[] = [
  'non-enzyme',
  'EC1 oxidoreductases', 'EC2 transferases', 'EC3 hydrolases', 'EC4 lyases',
  'EC5 isomerases', 'EC6 ligases', 'EC7 translocases',
];

/**
 * Residue range that tasks mixing non-enzymes and enzymes keep. Every non-enzyme in the data is
 * 201-400 residues long while enzymes span 4-1022, so without this restriction a classifier could
 * separate the two by length alone (length leakage).
 */
export const MATCHED_LENGTH: readonly [number, number] = [201, 400];

/** What a task is: its classes, how an EC class maps onto them, and any length restriction. */
export interface TaskSpec {
  readonly name: TaskName;
  /** One line for help texts and split files. */
  readonly description: string;
  /** Class index -> name. */
  readonly classNames: readonly string[];
  /** Class index of a top-level EC class (0-7), or null when the task leaves it out. */
  readonly classOf: (ecClass: number) => number | null;
  /** Inclusive residue range every record must fall in, or null for no restriction. */
  readonly lengthRange: readonly [number, number] | null;
}

/** The task table. */
export const TASKS: Readonly<Record<TaskName, TaskSpec>> = {
  ec: {
    name: 'ec',
    description: '7-way top-level EC class of enzymes (non-enzymes left out; all lengths)',
    classNames: EC_CLASS_NAMES.slice(1),
    classOf: (c) => (c === 0 ? null : c - 1),
    lengthRange: null,
  },
  enzyme: {
    name: 'enzyme',
    description: 'enzyme vs non-enzyme, every record 201-400 residues (length-matched)',
    classNames: ['non-enzyme', 'enzyme'],
    classOf: (c) => (c === 0 ? 0 : 1),
    lengthRange: MATCHED_LENGTH,
  },
  'ec+non': {
    name: 'ec+non',
    description: '8-way: non-enzyme or top-level EC class, every record 201-400 residues (length-matched)',
    classNames: EC_CLASS_NAMES,
    classOf: (c) => c,
    lengthRange: MATCHED_LENGTH,
  },
  all: {
    name: 'all',
    description: 'every record, all classes and lengths (masked-language pretraining only; held out: every record in any task\'s validation or test split)',
    classNames: EC_CLASS_NAMES,
    classOf: (c) => c,
    lengthRange: null,
  },
};

/** A task by name; an unknown name is an error listing the known ones. */
export function taskSpec(name: string): TaskSpec {
  if (!Object.hasOwn(TASKS, name)) throw new Error(`unknown task '${name}' (expected one of ${TASK_NAMES.join(', ')})`);
  return TASKS[name as TaskName];
}

/** One labelled record as read from a data file. */
export interface LabelledRecord {
  /** UniProt accession (or any unique id). */
  readonly id: string;
  /** 0 = non-enzyme, 1-7 = top-level EC class. */
  readonly ecClass: number;
  /** Where the record came from (the TSV's source column, a FASTA `source=` or the file name). */
  readonly source: string;
  /** Residues, upper case, over the tokenizer's residue letters. */
  readonly sequence: string;
  /** 1-based line of the record in its file. */
  readonly line: number;
  /** Full EC numbers as in the file ('2.7.11.1' or '2.3.1.269;2.4.1.83'); absent when the file has none. */
  readonly ec?: string;
}

/** A parsed data file. */
export interface DataFile {
  /** The file as the user named it. */
  readonly file: string;
  readonly records: readonly LabelledRecord[];
  /** Content hash: see contentHash. */
  readonly sha256: string;
}

/** A record of a task: its class index replaces the EC class. */
export interface TaskRecord {
  readonly id: string;
  readonly sequence: string;
  /** Class index into the task's classNames. */
  readonly label: number;
  readonly source: string;
  /** Full EC numbers carried from the data file when it has them (sub-class enrichment, kn/explain.ts). */
  readonly ec?: string;
}

/** Records a task did not use, and why. */
export interface LeftOut {
  readonly count: number;
  /** Completes "<count> ...", e.g. "non-enzymes left out for task ec". */
  readonly reason: string;
}

/** The records of one task. */
export interface TaskDataset {
  readonly task: TaskName;
  readonly classNames: readonly string[];
  readonly records: readonly TaskRecord[];
  /** Records per class index. */
  readonly classCounts: readonly number[];
  readonly leftOut: readonly LeftOut[];
  /** The data file the records came from and its content hash. */
  readonly file: string;
  readonly sha256: string;
}

// Residue letters of the ESM-2 alphabet (20 standard + X B U Z O). The gap tokens '.' and '-' are
// alignment symbols, not residues, and special tokens such as <mask> do not belong in data files.
const RESIDUES = new Set(ESM2_TOKENS.filter((t) => /^[A-Z]$/.test(t)));

/** Upper-cases and checks a sequence; `where` prefixes the error ("line 12: record 'P1'"). */
function checkSequence(raw: string, file: string, where: string): string {
  if (!raw) throw new FormatError(file, `${where} has an empty sequence`);
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    // ASCII only: toUpperCase maps a few other letters (dotless i, long s) onto residue letters.
    if (ch < '\x80' && RESIDUES.has(ch.toUpperCase())) continue;
    const shown = /^[\x20-\x7e]$/.test(ch) ? `'${ch}'` : `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw new FormatError(file, `${where}: invalid character ${shown} at residue ${i + 1} (expected one of ${[...RESIDUES].join('')})`);
  }
  // Every character is now an ASCII letter, so upper-casing keeps residue positions.
  return raw.toUpperCase();
}

/** Parses an ec_class label: exactly one of 0-7. */
function parseEcClass(text: string, file: string, where: string): number {
  if (!/^[0-7]$/.test(text)) throw new FormatError(file, `${where}: unknown label '${text}' (ec_class must be 0 for non-enzyme or 1-7)`);
  return Number(text);
}

const REQUIRED_COLUMNS = ['accession', 'ec_class', 'sequence'] as const;

/**
 * Parses the TSV format. Blank lines are skipped; LF and CRLF are accepted. When an `ec` column is
 * present, every EC number in it must start with the record's ec_class (and be empty for class 0),
 * which catches shifted or corrupted labels.
 */
export function parseEnzymeTsv(text: string, file = '<input>'): LabelledRecord[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  if (headerAt < 0) throw new FormatError(file, 'empty file (expected a header line naming accession, ec_class, sequence)');
  const header = lines[headerAt]!.split('\t').map((c) => c.trim());
  const col = (name: string): number => header.indexOf(name);
  for (const name of REQUIRED_COLUMNS) {
    if (col(name) < 0) throw new FormatError(file, `line ${headerAt + 1}: missing column '${name}' (header has ${header.map((h) => `'${h}'`).join(', ')})`);
  }
  const [iId, iClass, iSeq, iEc, iSource] = ['accession', 'ec_class', 'sequence', 'ec', 'source'].map(col) as [number, number, number, number, number];
  const records: LabelledRecord[] = [];
  const firstLine = new Map<string, number>();
  for (let i = headerAt + 1; i < lines.length; i++) {
    const n = i + 1;
    if (lines[i]!.trim() === '') continue;
    const fields = lines[i]!.split('\t');
    if (fields.length !== header.length) throw new FormatError(file, `line ${n}: ${fields.length} columns, expected ${header.length} as in the header`);
    const id = fields[iId]!.trim();
    if (!id) throw new FormatError(file, `line ${n}: empty accession`);
    const where = `line ${n}: record '${id}'`;
    const seen = firstLine.get(id);
    if (seen !== undefined) throw new FormatError(file, `${where}: duplicate accession (first at line ${seen})`);
    firstLine.set(id, n);
    const ecClass = parseEcClass(fields[iClass]!.trim(), file, where);
    const ec = iEc >= 0 ? checkEc(fields[iEc]!, ecClass, file, where) : '';
    const sequence = checkSequence(fields[iSeq]!.trim(), file, where);
    records.push({ id, ecClass, source: iSource >= 0 ? fields[iSource]!.trim() : file, sequence, line: n, ...(ec ? { ec } : {}) });
  }
  if (records.length === 0) throw new FormatError(file, 'no records after the header');
  return records;
}

/** Checks an ec field against ec_class and returns its EC numbers joined by ';' ('' when empty). */
function checkEc(ec: string, ecClass: number, file: string, where: string): string {
  const numbers = ec.split(';').map((s) => s.trim()).filter((s) => s !== '');
  if (ecClass === 0 && numbers.length > 0) throw new FormatError(file, `${where}: ec_class 0 (non-enzyme) but ec is '${ec.trim()}'`);
  if (ecClass !== 0 && numbers.length === 0) throw new FormatError(file, `${where}: ec_class ${ecClass} but the ec column is empty`);
  const wrong = numbers.find((e) => e.split('.')[0] !== String(ecClass));
  if (wrong !== undefined) throw new FormatError(file, `${where}: EC number '${wrong}' is not in class ${ecClass} given by ec_class`);
  return numbers.join(';');
}

/** Parses labelled FASTA: `>ACCESSION ec_class=N [source=NAME] [ec=2.7.11.1;2.7.12.2] [free text]`. */
export function parseLabelledFasta(text: string, file = '<input>'): LabelledRecord[] {
  return parseFasta(text, file).map((r) => {
    const where = `line ${r.line}: record '${r.label}'`;
    const words = r.description.split(/\s+/);
    const label = words.find((w) => w.startsWith('ec_class='));
    if (label === undefined) throw new FormatError(file, `${where}: header has no label (expected '>${r.label} ec_class=N', N = 0 for non-enzyme or 1-7)`);
    const ecClass = parseEcClass(label.slice('ec_class='.length), file, where);
    const source = words.find((w) => w.startsWith('source='))?.slice('source='.length) || file;
    const ecWord = words.find((w) => w.startsWith('ec='));
    const ec = ecWord === undefined ? '' : checkEc(ecWord.slice('ec='.length), ecClass, file, where);
    return { id: r.label, ecClass, source, sequence: checkSequence(r.sequence, file, where), line: r.line, ...(ec ? { ec } : {}) };
  });
}

/** Parses either format (FASTA when the first non-blank character is '>'). */
export function parseLabelledText(text: string, file = '<input>'): LabelledRecord[] {
  return /^\uFEFF?\s*>/.test(text) ? parseLabelledFasta(text, file) : parseEnzymeTsv(text, file);
}

/**
 * Content hash of the records: sha256 (hex) of "accession\tec_class\tsequence\n" lines sorted by
 * accession. It ignores compression, file format, column order, record order and the source column,
 * so the same data re-saved differently keeps its hash, while any label or sequence change breaks it.
 * Web Crypto, so it runs in Node 20 and browsers alike.
 */
export async function contentHash(records: readonly LabelledRecord[]): Promise<string> {
  const lines = records.map((r) => `${r.id}\t${r.ecClass}\t${r.sequence}\n`);
  const order = records.map((_, i) => i).sort((a, b) => compareIds(records[a]!.id, records[b]!.id));
  const bytes = new TextEncoder().encode(order.map((i) => lines[i]).join(''));
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Code-unit order, independent of locale, so sorted accession lists are identical everywhere. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parses data text and hashes its records. */
export async function parseDataFile(text: string, file = '<input>'): Promise<DataFile> {
  const records = parseLabelledText(text, file);
  return { file, records, sha256: await contentHash(records) };
}

/** The records of a task, in file order, with the counts left out and why. */
export function selectTask(data: DataFile, task: TaskName = DEFAULT_TASK): TaskDataset {
  const spec = taskSpec(task);
  const records: TaskRecord[] = [];
  const classCounts = spec.classNames.map(() => 0);
  let excludedClass = 0;
  const excludedLength = [0, 0]; // [non-enzymes, enzymes] outside the length range
  for (const r of data.records) {
    const label = spec.classOf(r.ecClass);
    if (label === null) {
      excludedClass++;
      continue;
    }
    const range = spec.lengthRange;
    if (range && (r.sequence.length < range[0] || r.sequence.length > range[1])) {
      excludedLength[r.ecClass === 0 ? 0 : 1]!++;
      continue;
    }
    records.push({ id: r.id, sequence: r.sequence, label, source: r.source, ...(r.ec ? { ec: r.ec } : {}) });
    classCounts[label]!++;
  }
  const leftOut: LeftOut[] = [];
  if (excludedClass) leftOut.push({ count: excludedClass, reason: `non-enzymes left out for task ${task}` });
  const range = spec.lengthRange;
  if (range) {
    const why = `outside ${range[0]}-${range[1]} residues left out for task ${task} (lengths matched against length leakage)`;
    if (excludedLength[1]) leftOut.push({ count: excludedLength[1], reason: `enzymes ${why}` });
    if (excludedLength[0]) leftOut.push({ count: excludedLength[0], reason: `non-enzymes ${why}` });
  }
  if (records.length === 0) throw new FormatError(data.file, `no records for task ${task} (${spec.description})`);
  return { task, classNames: spec.classNames, records, classCounts, leftOut, file: data.file, sha256: data.sha256 };
}

/** "9611 non-enzymes left out for task ec", one line per reason. */
export function describeLeftOut(dataset: TaskDataset): string[] {
  return dataset.leftOut.map((l) => `${l.count} ${l.reason}`);
}
