/**
 * `esm-kn baseline DATA`: the baselines a model must beat, on the same split, crop and metrics as
 * `esm-kn evaluate` (train/baseline_report.ts), with the homology-aware remote view.
 */
import { TASK_NAMES, type TaskName } from '../data/dataset.js';
import { loadSplitData, defaultDataFile } from '../train/data.js';
import { BASELINE_DEFAULTS, type BaselineRow, type RemoteView, remoteView, runBaselines } from '../train/baseline_report.js';
import { FormatError } from '../io/errors.js';
import { UsageError, intOption, numOption, oneOf, parseArgs } from './args.js';

export const BASELINE_USAGE = `esm-kn baseline DATA [--task ec] [--split test|valid] [--split-seed 0] [--max-len N]
                 [--dipeptides] [--remote-below 0.3] [--json]
  Majority class, amino-acid composition softmax regression (--dipeptides: + 400 dipeptide
  frequencies, about a minute), and 3-mer count-profile cosine 1-nearest-neighbour against the training
  split, scored on --split with the same metrics as evaluate. --max-len crops training and evaluated
  sequences to their first N residues (default: whole). Remote view: records whose nearest training
  sequence (3-mer cosine, whole sequences) is below --remote-below, scored alone. DATA: a data file or
  'default' (the repo's enzyme file, with its committed split).`;

const SPLITS = ['test', 'valid'] as const;

/** Prints baseline rows (and any extra rows, e.g. the model's) as a table. */
export function printBaselineTable(rows: readonly Pick<BaselineRow, 'name' | 'accuracy' | 'macro_f1' | 'remote'>[], view: RemoteView): void {
  console.log(`${'method'.padEnd(24)} ${'accuracy'.padStart(8)} ${'macro-F1'.padStart(8)}   remote (${view.remote.length} of ${view.similarity.length}, nearest < ${view.threshold}): accuracy  macro-F1`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(24)} ${r.accuracy.toFixed(4).padStart(8)} ${r.macro_f1.toFixed(4).padStart(8)}   ${' '.repeat(40)}${r.remote.accuracy.toFixed(4).padStart(8)}  ${r.remote.macro_f1.toFixed(4).padStart(8)}`);
  }
}

/** Runs the command. */
export async function baselineCommand(argv: readonly string[]): Promise<void> {
  const cmd = 'baseline';
  const p = parseArgs(argv, {
    task: { kind: 'value' }, split: { kind: 'value' }, 'split-seed': { kind: 'value' }, 'max-len': { kind: 'value' },
    dipeptides: { kind: 'flag' }, 'remote-below': { kind: 'value' }, json: { kind: 'flag' },
  }, cmd);
  if (p.positional.length !== 1) throw new UsageError(`${cmd}: needs DATA\n${BASELINE_USAGE}`);
  const dataArg = p.positional[0]!;
  const task = oneOf<TaskName>(p, 'task', TASK_NAMES, 'ec', cmd);
  const split = oneOf<(typeof SPLITS)[number]>(p, 'split', SPLITS, 'test', cmd);
  const maxLength = p.values.has('max-len') ? intOption(p, 'max-len', 0, 1, cmd) : null;
  const threshold = numOption(p, 'remote-below', BASELINE_DEFAULTS.remoteThreshold, cmd);
  if (!(threshold > 0 && threshold <= 1)) throw new UsageError(`${cmd}: --remote-below must be in (0, 1], got ${threshold}`);
  const data = await loadSplitData(dataArg === 'default' ? defaultDataFile() : dataArg, task, intOption(p, 'split-seed', 0, 0, cmd));
  const records = data.parts[split];
  if (!records.length || !data.parts.train.length) throw new FormatError(data.dataset.file, `task ${task} has no ${records.length ? 'training' : split} records`);
  const view = remoteView(data.parts.train, records, threshold);
  const rows = runBaselines(data.parts.train, records, data.dataset.classNames, { maxLength, dipeptides: p.flags.has('dipeptides'), remoteThreshold: threshold }, view);
  if (p.flags.has('json')) {
    console.log(JSON.stringify({
      data: data.dataset.file, data_sha256: data.dataset.sha256, task, split, split_source: data.splitFile ?? `computed, seed ${data.splitSeed}`,
      max_length: maxLength, records: records.length, train_records: data.parts.train.length, remote_threshold: threshold, remote_records: view.remote.length,
      baselines: rows,
    }));
    return;
  }
  console.log(`data ${data.dataset.file}, task ${task}, split ${split} (${data.splitFile ?? `computed, seed ${data.splitSeed}`}): ${records.length} records, ` +
    `trained on ${data.parts.train.length}; ${maxLength === null ? 'whole sequences' : `first ${maxLength} residues`}`);
  printBaselineTable(rows, view);
}
