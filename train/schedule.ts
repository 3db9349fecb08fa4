/**
 * Learning-rate schedules: linear warm-up, then linear or cosine decay (or none). Pure code.
 *
 * Steps count optimizer updates from 0. Warm-up is 1-based, lr * (s + 1) / W for s < W, so the first
 * update already moves the weights (Hugging Face's get_linear_schedule_with_warmup gives update 0 a
 * learning rate of 0, which wastes it). Decay follows Hugging Face: after warm-up the factor falls from
 * 1 at s = W towards 0 at s = T, and the last update (s = T - 1) still gets a non-zero rate.
 */
import { OptionError } from './errors.js';

/** Shape of the decay after warm-up. */
export type Decay = 'linear' | 'cosine' | 'constant';

/** The decays, in help-text order. */
export const DECAYS: readonly Decay[] = ['linear', 'cosine', 'constant'];

/** A schedule over a whole run. */
export interface Schedule {
  /** Peak learning rate, reached at the end of warm-up. */
  readonly lr: number;
  /** W: updates of linear warm-up (0 for none). */
  readonly warmupSteps: number;
  /** T: updates in the whole run. */
  readonly totalSteps: number;
  readonly decay: Decay;
}

/** Default warm-up: 6% of the run (RoBERTa's and many ESM fine-tuning recipes' share). */
export function defaultWarmup(totalSteps: number): number {
  return Math.round(0.06 * totalSteps);
}

/** Checks a schedule, throwing an error that names the bad field. */
export function checkSchedule(s: Schedule): void {
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw new OptionError(`learning rate ${s.lr} must be a positive number`);
  if (!Number.isInteger(s.totalSteps) || s.totalSteps < 1) throw new OptionError(`total steps ${s.totalSteps} must be a positive integer`);
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0 || s.warmupSteps > s.totalSteps) {
    throw new OptionError(`warm-up of ${s.warmupSteps} steps must be an integer in [0, ${s.totalSteps}] (the run's total steps)`);
  }
  if (!DECAYS.includes(s.decay)) throw new OptionError(`decay '${String(s.decay)}' is not one of ${DECAYS.join(', ')}`);
}

/** The learning rate of update `step` (0-based). */
export function lrAt(s: Schedule, step: number): number {
  const { lr, warmupSteps: W, totalSteps: T } = s;
  if (step < W) return (lr * (step + 1)) / W;
  if (s.decay === 'constant' || T <= W) return lr;
  const progress = Math.min(1, (step - W) / (T - W)); // 0 at the end of warm-up, 1 at T
  const factor = s.decay === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return lr * Math.max(0, factor);
}
