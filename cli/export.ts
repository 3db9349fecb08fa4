/**
 * `esm-kn export MODEL --format hf|esm-kn|fair-esm --out DIR`: a model (any of the three forms, or
 * 'default') written in one of the three forms (model/checkpoint/export.ts): a Hugging Face folder that
 * transformers' EsmForSequenceClassification loads, an esm-kn folder, or a fair-esm .pt with its
 * contact-regression companion. Every form loads back into esm-kn with the head, labels and task.
 */
import { existsSync, readdirSync } from 'node:fs';
import { resolveModel } from '../model/assets.node.js';
import { EXPORT_FORMATS, type ExportFormat, exportNotes } from '../model/checkpoint/export.js';
import { exportCheckpoint, loadCheckpoint } from '../model/checkpoint/node.js';
import { exportReplacing } from '../model/checkpoint/replace.node.js';
import { UsageError, oneOf, parseArgs } from './args.js';

/** Usage text (esm-kn --help). */
export const EXPORT_USAGE = `esm-kn export MODEL --format hf|esm-kn|fair-esm --out DIR [--force]
  hf: config.json (EsmForSequenceClassification, id2label, classifier_pooling) + model.safetensors in
  Hugging Face's ESM names + tokenizer files; esm-kn: esm-kn.json + model.safetensors; fair-esm:
  DIR/esm2_t<L>_<D>d_esm-kn.pt + -contact-regression.pt (zeros, with a note, for a model without a contact
  head: fair-esm requires the file), the head kept in an extra entry fair-esm ignores.
  DIR must be empty or new unless --force, which first removes the files any earlier export wrote there
  (those names only: config.json, model.safetensors, vocab.txt, tokenizer_config.json, esm-kn.json,
  esm2_t*_*d_esm-kn*.pt), so no other form's files stay behind; other files are kept.`;

/** Runs the command. */
export async function exportCommand(argv: readonly string[]): Promise<void> {
  const cmd = 'export';
  const p = parseArgs(argv, { format: { kind: 'value' }, out: { kind: 'value' }, force: { kind: 'flag' } }, cmd);
  if (p.positional.length !== 1) throw new UsageError(`${cmd}: needs MODEL\n${EXPORT_USAGE}`);
  const [modelArg] = p.positional as [string];
  if (!p.values.has('format')) throw new UsageError(`${cmd}: --format ${EXPORT_FORMATS.join('|')} is required`);
  const format = oneOf<ExportFormat>(p, 'format', EXPORT_FORMATS, 'hf', cmd);
  const out = p.values.get('out');
  if (!out) throw new UsageError(`${cmd}: --out DIR is required`);
  // A folder holding another form's files would load as that form: --force replaces them (replace.node.ts).
  const occupied = existsSync(out) && readdirSync(out).length > 0;
  if (occupied && !p.flags.has('force')) throw new UsageError(`${cmd}: ${out} is not empty (--force replaces an earlier export's files in it)`);
  const ckpt = await loadCheckpoint(resolveModel(modelArg));
  const written = await (occupied ? exportReplacing : exportCheckpoint)(ckpt, format, out, modelArg);
  for (const note of exportNotes(ckpt, format)) console.error(`${cmd}: note: ${note}`);
  if (format === 'hf' && ckpt.head?.pooling === 'mean') {
    console.error(`${cmd}: note: transformers' EsmForSequenceClassification pools <cls>; this head pools the mean over residues (config.json classifier_pooling "mean"), so from_pretrained alone predicts differently: see the README for the few lines that reproduce the mean pooling`);
  }
  const head = ckpt.head ? `with its ${ckpt.head.pooling}-pooled ${ckpt.head.labels.length}-class head` : 'without a classification head';
  console.log(`${ckpt.format} model ${modelArg} ${head} written as ${format}:\n${written.map((f) => `  ${f}`).join('\n')}`);
}
