/**
 * `esm-kn predict MODEL FASTA [--out FILE.tsv|FILE.jsonl]`: the class of every FASTA record with the
 * class probabilities, through the classifier's one inference path (model/classifier.ts): records are
 * sorted by length and batched by a token budget; results do not depend on batching. One row per
 * record in FASTA order: id, predicted class, then one probability column per class named by its label
 * (TSV, on stdout without --out), or one JSON object per line (--out FILE.jsonl).
 */
import { initEngine } from '../engine/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { FormatError } from '../io/errors.js';
import type { BatchRecord } from '../model/batching.js';
import { loadCheckpoint } from '../model/checkpoint/node.js';
import type { LoadedCheckpoint } from '../model/checkpoint/load.js';
import { type EvalBatching, classifierProbabilities, describeReading, disposeClassifier, modelReading, uploadClassifier } from '../model/classifier.js';
import { resolveModel } from '../model/assets.node.js';
import { MAX_RESIDUES } from '../model/tokenizer.js';
import { UsageError, intOption, parseArgs } from './args.js';
import { progressBar } from './progress.js';
import { type EncodedRecord, RECORD_OPTIONS, readEncodedRecords, recordOptions } from './records.js';

/** Usage text (esm-kn --help). */
export const PREDICT_USAGE = `esm-kn predict MODEL FASTA [--out FILE.tsv|FILE.jsonl] [--truncate] [--unknown-as-unk]
                   [--toks-per-batch 4096] [--whole] [--quiet]
  MODEL   a classifier: an esm-kn folder written by finetune, an export of one (any of the three formats), or 'default'
  One row per record: id, predicted, then the probability of each class (columns named by the class labels).
  TSV on stdout without --out; --out FILE.jsonl writes {"id", "predicted", "probabilities": {label: p}} per line.
  Records are read as the model was validated when fine-tuned (its stored reading, as in evaluate: the
  mean of the logits over windows covering the record, or its first N residues); --whole, or a model
  without a stored reading, reads every residue in one pass.`;

/** Loads a checkpoint and refuses one without a classification head, naming the model. */
export async function loadClassifierCheckpoint(modelArg: string, command: string): Promise<LoadedCheckpoint> {
  const ckpt = await loadCheckpoint(resolveModel(modelArg));
  if (!ckpt.head) {
    throw new FormatError(modelArg, `a ${ckpt.format} model with no classification head: ${command} needs a fine-tuned classifier (esm-kn finetune writes one)`);
  }
  return ckpt;
}

/**
 * Batch records of checked records: the residues as the tokenizer reads them back, so the classifier
 * path encodes exactly the checked tokens; the residue limit is the longest record, already checked.
 */
export function batchRecords(records: readonly EncodedRecord[]): { records: BatchRecord[]; maxLength: number } {
  const maxLength = records.reduce((m, r) => Math.max(m, r.residues.length), MAX_RESIDUES);
  return { records: records.map((r) => ({ id: r.label, sequence: r.residues })), maxLength };
}

/** Shortest text that round-trips a probability to 8 significant digits. */
function prob(p: number): string {
  return String(Number(p.toPrecision(8)));
}

/** The output lines (TSV with a header, or JSON Lines) for probabilities (R, C). */
export function predictionLines(ids: readonly string[], labels: readonly string[], probs: Float64Array, format: 'tsv' | 'jsonl'): string[] {
  const C = labels.length;
  const lines: string[] = format === 'tsv' ? [['id', 'predicted', ...labels].join('\t')] : [];
  ids.forEach((id, r) => {
    const row = probs.subarray(r * C, (r + 1) * C);
    let best = 0;
    for (let c = 1; c < C; c++) if (row[c]! > row[best]!) best = c;
    if (format === 'tsv') lines.push([id, labels[best]!, ...Array.from(row, prob)].join('\t'));
    else lines.push(JSON.stringify({ id, predicted: labels[best], probabilities: Object.fromEntries(labels.map((l, c) => [l, Number(prob(row[c]!))])) }));
  });
  return lines;
}

/** Runs the command. */
export async function predictCommand(argv: readonly string[]): Promise<void> {
  const cmd = 'predict';
  const p = parseArgs(argv, { out: { kind: 'value' }, ...RECORD_OPTIONS, 'toks-per-batch': { kind: 'value' }, quiet: { kind: 'flag' }, whole: { kind: 'flag' } }, cmd);
  if (p.positional.length !== 2) throw new UsageError(`${cmd}: needs MODEL FASTA\n${PREDICT_USAGE}`);
  const [modelArg, fasta] = p.positional as [string, string];
  const out = p.values.get('out');
  if (out !== undefined && !/\.(tsv|jsonl)$/i.test(out)) throw new UsageError(`${cmd}: --out ${out} must end in .tsv or .jsonl`);
  const format = out && /\.jsonl$/i.test(out) ? 'jsonl' : 'tsv';
  const budget = intOption(p, 'toks-per-batch', 4096, 1, cmd);

  const encoded = await readEncodedRecords(fasta, recordOptions(p));
  const ckpt = await loadClassifierCheckpoint(modelArg, cmd);
  await initEngine();
  const clf = uploadClassifier(ckpt);
  try {
    const { records, maxLength } = batchRecords(encoded);
    // A record longer than the budget gets a batch of its own, as in extract.
    // A loop, not a spread: a proteome-sized FASTA overflows the call stack of Math.max(...xs).
    const tokenBudget = records.reduce((m, r) => Math.max(m, r.sequence.length + 2), budget);
    const reading = p.flags.has('whole') ? null : modelReading(ckpt.meta);
    const batching: EvalBatching = !reading ? { tokenBudget, maxLength }
      : reading.window ? { tokenBudget: Math.max(budget, reading.window.size + 2), maxLength, window: reading.window }
      : { tokenBudget: Math.max(budget, reading.maxLength + 2), maxLength: reading.maxLength };
    if (reading && !p.flags.has('quiet')) process.stderr.write(`${cmd}: records read as the model was validated: ${describeReading(reading)} (--whole reads every residue in one pass)\n`);
    const probs = await classifierProbabilities(clf, records, batching, progressBar(cmd, p.flags.has('quiet')));
    const text = `${predictionLines(records.map((r) => r.id), clf.labels, probs, format).join('\n')}\n`;
    if (out) await writeFileAtomic(out, [new TextEncoder().encode(text)]);
    else process.stdout.write(text);
  } finally {
    disposeClassifier(clf);
  }
}
