/**
 * `esm-kn attribute MODEL FASTA --out DIR`: for every record, the per-residue integrated gradients the
 * page draws (kn/residue_ig.ts: IG of the target class's probability with respect to each residue's
 * input embedding, zero baseline, summed over the model dimension), written as DIR/<id>.tsv (position,
 * residue, attribution) and DIR/<id>.svg (the page's track), with DIR/summary.tsv holding per record
 * the target, f(x), f(baseline), the attributions' sum and the completeness gap (sum - (f(x) - f(b))).
 * The target is the predicted class (the page's choice) or a class given by label or index.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { initEngine } from '../engine/index.js';
import { FormatError } from '../io/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { classifierProbabilities, disposeClassifier, uploadClassifier } from '../model/classifier.js';
import { ESM2_TOKENS } from '../model/tokenizer.js';
import { QUADRATURE_RULES, type QuadratureRule } from '../kn/quadrature.js';
import { residueIg } from '../kn/residue_ig.js';
import { topIndices } from '../kn/select.js';
import { UsageError, intOption, oneOf, parseArgs } from './args.js';
import { attributionSvg } from './attribution_svg.js';
import { batchRecords, loadClassifierCheckpoint } from './predict.js';
import { Progress } from './progress.js';
import { RECORD_OPTIONS, readEncodedRecords, recordFileName, recordOptions } from './records.js';

/** Usage text (esm-kn --help). */
export const ATTRIBUTE_USAGE = `esm-kn attribute MODEL FASTA --out DIR [--target predicted|CLASS] [--steps 20] [--rule riemann|gauss-legendre]
                     [--truncate] [--unknown-as-unk] [--toks-per-batch 4096] [--quiet]
  Per-residue integrated gradients of the target class's probability (the page's attribution track):
  DIR/<id>.tsv (position, residue, attribution), DIR/<id>.svg, and DIR/summary.tsv with the completeness
  gap per record. CLASS is a class label of the model or its index; default: each record's predicted class.`;

/** The target class index from --target, or null for each record's prediction. */
export function targetClass(v: string | undefined, labels: readonly string[], command: string): number | null {
  if (v === undefined || v === 'predicted') return null;
  const byLabel = labels.indexOf(v);
  if (byLabel >= 0) return byLabel;
  const n = Number(v);
  if (Number.isInteger(n) && n >= 0 && n < labels.length && v.trim() !== '') return n;
  throw new UsageError(`${command}: --target ${v} is neither 'predicted' nor a class of the model (${labels.map((l, i) => `${i} '${l}'`).join(', ')})`);
}

const num = (x: number): string => String(Number(x.toPrecision(9)));
const utf8 = (s: string): Uint8Array[] => [new TextEncoder().encode(s)];

/** Runs the command. */
export async function attributeCommand(argv: readonly string[]): Promise<void> {
  const cmd = 'attribute';
  const p = parseArgs(argv, {
    out: { kind: 'value' }, target: { kind: 'value' }, steps: { kind: 'value' }, rule: { kind: 'value' }, ...RECORD_OPTIONS,
    'toks-per-batch': { kind: 'value' }, quiet: { kind: 'flag' },
  }, cmd);
  if (p.positional.length !== 2) throw new UsageError(`${cmd}: needs MODEL FASTA\n${ATTRIBUTE_USAGE}`);
  const [modelArg, fasta] = p.positional as [string, string];
  const out = p.values.get('out');
  if (!out) throw new UsageError(`${cmd}: --out DIR is required`);
  const steps = intOption(p, 'steps', 20, 1, cmd);
  const rule = oneOf<QuadratureRule>(p, 'rule', QUADRATURE_RULES, 'riemann', cmd);
  const budget = intOption(p, 'toks-per-batch', 4096, 1, cmd);

  const encoded = await readEncodedRecords(fasta, recordOptions(p));
  // Per-record files must not collide with each other or with summary.tsv (before any GPU work).
  const seen = new Map<string, string>([['summary.tsv', '(the summary table)']]);
  for (const rec of encoded) {
    const name = recordFileName(rec.label, '.tsv');
    const other = seen.get(name);
    if (other !== undefined) throw new FormatError(fasta, `record '${rec.label}' would write ${name}, as ${other === '(the summary table)' ? 'the summary table does' : `record '${other}' does`}: give records distinct ids`);
    seen.set(name, rec.label);
  }
  const ckpt = await loadClassifierCheckpoint(modelArg, cmd);
  const labels = ckpt.head!.labels;
  const fixed = targetClass(p.values.get('target'), labels, cmd);
  mkdirSync(out, { recursive: true });
  await initEngine();
  const clf = uploadClassifier(ckpt);
  try {
    const C = labels.length;
    const { records, maxLength } = batchRecords(encoded);
    // A loop, not a spread: a proteome-sized FASTA overflows the call stack of Math.max(...xs).
    const tokenBudget = records.reduce((m, r) => Math.max(m, r.sequence.length + 2), budget);
    const probs = fixed === null ? await classifierProbabilities(clf, records, { tokenBudget, maxLength }) : null;
    const bar = new Progress(cmd, encoded.length, { unit: 'seq', quiet: p.flags.has('quiet') });
    const summary = [['id', 'target', 'probability', 'baseline_probability', 'attribution_sum', 'completeness_gap', 'residues', 'steps', 'rule'].join('\t')];
    for (const [r, rec] of encoded.entries()) {
      const target = fixed ?? topIndices(probs!.subarray(r * C, (r + 1) * C), 1)[0]!;
      const res = await residueIg(clf.model, clf.head, rec.tokens, target, { steps, rule });
      const residues = Array.from(rec.tokens.subarray(1, rec.tokens.length - 1), (t) => ESM2_TOKENS[t]!);
      const rows = ['position\tresidue\tattribution', ...residues.map((s, i) => `${i + 1}\t${s}\t${num(res.attributions[i]!)}`)];
      await writeFileAtomic(join(out, recordFileName(rec.label, '.tsv')), utf8(`${rows.join('\n')}\n`));
      const sum = res.attributions.reduce((a, b) => a + b, 0);
      const subtitle = `IG of p(${labels[target]}) = ${res.fx.toFixed(4)} (baseline ${res.fb.toFixed(4)}), ${steps} ${rule} steps; completeness gap ${res.gap.toExponential(2)}`;
      await writeFileAtomic(join(out, recordFileName(rec.label, '.svg')), utf8(attributionSvg(rec.label, subtitle, residues, res.attributions)));
      summary.push([rec.label, labels[target]!, num(res.fx), num(res.fb), num(sum), num(res.gap), residues.length, steps, rule].join('\t'));
      bar.tick(1);
    }
    bar.finish();
    await writeFileAtomic(join(out, 'summary.tsv'), utf8(`${summary.join('\n')}\n`));
  } finally {
    disposeClassifier(clf);
  }
}
