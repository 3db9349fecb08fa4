/**
 * `esm-kn evaluate MODEL DATA`: a fine-tuned classifier's accuracy, macro-F1, per-class table and
 * confusion matrix on labelled data (train/evaluate.ts computes them).
 */
import { initEngine } from '../engine/index.js';
import { TASK_NAMES, type TaskName, type TaskRecord, describeLeftOut, selectTask, taskSpec } from '../data/dataset.js';
import { argmaxRows, formatMetrics } from '../data/metrics.js';
import { readDataFile } from '../data/files.node.js';
import { FormatError } from '../io/errors.js';
import { defaultDataFile, splitDataset } from '../train/data.js';
import { type EvalWindow, describeReading, disposeClassifier, modelReading } from '../model/classifier.js';
import { classifierTask, evaluateClassifier, loadClassifier } from '../train/evaluate.js';
import { evalWindowOf } from '../train/finetune.js';
import { UsageError, intOption, numOption, optionalInt, parseArgs } from './args.js';
import { printBaselineTable } from './baseline.js';
import { BASELINE_DEFAULTS, type BaselineRow, type RemoteView, baselineRow, remoteView, runBaselines } from '../train/baseline_report.js';

export const EVALUATE_USAGE = `esm-kn evaluate MODEL DATA [--task ec|enzyme|ec+non] [--split all|test|valid|train] [--split-seed N]
                 [--json] [--max-len 1022] [--eval-window W [--eval-stride S]]
                 [--batch-size 32 | --tokens-per-batch N] [--baselines] [--remote-below 0.3]
  MODEL   a model with a classification head (the DIR/best of esm-kn finetune), or 'default'
  DATA    TSV or labelled FASTA ('>ID ec_class=N'), or 'default' for the repo's enzyme file
  --task defaults to the model's own task. Records outside the task (e.g. non-enzymes for ec) are left
  out and counted. --split picks a part of the split finetune uses: the committed split when DATA is
  the repo's file, else the stratified split by --split-seed (default: the model's). Default: all.
  By default a record is read as the model was validated when fine-tuned (its stored reading: the
  first N residues, or the mean over windows covering the whole sequence); a model without one keeps
  its first 1022 residues. --max-len N keeps the first N residues; with --eval-window W one longer than
  W residues is scored as the mean of the logits of its W-residue windows at stride S (--eval-stride,
  default W/2), the last window flush with its end (then --max-len does not apply, and --baselines see
  whole sequences).
  --baselines (with --split test or valid): also the baselines of 'esm-kn baseline' on the same records
  and crop, and every method (the model too) on the remote records alone: those whose most similar
  training sequence (3-mer cosine) is below --remote-below.`;

const SPLITS = ['all', 'test', 'valid', 'train'] as const;

/** Runs the command. */
export async function evaluateCommand(argv: readonly string[]): Promise<void> {
  const p = parseArgs(argv, {
    task: { kind: 'value' }, split: { kind: 'value' }, 'split-seed': { kind: 'value' }, json: { kind: 'flag' },
    'max-len': { kind: 'value' }, 'batch-size': { kind: 'value' }, 'tokens-per-batch': { kind: 'value' },
    baselines: { kind: 'flag' }, 'remote-below': { kind: 'value' }, 'eval-window': { kind: 'value' }, 'eval-stride': { kind: 'value' },
  }, 'evaluate');
  if (p.positional.length !== 2) throw new UsageError(`evaluate: needs MODEL DATA\n${EVALUATE_USAGE}`);
  const [modelArg, dataArg] = p.positional as [string, string];
  const split = p.values.get('split') ?? 'all';
  if (!(SPLITS as readonly string[]).includes(split)) throw new UsageError(`evaluate: --split ${split} is not one of ${SPLITS.join(', ')}`);
  const taskArg = p.values.get('task');
  if (taskArg !== undefined && !(TASK_NAMES as readonly string[]).includes(taskArg)) throw new UsageError(`evaluate: --task ${taskArg} is not one of ${TASK_NAMES.join(', ')}`);
  let maxLength = intOption(p, 'max-len', 1022, 1, 'evaluate');
  const tokenBudget = p.values.has('tokens-per-batch') ? intOption(p, 'tokens-per-batch', 0, 3, 'evaluate') : undefined;
  const batchSize = p.values.has('batch-size') || tokenBudget === undefined ? intOption(p, 'batch-size', 32, 1, 'evaluate') : undefined;
  if (maxLength > 1022) throw new UsageError(`evaluate: --max-len ${maxLength} is more than the 1022 residues ESM-2 takes`);
  let window: EvalWindow | undefined = evalWindowOf({ evalWindow: optionalInt(p, 'eval-window', 1, 'evaluate'), evalStride: optionalInt(p, 'eval-stride', 1, 'evaluate') });
  if (window && window.stride > window.size) throw new UsageError(`evaluate: --eval-stride ${window.stride} is more than --eval-window ${window.size}: residues between windows would never be scored`);
  if (p.values.has('eval-stride') && !window) throw new UsageError('evaluate: --eval-stride needs --eval-window');
  if (window && window.size > 1022) throw new UsageError(`evaluate: --eval-window ${window.size} is more than the 1022 residues ESM-2 takes`);
  const checkBudget = (what: string): void => {
    const residues = window?.size ?? maxLength;
    if (tokenBudget !== undefined && tokenBudget < residues + 2) {
      throw new UsageError(`evaluate: --tokens-per-batch ${tokenBudget} cannot hold one sequence of ${what} ${residues} (${residues + 2} tokens)`);
    }
  };
  checkBudget(window ? '--eval-window' : '--max-len');
  const explicitReading = p.values.has('max-len') || window !== undefined;

  const withBaselines = p.flags.has('baselines');
  if (withBaselines && (split === 'all' || split === 'train')) throw new UsageError('evaluate: --baselines needs --split test or valid (the baselines learn from the train split)');
  const threshold = numOption(p, 'remote-below', BASELINE_DEFAULTS.remoteThreshold, 'evaluate');
  if (!(threshold > 0 && threshold <= 1)) throw new UsageError(`evaluate: --remote-below must be in (0, 1], got ${threshold}`);
  // Bad data is reported before any GPU work.
  const data = await readDataFile(dataArg === 'default' ? defaultDataFile() : dataArg);
  await initEngine();
  const clf = await loadClassifier(modelArg);
  try {
    const reading = explicitReading ? null : modelReading(clf.checkpoint.meta);
    if (reading) {
      maxLength = reading.maxLength;
      window = reading.window ?? undefined;
      checkBudget(`the model's reading (${describeReading(reading)}) of`);
    }
    const task = (taskArg as TaskName | undefined) ?? classifierTask(clf) ?? 'ec';
    const names = taskSpec(task).classNames;
    if (names.join('\n') !== clf.labels.join('\n')) {
      throw new FormatError(modelArg, `its head predicts ${clf.labels.length} classes (${clf.labels.join(', ')}), task ${task} has ${names.length} (${names.join(', ')}); pass the model's --task`);
    }
    const dataset = selectTask(data, task);
    const provenance = clf.checkpoint.meta.provenance as { seeds?: { split_seed?: number } } | undefined;
    const splitSeed = intOption(p, 'split-seed', provenance?.seeds?.split_seed ?? 0, 0, 'evaluate');
    let records: readonly TaskRecord[] = dataset.records;
    let splitSource: string | null = null;
    let train: readonly TaskRecord[] = [];
    if (split !== 'all') {
      const s = await splitDataset(dataset, splitSeed);
      records = s.parts[split as 'test' | 'valid' | 'train'];
      train = s.parts.train;
      splitSource = s.splitFile ?? `computed stratified 80/10/10 split, seed ${splitSeed}`;
      if (!records.length) throw new FormatError(data.file, `the ${split} split of task ${task} is empty (${dataset.records.length} records)`);
    }
    const r = await evaluateClassifier(clf.model, clf.head, records, names, { batchSize, tokenBudget, maxLength, window });
    const leftOut = dataset.leftOut.map((l) => ({ count: l.count, reason: l.reason }));
    let comparison: { view: RemoteView; rows: BaselineRow[] } | null = null;
    if (withBaselines) {
      const view = remoteView(train, records, threshold);
      const model = baselineRow('model', `${clf.checkpoint.path}`, records, argmaxRows(r.logits, names.length), names, view, 0);
      comparison = { view, rows: [model, ...runBaselines(train, records, names, { maxLength: maxLength >= 1022 || window ? null : maxLength, dipeptides: false, remoteThreshold: threshold }, view)] };
    }
    if (p.flags.has('json')) {
      console.log(JSON.stringify({
        model: clf.checkpoint.path, data: data.file, data_sha256: data.sha256, task, split, split_source: splitSource, eval_window: window ?? null, max_len: window ? null : maxLength, reading: reading ? 'model' : explicitReading ? 'options' : 'default',
        records: records.length, left_out: leftOut, left_out_total: leftOut.reduce((a, l) => a + l.count, 0),
        loss: r.loss, ...r.metrics,
        ...(comparison ? { remote_threshold: threshold, remote_records: comparison.view.remote.length, comparison: comparison.rows.map(({ metrics: _m, ...x }) => x) } : {}),
      }));
      return;
    }
    console.log(`model ${clf.checkpoint.path}`);
    console.log(`data ${data.file}, task ${task}, split ${split}${splitSource ? ` (${splitSource})` : ''}: ${records.length} records`);
    if (window) console.log(`window-averaged scoring: windows of ${window.size} residues, stride ${window.stride}${reading ? " (the model's reading)" : ''}`);
    else if (maxLength < 1022) console.log(`records read on their first ${maxLength} residues${reading ? " (the model's reading)" : ''}`);
    for (const line of describeLeftOut(dataset)) console.log(`  left out: ${line}`);
    console.log(`loss ${r.loss.toFixed(4)}`);
    console.log(formatMetrics(r.metrics));
    if (comparison) {
      console.log('');
      printBaselineTable(comparison.rows, comparison.view);
    }
  } finally {
    disposeClassifier(clf);
  }
}
