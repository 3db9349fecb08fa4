/**
 * The training loop shared by fine-tuning and MLM pretraining: gradient accumulation, the learning-rate
 * schedule, gradient clipping, AdamW, evaluation every epoch or every N updates, early stopping, and
 * checkpoints to OUT/last (resumable) and OUT/best.
 *
 * A step records every micro-batch's forward and backward, the clipping and the update into one
 * command stream, then reads back one number, the loss. That read is started right after the step is
 * recorded but awaited only after the next step is recorded, so the CPU records step k + 1 while the
 * device runs step k. Micro-batch losses are sums scaled by 1 / (total weight of the update's
 * micro-batches), computed on the host, so an update over A micro-batches equals one over their union.
 */
import { type Tensor, AdamW, type AdamWState, add, backward, clearTape, clipGradNorm, noGrad, scale, tidy } from '../engine/index.js';
import type { ProjectCheckpoint } from '../model/checkpoint/node.js';
import type { NamedParam } from './backbone.js';
import { type Schedule, lrAt } from './schedule.js';
import { type TrainState, type TrainingRecord, saveBest, saveLast } from './state.js';

/** Host side of one micro-batch. */
export interface MicroBatch {
  /** The loss's denominator share: examples (or their class weights) or masked positions. */
  readonly weight: number;
  /** Real tokens (padding excluded), for throughput. */
  readonly tokens: number;
}

/** What a task reports from one evaluation. */
export interface EvalOutcome {
  /** Higher is better (macro-F1; negative perplexity for MLM). */
  readonly score: number;
  /** Scalars for the run's history and the progress log. */
  readonly scalars: Readonly<Record<string, number>>;
  /** Everything written with the best checkpoint (may hold per-class tables). */
  readonly metrics: Readonly<Record<string, unknown>>;
  /** One line for the log. */
  readonly summary: string;
}

/** A task the loop trains. */
export interface TrainTask<M extends MicroBatch = MicroBatch> {
  /** Trainable parameters with their weight decay and lr multiplier, in a fixed order (the optimizer state's). */
  readonly params: readonly NamedParam[];
  /** Micro-batches in the plan of `epoch` (plans are pure functions of the seed and epoch). */
  batchesInEpoch(epoch: number): number;
  /** Builds micro-batch `index` of `epoch` on the host. */
  microBatch(epoch: number, index: number): M;
  /** Records the forward pass and the summed loss (a scalar that requires grad) of one micro-batch. */
  loss(batch: M, step: number, micro: number): Tensor;
  /** Evaluates on the validation records. */
  evaluate(): Promise<EvalOutcome>;
  /** The model (and head) on the host, with the task's metadata (a sync point). */
  snapshot(): Promise<ProjectCheckpoint>;
}

/** How the loop runs. */
export interface LoopConfig {
  readonly out: string;
  readonly schedule: Schedule;
  /** Micro-batches per update. */
  readonly accum: number;
  /** Global gradient-norm limit; 0 turns clipping off. */
  readonly clip: number;
  /** Epochs of data, or null to cycle through epochs until the schedule's total steps. */
  readonly epochs: number | null;
  /** Evaluate every N updates; 0 = at the end of every epoch. The last update is always evaluated. */
  readonly evalEvery: number;
  /** Save OUT/last every N updates (0 = only at the end). */
  readonly saveEvery: number;
  /** Stop after this many evaluations without a better score (0 = never). */
  readonly patience: number;
  /** Stop (saving OUT/last) once this many updates are done, keeping the full schedule (resume continues). */
  readonly stopAfter?: number;
}

/** Per-update report, delivered when the update's loss has been read. */
export interface StepInfo {
  readonly step: number;
  readonly totalSteps: number;
  /** Epochs done, fractional (1.5 = half-way through the second). */
  readonly epoch: number;
  readonly loss: number;
  readonly lr: number;
  /** Real tokens per second of training time in this session. */
  readonly tokensPerSecond: number;
}

/** Callbacks for progress and logging (the CLI draws a progress bar with them). */
export interface LoopHooks {
  /** Before the first update of this session (step > 0 when resuming). */
  onStart?(info: { readonly step: number; readonly totalSteps: number }): void;
  onStep?(info: StepInfo): void;
  onEval?(record: TrainState['history'][number], outcome: EvalOutcome, isBest: boolean): void;
  /**
   * After each evaluation (and its best/ checkpoint), awaited before training goes on: the run's
   * state with the new history record (the learning curves are written here). It must not change it.
   */
  afterEval?(state: Readonly<TrainState>): Promise<void>;
}

/** Run-level metadata the loop writes into checkpoints. */
export interface RunRecord<O> {
  readonly command: string;
  readonly options: O;
  /** Provenance for the JSON files; the loop adds wall time and step. */
  readonly provenance: Record<string, unknown>;
}

/** Number of micro-batches in `epochs` epochs, as updates of `accum` (the last one may be short). */
export function stepsForEpochs(task: Pick<TrainTask, 'batchesInEpoch'>, epochs: number, accum: number): number {
  let micro = 0;
  for (let e = 0; e < epochs; e++) micro += task.batchesInEpoch(e);
  return Math.ceil(micro / accum);
}

interface Pending {
  readonly step: number;
  readonly lr: number;
  readonly value: Promise<number>;
  readonly tensor: Tensor;
}

/**
 * Trains until the schedule's last step, early stopping or `stopAfter`, mutating and returning `state`
 * (pass a loaded state and optimizer state to resume).
 */
export async function trainLoop<O>(
  task: TrainTask,
  cfg: LoopConfig,
  run: RunRecord<O>,
  state: TrainState,
  resumeOptimizer: AdamWState<Float32Array> | null,
  hooks: LoopHooks = {},
): Promise<TrainState> {
  const T = cfg.schedule.totalSteps;
  const tensors = task.params.map((p) => p.tensor);
  const opt = new AdamW(task.params.map((p) => ({ param: p.tensor, weightDecay: p.weightDecay, lrScale: p.lrScale })));
  if (resumeOptimizer) opt.loadState(resumeOptimizer);
  const sessionStart = performance.now();
  const wallBefore = state.wallSeconds;
  let sessionTokens = 0;
  let sessionTrain = 0;
  let pending: Pending | null = null;
  const epochsDone = (): number => state.epoch + state.batch / task.batchesInEpoch(state.epoch);

  const settle = async (): Promise<void> => {
    if (!pending) return;
    const p = pending;
    pending = null;
    const loss = await p.value;
    p.tensor.dispose();
    if (!Number.isFinite(loss)) throw new Error(`training diverged: the loss of step ${p.step + 1} is ${loss} (try a lower --lr or --clip)`);
    state.lossSum += loss;
    state.lossCount++;
    hooks.onStep?.({ step: p.step + 1, totalSteps: T, epoch: epochsDone(), loss, lr: p.lr, tokensPerSecond: sessionTokens / Math.max(sessionTrain, 1e-9) });
  };
  const provenance = (): Record<string, unknown> => ({
    ...run.provenance,
    step: state.step,
    wall_seconds: state.wallSeconds,
    train_tokens: state.tokens,
    train_tokens_per_second: state.tokens / Math.max(state.trainSeconds, 1e-9),
  });
  // The weights read back by an evaluation that saved a best checkpoint, kept until the same step's
  // save (often the same step: the last one, or evaluation and save intervals that meet) so that the
  // weights are not read back twice; dropped at the next step.
  let snapshotOfStep: { step: number; ckpt: ProjectCheckpoint } | null = null;
  const save = async (): Promise<void> => {
    await settle();
    state.wallSeconds = wallBefore + (performance.now() - sessionStart) / 1000;
    const ckpt = snapshotOfStep?.step === state.step ? snapshotOfStep.ckpt : await task.snapshot();
    snapshotOfStep = null;
    const optState = await opt.exportState();
    const training: TrainingRecord<O> = {
      command: run.command, options: run.options, state,
      optimizer: { names: task.params.map((p) => p.name), steps: optState.steps },
    };
    await saveLast(cfg.out, { ...ckpt, meta: { ...ckpt.meta, provenance: provenance() } }, training, optState);
  };
  const evaluate = async (): Promise<void> => {
    await settle();
    const outcome = await task.evaluate();
    const record = { step: state.step, epoch: epochsDone(), train_loss: state.lossSum / Math.max(state.lossCount, 1), ...outcome.scalars };
    state.history.push(record);
    state.lossSum = 0;
    state.lossCount = 0;
    const isBest = state.best === null || outcome.score > state.best.score;
    if (isBest) {
      state.best = { score: outcome.score, step: state.step };
      state.evalsSinceBest = 0;
      state.wallSeconds = wallBefore + (performance.now() - sessionStart) / 1000;
      const ckpt = await task.snapshot();
      snapshotOfStep = { step: state.step, ckpt };
      await saveBest(cfg.out, { ...ckpt, meta: { ...ckpt.meta, metrics: { step: state.step, epoch: epochsDone(), ...outcome.metrics }, history: state.history, provenance: provenance() } });
    } else state.evalsSinceBest++;
    hooks.onEval?.(record, outcome, isBest);
    await hooks.afterEval?.(state);
  };

  hooks.onStart?.({ step: state.step, totalSteps: T });
  try {
    while (!state.done && state.step < T && (cfg.stopAfter === undefined || state.step < cfg.stopAfter)) {
      snapshotOfStep = null;
      const t0 = performance.now();
      const epochBefore = state.epoch;
      const micro: ReturnType<TrainTask['microBatch']>[] = [];
      while (micro.length < cfg.accum && (cfg.epochs === null || state.epoch < cfg.epochs)) {
        micro.push(task.microBatch(state.epoch, state.batch));
        if (++state.batch >= task.batchesInEpoch(state.epoch)) {
          state.epoch++;
          state.batch = 0;
        }
      }
      if (!micro.length) throw new Error(`the data ran out at step ${state.step} of ${T}: the schedule and the epochs disagree`);
      const weight = micro.reduce((a, m) => a + m.weight, 0);
      const step = state.step;
      const lr = lrAt(cfg.schedule, step);
      const loss = tidy(() => {
        let total: Tensor | null = null;
        micro.forEach((mb, i) => {
          const l = scale(task.loss(mb, step, i), weight > 0 ? 1 / weight : 0); // ()
          backward(l);
          const prev: Tensor | null = total;
          total = prev ? noGrad(() => add(prev, l)) : l;
        });
        if (cfg.clip > 0) clipGradNorm(tensors, cfg.clip);
        opt.step(lr);
        opt.zeroGrad();
        return total!;
      });
      const value = loss.item(); // submits this step; awaited after the next one is recorded
      state.step++;
      const tokens = micro.reduce((a, m) => a + m.tokens, 0);
      await settle();
      pending = { step, lr, value, tensor: loss };
      const dt = (performance.now() - t0) / 1000;
      state.tokens += tokens;
      state.trainSeconds += dt;
      sessionTokens += tokens;
      sessionTrain += dt;

      const final = state.step === T;
      const endOfEpoch = state.epoch > epochBefore;
      if (final || (cfg.evalEvery > 0 ? state.step % cfg.evalEvery === 0 : endOfEpoch)) await evaluate();
      if (cfg.patience > 0 && state.evalsSinceBest >= cfg.patience) {
        state.done = true;
        state.stopReason = `early stop: no better validation score in ${cfg.patience} evaluations (best at step ${state.best?.step})`;
      } else if (final) {
        state.done = true;
        state.stopReason = `finished ${T} steps`;
      }
      if (state.done || (cfg.saveEvery > 0 && state.step % cfg.saveEvery === 0) || state.step === cfg.stopAfter) await save();
    }
    await settle();
  } finally {
    if (pending) (pending as Pending).tensor.dispose();
    // After an error mid-step the tape may hold the step's nodes; drop them with what they saved.
    clearTape();
    opt.dispose();
  }
  return state;
}
