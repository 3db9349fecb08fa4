/**
 * What fine-tuning and pretraining share around the loop: their common options and checks, the
 * resolved schedule, seeds, provenance, and the call into trainLoop with its result.
 */
import { arch, cpus, platform } from 'node:os';
import { join } from 'node:path';
import { rt } from '../engine/index.js';
import { PRETRAIN_TASK_NAMES, type TaskName } from '../data/dataset.js';
import { mixSeed } from '../model/batching.js';
import { MAX_RESIDUES } from '../model/tokenizer.js';
import { type Backbone, type BackboneSpec, freshConfig } from './backbone.js';
import type { SplitData } from './data.js';
import { type LoopHooks, type TrainTask, stepsForEpochs, trainLoop } from './loop.js';
import { DECAYS, type Decay, type Schedule, checkSchedule, defaultWarmup } from './schedule.js';
import { BEST, CURVES_FILE, LAST, type EvalRecord, type LastCheckpoint, type TrainState, initialState, optimizerStateFor } from './state.js';
import { writeFileAtomic } from '../io/atomic.js';
import { FormatError } from '../io/errors.js';
import { loadSplitData } from './data.js';
import { OptionError } from './errors.js';

/** Options every training command has. All are plain JSON, stored in OUT/last for resuming. */
export interface CommonOptions {
  /** Run folder: OUT/last and OUT/best are written there. */
  readonly out: string;
  readonly backbone: BackboneSpec;
  /** Data file (TSV or labelled FASTA). */
  readonly data: string;
  readonly task: TaskName;
  readonly splitSeed: number;
  /** Seeds the fresh backbone, head init, data order, crops, masks and dropout (see runSeeds). */
  readonly seed: number;
  readonly lr: number;
  /** Warm-up updates; null for 6% of the run. */
  readonly warmupSteps: number | null;
  readonly decay: Decay;
  readonly weightDecay: number;
  /** Gradient-norm limit; 0 = no clipping. */
  readonly clip: number;
  /** Micro-batches per update. */
  readonly accum: number;
  readonly epochs: number;
  /** Updates in the run; when set it decides the length instead of epochs (data cycles as needed). */
  readonly maxSteps: number | null;
  /** Sequences per micro-batch, or (with tokensPerBatch) an upper bound; one of the two is set. */
  readonly batchSize: number | null;
  readonly tokensPerBatch: number | null;
  /** Residues kept per sequence (a random window in training, the first ones in evaluation). */
  readonly maxLength: number;
  /** Evaluate every N updates; 0 = every epoch. */
  readonly evalEvery: number;
  readonly saveEvery: number;
  /** Evaluations without improvement before stopping; 0 = never. */
  readonly patience: number;
}

/** Per-invocation settings that are not part of the run (a resume may change them). */
export interface RunControl {
  /** Stop after this many updates (saving OUT/last), keeping the full schedule. */
  readonly stopAfter?: number;
  readonly hooks?: LoopHooks;
  /** The command line, for provenance. */
  readonly commandLine?: readonly string[];
  /** Receives a few lines describing the run before it starts (data, backbone, schedule). */
  readonly log?: (line: string) => void;
  /**
   * Draws the run's learning curves (an SVG document) from its history and best step; with it, OUT/
   * learning_curves.svg is rewritten (atomically) after every evaluation, so a running job can be
   * watched. A failure to draw or write it is logged and training goes on.
   */
  readonly learningCurves?: (history: readonly EvalRecord[], bestStep: number | null) => string;
}

/** What a run returns. */
export interface RunResult {
  readonly out: string;
  readonly state: TrainState;
  readonly lastDir: string;
  /** OUT/best, or null when no evaluation has happened yet. */
  readonly bestDir: string | null;
  /** Real tokens per second of training time (evaluation and saving excluded), over the whole run. */
  readonly tokensPerSecond: number;
  readonly schedule: Schedule;
}

/** The seeds a run derives from its one --seed, independent streams for each use. */
export function runSeeds(seed: number): { init: number; head: number; data: number; dropout: number; validMasks: number } {
  return { init: seed, head: mixSeed(seed, 1), data: seed, dropout: mixSeed(seed, 2), validMasks: mixSeed(seed, 3) };
}

function intAtLeast(name: string, v: number | null, min: number): void {
  if (v !== null && (!Number.isInteger(v) || v < min)) throw new OptionError(`${name} must be an integer >= ${min}, got ${v}`);
}

/** Checks the common options; errors name the option. */
export function checkCommonOptions(o: CommonOptions): void {
  if (!PRETRAIN_TASK_NAMES.includes(o.task)) throw new OptionError(`task '${o.task}' is not one of ${PRETRAIN_TASK_NAMES.join(', ')}`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw new OptionError(`lr must be a positive number, got ${o.lr}`);
  if (!(o.weightDecay >= 0)) throw new OptionError(`weight-decay must be >= 0, got ${o.weightDecay}`);
  if (!(o.clip >= 0)) throw new OptionError(`clip must be >= 0 (0 turns clipping off), got ${o.clip}`);
  if (!DECAYS.includes(o.decay)) throw new OptionError(`decay '${o.decay}' is not one of ${DECAYS.join(', ')}`);
  for (const [name, v, min] of [
    ['seed', o.seed, 0], ['split-seed', o.splitSeed, 0], ['accum', o.accum, 1], ['epochs', o.epochs, 1], ['max-steps', o.maxSteps, 1],
    ['batch-size', o.batchSize, 1], ['tokens-per-batch', o.tokensPerBatch, 3], ['max-len', o.maxLength, 1], ['eval-every', o.evalEvery, 0],
    ['save-every', o.saveEvery, 0], ['patience', o.patience, 0], ['warmup', o.warmupSteps, 0],
  ] as const) intAtLeast(name, v, min);
  if (o.maxLength > MAX_RESIDUES) throw new OptionError(`max-len ${o.maxLength} is more than the ${MAX_RESIDUES} residues ESM-2 takes`);
  if (o.batchSize === null && o.tokensPerBatch === null) throw new OptionError('one of batch-size and tokens-per-batch must be set');
  if (o.tokensPerBatch !== null && o.tokensPerBatch < o.maxLength + 2) {
    throw new OptionError(`tokens-per-batch ${o.tokensPerBatch} cannot hold one sequence of max-len ${o.maxLength} (${o.maxLength + 2} tokens with <cls> and <eos>)`);
  }
  freshConfig(o.backbone);
}

/** Micro-batch formation of a run. */
export function runBatching(o: CommonOptions): { batchSize?: number; tokenBudget?: number; maxLength: number } {
  return { batchSize: o.batchSize ?? undefined, tokenBudget: o.tokensPerBatch ?? undefined, maxLength: o.maxLength };
}

/** The run's schedule: its length from maxSteps or epochs, warm-up defaulting to 6%. */
export function resolveSchedule(o: CommonOptions, task: Pick<TrainTask, 'batchesInEpoch'>): Schedule {
  const totalSteps = o.maxSteps ?? stepsForEpochs(task, o.epochs, o.accum);
  const s: Schedule = { lr: o.lr, warmupSteps: o.warmupSteps ?? defaultWarmup(totalSteps), totalSteps, decay: o.decay };
  checkSchedule(s);
  return s;
}

/** Provenance common to every checkpoint of a run, with the backbone checkpoint's own (backbone_provenance). */
export function runProvenance(command: string, o: CommonOptions, data: SplitData, backbone: Pick<Backbone, 'source' | 'lineage'>, control: RunControl): Record<string, unknown> {
  const s = runSeeds(o.seed);
  return {
    command,
    command_line: control.commandLine ?? null,
    seeds: { seed: o.seed, split_seed: o.splitSeed, init: s.init, head: s.head, data: s.data, dropout: s.dropout, valid_masks: s.validMasks },
    backbone: backbone.source,
    // The backbone checkpoint's own provenance (esm-kn checkpoints): every earlier stage, nested.
    backbone_provenance: backbone.lineage ?? null,
    data: { file: data.dataset.file, sha256: data.dataset.sha256, task: data.dataset.task, left_out: data.dataset.leftOut },
    split: {
      file: data.splitFile,
      method: data.splitFile ? 'committed split file' : `computed by makeSplit (stratified 80/10/10) with seed ${data.splitSeed}`,
      seed: data.splitSeed,
      counts: { train: data.parts.train.length, valid: data.parts.valid.length, test: data.parts.test.length },
    },
    machine: { platform: platform(), arch: arch(), cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version },
    adapter: rt().info.description,
    started_at: new Date().toISOString(),
  };
}

/** Lines that say what a run is about to do. */
function describeRun(task: TrainTask, schedule: Schedule, o: CommonOptions, prov: Record<string, unknown>, state: TrainState): string[] {
  const split = prov.split as { file: string | null; method: string; counts: Record<string, number> };
  const data = prov.data as { file: string; task: string; left_out: { count: number; reason: string }[] };
  const values = task.params.reduce((a, p) => a + p.tensor.size, 0);
  const batch = [o.batchSize !== null ? `${o.batchSize} sequences` : '', o.tokensPerBatch !== null ? `${o.tokensPerBatch} tokens` : ''].filter(Boolean).join(' or ');
  return [
    `data ${data.file}, task ${data.task}: train ${split.counts.train}, valid ${split.counts.valid}, test ${split.counts.test} (${split.file ?? split.method})`,
    ...data.left_out.map((l) => `  ${l.count} ${l.reason}`),
    `backbone ${String(prov.backbone)}; training ${task.params.length} tensors, ${values} values`,
    `${schedule.totalSteps} steps of ${o.accum} x at most ${batch} (max ${o.maxLength} residues), lr ${schedule.lr} ` +
      `(warm-up ${schedule.warmupSteps}, ${schedule.decay} decay), weight decay ${o.weightDecay}, clip ${o.clip || 'off'}` +
      (state.step ? `; resuming at step ${state.step}` : ''),
  ];
}

/** Options as stored in OUT/last: the run's options with the schedule they resolved to. */
export type StoredOptions<O> = O & { readonly resolvedSchedule: Schedule };

/** Where a resumed run continues from (see reopenRun). */
export interface ResumePoint {
  readonly state: TrainState;
  readonly schedule: Schedule;
  readonly optimizer: LastCheckpoint['optimizer'];
  /** The checkpoint folder, for error messages. */
  readonly file: string;
}

/** The loop's hooks with control.learningCurves writing OUT/learning_curves.svg after each evaluation. */
function hooksWithCurves(out: string, control: RunControl): LoopHooks | undefined {
  const draw = control.learningCurves;
  if (!draw) return control.hooks;
  const file = join(out, CURVES_FILE);
  return {
    ...control.hooks,
    async afterEval(state) {
      await control.hooks?.afterEval?.(state);
      try {
        await writeFileAtomic(file, [new TextEncoder().encode(draw(state.history, state.best?.step ?? null))]);
      } catch (e) {
        control.log?.(`${file} not written: ${(e as Error).message}`);
      }
    },
  };
}

/** Runs the loop for a task, from the start or from a resume point, and returns the run's result. */
export async function runTask<O extends CommonOptions>(
  command: string,
  task: TrainTask,
  options: O,
  provenance: Record<string, unknown>,
  resume: ResumePoint | null,
  control: RunControl,
): Promise<RunResult> {
  const schedule = resume?.schedule ?? resolveSchedule(options, task);
  const state = resume?.state ?? initialState();
  const optimizer = resume ? optimizerStateFor(task.params.map((p) => p.name), resume.optimizer, resume.file) : null;
  describeRun(task, schedule, options, provenance, state).forEach((l) => control.log?.(l));
  const final = await trainLoop(task, {
    out: options.out, schedule, accum: options.accum, clip: options.clip,
    epochs: options.maxSteps === null ? options.epochs : null,
    evalEvery: options.evalEvery, saveEvery: options.saveEvery, patience: options.patience, stopAfter: control.stopAfter,
  }, { command, options: { ...options, resolvedSchedule: schedule }, provenance }, state, optimizer, hooksWithCurves(options.out, control));
  return {
    out: options.out,
    state: final,
    lastDir: join(options.out, LAST),
    bestDir: final.best ? join(options.out, BEST) : null,
    tokensPerSecond: final.tokens / Math.max(final.trainSeconds, 1e-9),
    schedule,
  };
}

/** Loads a new run's data and split; the validation part must not be empty (`needs` says why). */
export async function loadRunData(o: CommonOptions, needs: string): Promise<SplitData> {
  const data = await loadSplitData(o.data, o.task, o.splitSeed);
  if (!data.parts.valid.length) {
    throw new FormatError(o.data, `the validation split of task ${o.task} is empty (${data.dataset.records.length} records): ${needs} needs validation records`);
  }
  return data;
}

/** A run reopened from OUT/last: its options (out replaced), data (checked unchanged) and provenance. */
export interface ReopenedRun<O> {
  readonly options: O;
  readonly data: SplitData;
  /** The stored provenance with this resume appended to its "resumes" list. */
  readonly provenance: Record<string, unknown>;
  readonly resume: ResumePoint;
}

/** Reloads a saved run's data and checks that its content hash is the one the run started with. */
export async function reopenRun<O extends CommonOptions>(last: LastCheckpoint<StoredOptions<O>>, out: string, control: RunControl): Promise<ReopenedRun<O>> {
  const options = { ...last.training.options, out };
  const prov = (last.ckpt.meta.provenance ?? {}) as Record<string, unknown>;
  const data = await loadSplitData(options.data, options.task, options.splitSeed);
  const sha = (prov.data as { sha256?: string } | undefined)?.sha256;
  if (sha !== data.dataset.sha256) {
    throw new FormatError(options.data, `content changed since the run started (sha256 ${data.dataset.sha256.slice(0, 12)}..., the run used ${String(sha).slice(0, 12)}...)`);
  }
  const resumes = [...((prov.resumes as unknown[] | undefined) ?? []), { at: new Date().toISOString(), step: last.training.state.step, command_line: control.commandLine ?? null }];
  const resume = { state: last.training.state, schedule: last.training.options.resolvedSchedule, optimizer: last.optimizer, file: last.ckpt.path };
  return { options, data, provenance: { ...prov, resumes }, resume };
}
