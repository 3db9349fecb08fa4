/**
 * Run folders and resume (Node). A run writes OUT/last/ (everything to continue exactly: model, head,
 * optimizer moments, step, data position, seeds, best score so far) and OUT/best/ (the model at the
 * best validation score, with its metrics and provenance). Both are project-format checkpoints
 * (model.safetensors + esm-kn.json) that loadCheckpoint reads; last/ adds optimizer.safetensors.
 * Given a renderer (RunControl.learningCurves), OUT/learning_curves.svg follows every evaluation.
 *
 * A folder is written whole into a temporary sibling and renamed into place, so a run killed at any
 * moment leaves the previous folder or the new one, never a mix. There is no random-number state to
 * save: data order, crops, MLM masks and dropout masks are pure functions of (seed, epoch, batch,
 * step), so the position and the seeds recreate them.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AdamWState } from '../engine/index.js';
import { type LoadedCheckpoint, type ProjectCheckpoint, PROJECT_JSON, loadCheckpoint, saveProjectCheckpoint } from '../model/checkpoint/node.js';
import { FormatError } from '../io/errors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/node_file.js';

/** Folder names inside a run folder. */
export const LAST = 'last';
export const BEST = 'best';
/** The run's learning curves (SVG), rewritten after every evaluation when the caller draws them. */
export const CURVES_FILE = 'learning_curves.svg';
const OPTIMIZER_FILE = 'optimizer.safetensors';

/** One evaluation, as kept in the run's history. */
export interface EvalRecord {
  readonly step: number;
  /** Epochs done, fractional. */
  readonly epoch: number;
  /** Mean training loss over the updates since the previous evaluation. */
  readonly train_loss: number;
  /** The task's scalar metrics (e.g. macro_f1, accuracy, loss or perplexity). */
  readonly [metric: string]: number;
}

/** Where a run stands; everything the loop needs to continue exactly. */
export interface TrainState {
  /** Optimizer updates done. */
  step: number;
  /** Position of the next micro-batch: epoch and index into that epoch's batch plan. */
  epoch: number;
  batch: number;
  /** Best validation score so far (higher is better) and the step it was reached at. */
  best: { score: number; step: number } | null;
  /** Evaluations since the best one (early stopping). */
  evalsSinceBest: number;
  history: EvalRecord[];
  /** Sum and count of update losses since the last evaluation. */
  lossSum: number;
  lossCount: number;
  /** Real (non-pad) tokens trained on, and seconds spent in training updates (throughput). */
  tokens: number;
  trainSeconds: number;
  /** Wall-clock seconds of every session of the run up to the last save. */
  wallSeconds: number;
  /** True once the run finished or stopped early; resuming it does nothing. */
  done: boolean;
  stopReason: string | null;
}

/** A fresh state at step 0. */
export function initialState(): TrainState {
  return {
    step: 0, epoch: 0, batch: 0, best: null, evalsSinceBest: 0, history: [], lossSum: 0, lossCount: 0,
    tokens: 0, trainSeconds: 0, wallSeconds: 0, done: false, stopReason: null,
  };
}

/** What last/esm-kn.json holds under "training". */
export interface TrainingRecord<O = unknown> {
  /** 'finetune' or 'pretrain': which command can resume it. */
  readonly command: string;
  /** The run's options, resolved (total steps, warm-up): a resume reuses them as they are. */
  readonly options: O;
  readonly state: TrainState;
  /** Parameter names in optimizer order and each one's AdamW step count. */
  readonly optimizer: { readonly names: readonly string[]; readonly steps: readonly number[] };
}

/**
 * Writes a folder atomically: `write` fills a temporary sibling, which then replaces `dir`. The old
 * folder is moved aside first (a non-empty folder cannot be renamed over) and removed last; a crash
 * between the two renames leaves it as `.<name>.old`, which loadLast falls back to.
 */
export async function writeFolderAtomic(dir: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const parent = join(dir, '..');
  const name = dir.split(/[\\/]/).filter(Boolean).pop()!;
  const tmp = join(parent, `.${name}.partial`);
  const old = join(parent, `.${name}.old`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await write(tmp);
  if (existsSync(dir)) {
    rmSync(old, { recursive: true, force: true });
    renameSync(dir, old);
  }
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** Saves OUT/last: the model checkpoint with the training record, and the optimizer moments. */
export async function saveLast<O>(out: string, ckpt: ProjectCheckpoint, training: TrainingRecord<O>, optimizer: AdamWState<Float32Array>): Promise<void> {
  await writeFolderAtomic(join(out, LAST), async (tmp) => {
    const tensors = training.optimizer.names.flatMap((name, i) => [
      [`m.${name}`, { dtype: 'f32' as const, shape: [optimizer.m[i]!.length], data: optimizer.m[i]! }] as const,
      [`v.${name}`, { dtype: 'f32' as const, shape: [optimizer.v[i]!.length], data: optimizer.v[i]! }] as const,
    ]);
    await writeSafetensorsFile(join(tmp, OPTIMIZER_FILE), tensors, { format: 'esm-kn-optimizer' });
    await saveProjectCheckpoint(tmp, { ...ckpt, meta: { ...ckpt.meta, training } });
  });
}

/** Saves OUT/best: the model checkpoint with its metrics. */
export async function saveBest(out: string, ckpt: ProjectCheckpoint): Promise<void> {
  await writeFolderAtomic(join(out, BEST), (tmp) => saveProjectCheckpoint(tmp, ckpt));
}

/** A run folder's last/ read back: the checkpoint, the training record and the optimizer state by name. */
export interface LastCheckpoint<O = unknown> {
  readonly ckpt: LoadedCheckpoint;
  readonly training: TrainingRecord<O>;
  /** m, v and step count per parameter name. */
  readonly optimizer: ReadonlyMap<string, { m: Float32Array; v: Float32Array; steps: number }>;
}

/**
 * Checks that a new run may start in `out`: it must not be a file nor hold a run already (starting
 * there would overwrite that run's checkpoints).
 */
export function checkNewRunFolder(out: string): void {
  if (existsSync(out) && !statSync(out).isDirectory()) throw new FormatError(out, 'is a file, not a folder for the run');
  if ([LAST, BEST, `.${LAST}.old`].some((n) => existsSync(join(out, n)))) {
    throw new FormatError(out, 'already holds a run (last/ or best/): continue it with --resume, or choose another --out');
  }
}

/** Reads OUT/last for a resume; `command` must match the command that wrote it. */
export async function loadLast<O>(out: string, command: string): Promise<LastCheckpoint<O>> {
  let dir = join(out, LAST);
  if (!existsSync(join(dir, PROJECT_JSON)) && existsSync(join(out, `.${LAST}.old`, PROJECT_JSON))) dir = join(out, `.${LAST}.old`);
  if (!existsSync(out) || !statSync(out).isDirectory()) throw new FormatError(out, 'no such run folder');
  if (!existsSync(join(dir, PROJECT_JSON))) throw new FormatError(out, `no ${LAST}/${PROJECT_JSON}: not a run folder, or killed before its first checkpoint`);
  const ckpt = await loadCheckpoint(dir);
  const training = ckpt.meta.training as TrainingRecord<O> | undefined;
  const file = join(dir, PROJECT_JSON);
  if (!training || typeof training !== 'object' || !training.state || !training.options || !training.optimizer) {
    throw new FormatError(file, 'has no training record (a finished model, not a run to resume)');
  }
  if (training.command !== command) throw new FormatError(file, `was written by 'esm-kn ${training.command}', not '${command}'`);
  const st = await readSafetensorsFile(join(dir, OPTIMIZER_FILE));
  const optimizer = new Map<string, { m: Float32Array; v: Float32Array; steps: number }>();
  training.optimizer.names.forEach((name, i) => {
    const m = st.tensors.get(`m.${name}`)?.data;
    const v = st.tensors.get(`v.${name}`)?.data;
    if (!(m instanceof Float32Array) || !(v instanceof Float32Array)) throw new FormatError(join(dir, OPTIMIZER_FILE), `missing or non-f32 m/v for ${name}`);
    optimizer.set(name, { m, v, steps: training.optimizer.steps[i]! });
  });
  return { ckpt, training, optimizer };
}

/** The optimizer state for parameters in `names` order, from a LastCheckpoint (every name must be there). */
export function optimizerStateFor(names: readonly string[], saved: LastCheckpoint['optimizer'], file: string): AdamWState<Float32Array> {
  const missing = names.filter((n) => !saved.has(n));
  if (missing.length || saved.size !== names.length) {
    throw new FormatError(file, `optimizer state is for ${saved.size} parameters, the run trains ${names.length} (missing ${missing.slice(0, 3).join(', ') || 'none'})`);
  }
  const pick = names.map((n) => saved.get(n)!);
  return { steps: pick.map((p) => p.steps), m: pick.map((p) => p.m), v: pick.map((p) => p.v) };
}
