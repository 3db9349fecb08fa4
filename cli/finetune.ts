/**
 * `esm-kn finetune`: a backbone plus a classification head trained on a labelled task (train/
 * finetune.ts does the work). Also holds the option handling that `esm-kn pretrain` shares.
 */
import { basename, resolve } from 'node:path';
import { rt } from '../engine/index.js';
import { DEFAULT_TASK, PRETRAIN_TASK_NAMES, TASK_NAMES, type TaskName } from '../data/dataset.js';
import { type BackboneSpec, type Freeze, FREEZE_MODES } from '../train/backbone.js';
import { CLASS_WEIGHTINGS, defaultDataFile } from '../train/data.js';
import { OptionError } from '../train/errors.js';
import { type FinetuneOptions, checkFinetuneOptions, finetune, resumeFinetune } from '../train/finetune.js';
import { SAMPLERS } from '../model/batching.js';
import type { CommonOptions, RunControl, RunResult } from '../train/run.js';
import { DECAYS, type Decay } from '../train/schedule.js';
import { type OptionSpec, type Parsed, UsageError, intOption, numOption, oneOf, optionalInt, parseArgs } from './args.js';
import { Progress } from './progress.js';
import { learningCurvesSvg } from './report/curves.js';

export const FINETUNE_USAGE = `esm-kn finetune (--backbone MODEL | --size NAME | --layers N --dim D --heads H) --out DIR
                 [--task ec|enzyme|ec+non] [--data FILE] [--split-seed 0] [--pooling mean|cls]
                 [--epochs 3 | --max-steps N] [--lr LR] [--warmup N] [--decay linear|cosine|constant]
                 [--weight-decay 0.01] [--clip 1.0] [--batch-size 16 | --tokens-per-batch N] [--accum 1]
                 [--max-len 1022] [--class-weights none|balanced|sqrt] [--sampler shuffle|balanced]
                 [--head-lr-mult 1] [--freeze none|head-only|all-but-last] [--train-last N] [--dropout 0]
                 [--eval-every 0] [--eval-window W [--eval-stride S]] [--patience 0] [--save-every 200]
                 [--shuffle-labels SEED] [--keep-head] [--seed 0] [--stop-after N] [--quiet]
esm-kn finetune --resume DIR [--stop-after N] [--quiet]
  MODEL   a fair-esm .pt file, a Hugging Face folder, an esm-kn folder, or 'default'; NAME an ESM-2 size
          (esm2_t6_8M_UR50D or short: 8M, 35M, ...); --layers/--dim/--heads a fresh custom size.
  Data: the repo's enzyme file by default (TSV or labelled FASTA); the committed split when the data
  matches it, else a stratified 80/10/10 split by --split-seed. --lr defaults to 5e-5 with --backbone,
  1e-3 for a fresh model; --warmup to 6% of the steps. --eval-every 0 evaluates every epoch; macro-F1
  on the validation split picks DIR/best and drives --patience (0 = no early stopping). DIR/last holds
  what --resume needs; --stop-after N stops after N steps keeping the full schedule.
  --class-weights (default none): balanced weighs class c by n / (k n_c) (n training records, k classes,
  n_c in c); sqrt by the square root of that, renormalised to a weighted mean of 1 over the training
  records: n / (sqrt(n_c) sum_c' sqrt(n_c')). --sampler (default shuffle: every record once per epoch):
  balanced draws as many records per epoch, each draw's class uniform (one of each class per block of
  k draws), records of a class without replacement until all are used, seeded by (--seed, epoch).
  --head-lr-mult X (default 1): the head's parameters use lr x X. --eval-window W (default off: the
  first --max-len residues): validation scores a record over W residues as the mean of the logits of
  its W-residue windows at stride S (--eval-stride, default W/2), the last one flush with its end.
  --shuffle-labels SEED (default off): the training and validation splits' labels permuted by seeded
  shuffles (the null twin: its checkpoint is chosen without real labels too); the test split keeps its.
  --keep-head: start from the --backbone checkpoint's classification head (its classes and pooling must be
  the run's) instead of a fresh one, for a second stage of fine-tuning. Every option is stored in DIR and restored by --resume.`;

/** Options every training command takes, for parseArgs. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  backbone: { kind: 'value' }, size: { kind: 'value' }, layers: { kind: 'value' }, dim: { kind: 'value' }, heads: { kind: 'value' },
  task: { kind: 'value' }, data: { kind: 'value' }, 'split-seed': { kind: 'value' }, out: { kind: 'value' }, resume: { kind: 'value' },
  seed: { kind: 'value' }, lr: { kind: 'value' }, warmup: { kind: 'value' }, decay: { kind: 'value' }, 'weight-decay': { kind: 'value' },
  clip: { kind: 'value' }, accum: { kind: 'value' }, epochs: { kind: 'value' }, 'max-steps': { kind: 'value' },
  'batch-size': { kind: 'value' }, 'tokens-per-batch': { kind: 'value' }, 'max-len': { kind: 'value' }, 'eval-every': { kind: 'value' },
  'save-every': { kind: 'value' }, patience: { kind: 'value' }, 'stop-after': { kind: 'value' }, quiet: { kind: 'flag' },
};

function backboneSpec(p: Parsed, command: string): BackboneSpec {
  const custom = ['layers', 'dim', 'heads'].filter((k) => p.values.has(k));
  const given = [p.values.has('backbone'), p.values.has('size'), custom.length > 0].filter(Boolean).length;
  if (given !== 1) throw new UsageError(`${command}: give exactly one of --backbone MODEL, --size NAME, or --layers N --dim D --heads H`);
  if (p.values.has('backbone')) return { checkpoint: p.values.get('backbone')! };
  if (p.values.has('size')) return { size: p.values.get('size')! };
  if (custom.length !== 3) throw new UsageError(`${command}: a custom size needs all of --layers, --dim and --heads`);
  return { custom: { numLayers: intOption(p, 'layers', 0, 1, command), embedDim: intOption(p, 'dim', 0, 1, command), attentionHeads: intOption(p, 'heads', 0, 1, command) } };
}

/** The common options from parsed arguments; `defaults` holds the command's own defaults. */
export function commonOptions(p: Parsed, command: string, defaults: { task: TaskName; lr: (b: BackboneSpec) => number }): CommonOptions {
  if (p.positional.length) throw new UsageError(`${command}: unexpected argument '${p.positional[0]}' (every input is an --option)`);
  const out = p.values.get('out');
  if (!out) throw new UsageError(`${command}: --out DIR is required (or --resume DIR to continue a run)`);
  const backbone = backboneSpec(p, command);
  const tokensPerBatch = optionalInt(p, 'tokens-per-batch', 3, command);
  return {
    out: resolve(out),
    backbone,
    data: resolve(p.values.get('data') ?? defaultDataFile()),
    task: oneOf(p, 'task', command === 'pretrain' ? PRETRAIN_TASK_NAMES : TASK_NAMES, defaults.task, command),
    splitSeed: intOption(p, 'split-seed', 0, 0, command),
    seed: intOption(p, 'seed', 0, 0, command),
    lr: numOption(p, 'lr', defaults.lr(backbone), command),
    warmupSteps: optionalInt(p, 'warmup', 0, command),
    decay: oneOf<Decay>(p, 'decay', DECAYS, 'linear', command),
    weightDecay: numOption(p, 'weight-decay', 0.01, command),
    clip: numOption(p, 'clip', 1.0, command),
    accum: intOption(p, 'accum', 1, 1, command),
    epochs: intOption(p, 'epochs', 3, 1, command),
    maxSteps: optionalInt(p, 'max-steps', 1, command),
    batchSize: p.values.has('batch-size') || tokensPerBatch === null ? intOption(p, 'batch-size', 16, 1, command) : null,
    tokensPerBatch,
    maxLength: intOption(p, 'max-len', 1022, 1, command),
    evalEvery: intOption(p, 'eval-every', 0, 0, command),
    saveEvery: intOption(p, 'save-every', 200, 0, command),
    patience: intOption(p, 'patience', 0, 0, command),
  };
}

/** With --resume only these may be given: everything else comes from the run itself. */
const RESUME_OPTIONS = new Set(['resume', 'stop-after', 'quiet']);

/** Checks a --resume command line and returns the run folder. */
export function resumeFolder(p: Parsed, command: string): string {
  const extra = [...p.values.keys(), ...p.flags].filter((k) => !RESUME_OPTIONS.has(k));
  if (extra.length || p.positional.length) {
    throw new UsageError(`${command}: --resume continues with the run's own options; only --stop-after and --quiet may be added (got ${extra.map((k) => `--${k}`).join(', ') || p.positional[0]})`);
  }
  return resolve(p.values.get('resume')!);
}

/** Progress bar and log lines on stderr, and DIR/learning_curves.svg, for a training command. */
export function cliControl(p: Parsed, command: 'finetune' | 'pretrain', argv: readonly string[]): { control: RunControl; finish: () => void } {
  const quiet = p.flags.has('quiet');
  const tty = Boolean((process.stderr as { isTTY?: boolean }).isTTY);
  // Clears a half-drawn bar line first, so log lines and the bar do not run together.
  const log = (line: string): void => {
    if (!quiet) process.stderr.write(`${tty ? '\r\x1b[K' : ''}${command}: ${line}\n`);
  };
  let bar: Progress | null = null;
  const label = basename(resolve(p.values.get('out') ?? p.values.get('resume') ?? '.'));
  const control: RunControl = {
    stopAfter: p.values.has('stop-after') ? intOption(p, 'stop-after', 1, 1, command) : undefined,
    commandLine: ['esm-kn', command, ...argv],
    log,
    learningCurves: (history, bestStep) => learningCurvesSvg([{ label, kind: command, history, bestStep }], {
      title: `esm-kn ${command} ${label}: learning curves`,
      caption: `Written after the evaluation at step ${history[history.length - 1]?.step} (${new Date().toISOString()}); esm-kn curves draws runs together.`,
    }),
    hooks: {
      onStart(s) {
        if (s.totalSteps > s.step) bar = new Progress(command, s.totalSteps - s.step, { unit: 'steps', quiet });
      },
      onStep(s) {
        bar?.tick(1, `step ${s.step}/${s.totalSteps} epoch ${s.epoch.toFixed(2)} loss ${s.loss.toFixed(4)} ${Math.round(s.tokensPerSecond)} tok/s lr ${s.lr.toExponential(2)}`);
      },
      onEval(r, outcome, isBest) {
        log(`step ${r.step} (epoch ${r.epoch.toFixed(2)}): train loss ${r.train_loss.toFixed(4)}, ${outcome.summary}${isBest ? ' [best]' : ''}`);
      },
    },
  };
  return { control, finish: () => bar?.finish() };
}

/** The closing summary on stdout. */
export function printSummary(command: string, r: RunResult, scoreName: string, score: (s: number) => number): void {
  const s = r.state;
  const best = s.best ? `best validation ${scoreName} ${score(s.best.score).toFixed(4)} at step ${s.best.step}` : 'not evaluated yet';
  const status = s.done ? (s.stopReason ?? 'done') : `stopped at step ${s.step} of ${r.schedule.totalSteps} (continue with --resume ${r.out})`;
  console.log(`${command}: ${status}; ${best}`);
  console.log(`  resumable state: ${r.lastDir}${r.bestDir ? `   best model: ${r.bestDir}` : ''}`);
  console.log(`  training throughput: ${Math.round(r.tokensPerSecond)} tokens/s over ${s.trainSeconds.toFixed(1)} s on ${rt().info.description}`);
}

/** Runs a library call, reporting its OptionErrors as usage errors of `command`. */
export async function asUsage<T>(command: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof OptionError) throw new UsageError(`${command}: ${e.message}`);
    throw e;
  }
}

/** Runs the command. */
export async function finetuneCommand(argv: readonly string[]): Promise<void> {
  const p = parseArgs(argv, {
    ...COMMON_OPTIONS, pooling: { kind: 'value' }, 'class-weights': { kind: 'value' }, freeze: { kind: 'value' },
    'train-last': { kind: 'value' }, dropout: { kind: 'value' }, sampler: { kind: 'value' }, 'head-lr-mult': { kind: 'value' },
    'eval-window': { kind: 'value' }, 'eval-stride': { kind: 'value' }, 'shuffle-labels': { kind: 'value' }, 'keep-head': { kind: 'flag' },
  }, 'finetune');
  const { control, finish } = cliControl(p, 'finetune', argv);
  const result = await asUsage('finetune', () => {
    if (p.values.has('resume')) return resumeFinetune(resumeFolder(p, 'finetune'), control);
    const trainLast = intOption(p, 'train-last', 0, 1, 'finetune');
    const o: FinetuneOptions = {
      ...commonOptions(p, 'finetune', { task: DEFAULT_TASK, lr: (b) => ('checkpoint' in b ? 5e-5 : 1e-3) }),
      pooling: oneOf(p, 'pooling', ['mean', 'cls'], 'mean', 'finetune'),
      classWeights: oneOf(p, 'class-weights', CLASS_WEIGHTINGS, 'none', 'finetune'),
      // --train-last N alone means "all but the last N layers frozen".
      freeze: oneOf<Freeze>(p, 'freeze', FREEZE_MODES, p.values.has('train-last') ? 'all-but-last' : 'none', 'finetune'),
      trainLast,
      dropout: numOption(p, 'dropout', 0, 'finetune'),
      sampler: oneOf(p, 'sampler', SAMPLERS, 'shuffle', 'finetune'),
      headLrMult: numOption(p, 'head-lr-mult', 1, 'finetune'),
      evalWindow: optionalInt(p, 'eval-window', 1, 'finetune'),
      evalStride: optionalInt(p, 'eval-stride', 1, 'finetune'),
      shuffleLabels: optionalInt(p, 'shuffle-labels', 0, 'finetune'),
      keepHead: p.flags.has('keep-head'),
    };
    checkFinetuneOptions(o);
    return finetune(o, control);
  });
  finish();
  printSummary('finetune', result, 'macro-F1', (s) => s);
}
