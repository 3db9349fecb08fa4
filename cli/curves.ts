/**
 * `esm-kn curves RUN [RUN ...] --out FILE.svg`: the learning curves of training runs (cli/report/
 * curves.ts draws them) from the evaluation history their checkpoints keep.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PROJECT_JSON } from '../model/checkpoint/node.js';
import { BEST, LAST, type EvalRecord } from '../train/state.js';
import { writeFileAtomic } from '../io/atomic.js';
import { FormatError } from '../io/errors.js';
import { UsageError, numOption, parseArgs } from './args.js';
import { type CurveRun, type RunKind, learningCurvesSvg } from './report/curves.js';

export const CURVES_USAGE = `esm-kn curves RUN [RUN ...] --out FILE.svg [--label NAME ...] [--title T] [--stages]
                 [--reference-perplexity X [--reference-label TEXT]]
  Learning curves of finetune or pretrain runs as one SVG: training and validation loss, and validation
  macro-F1 and accuracy (finetune) or perplexity (pretrain) against the step (epochs under it), one
  colour per run, the best step ringed. RUN: a run folder (its last/ or best/ checkpoint, whichever
  holds the later history) or a checkpoint folder with the history (an esm-kn.json from best/).
  --label names the runs in the legend (one per RUN; default: the folder names). Fine-tuning and
  pretraining runs cannot be drawn together (their panels differ). --reference-perplexity draws a
  horizontal line in the perplexity panel (e.g. the unigram perplexity), labelled --reference-label
  (default 'reference'). --stages draws the runs as successive stages of one recipe (a second
  finetune from the first's checkpoint): each run's steps and epochs continue from the end of the
  run before it (its last evaluated step and epoch).`;

/** A run's history as read from its folder, with where it came from. */
export interface RunHistory {
  readonly kind: RunKind;
  readonly history: EvalRecord[];
  readonly bestStep: number | null;
  /** The esm-kn.json the history was read from. */
  readonly file: string;
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FormatError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const j = JSON.parse(text) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error('not an object');
    return j as Record<string, unknown>;
  } catch (e) {
    throw new FormatError(file, `is not a JSON object (${(e as Error).message})`);
  }
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The history in one esm-kn.json: training.state.history (last/) or history (best/), each record with
 * a numeric step, epoch and train_loss; the kind from the writing command, else from the metrics.
 * Returns null for a checkpoint without any history (a model that was not trained by esm-kn).
 */
function historyOf(file: string): RunHistory | null {
  const j = readJson(file);
  const training = j.training as { command?: unknown; state?: { history?: unknown; best?: { step?: unknown } | null } } | undefined;
  const raw = training?.state?.history ?? j.history;
  if (raw === undefined) return null;
  if (!Array.isArray(raw)) throw new FormatError(file, 'has a training history that is not a list');
  raw.forEach((r: unknown, i) => {
    const rec = r as Record<string, unknown> | null;
    if (!rec || typeof rec !== 'object' || !isNum(rec.step) || !isNum(rec.epoch) || !isNum(rec.train_loss)) {
      throw new FormatError(file, `training history record ${i} lacks a numeric step, epoch or train_loss`);
    }
  });
  const history = raw as EvalRecord[];
  const command = training?.command ?? (j.provenance as { command?: unknown } | undefined)?.command;
  const kind: RunKind | null = command === 'finetune' || command === 'pretrain' ? command
    : history.some((h) => 'perplexity' in h) ? 'pretrain' : history.some((h) => 'macro_f1' in h) ? 'finetune' : null;
  if (!kind && history.length) throw new FormatError(file, 'has a training history with neither macro_f1 nor perplexity: not a finetune or pretrain run');
  const best = training?.state?.best?.step ?? (j.metrics as { step?: unknown } | undefined)?.step;
  return { kind: kind ?? 'finetune', history, bestStep: isNum(best) ? best : null, file };
}

/**
 * Reads a run's history: from RUN/last/esm-kn.json and RUN/best/esm-kn.json, the one whose history
 * reaches the later step (last/ lags best/ between saves; ties go to last/), with the best step from
 * best/ when it exists (it is rewritten at every new best); else from RUN/esm-kn.json. Errors are
 * FormatErrors naming RUN or the file.
 */
export function readRunHistory(run: string): RunHistory {
  if (!existsSync(run)) throw new FormatError(run, 'no such run folder');
  if (!statSync(run).isDirectory()) throw new FormatError(run, `is a file, not a run folder (give the folder holding ${LAST}/, ${BEST}/ or ${PROJECT_JSON})`);
  const files = [join(run, LAST, PROJECT_JSON), join(run, BEST, PROJECT_JSON)].filter((f) => existsSync(f));
  if (!files.length && existsSync(join(run, PROJECT_JSON))) files.push(join(run, PROJECT_JSON));
  if (!files.length) throw new FormatError(run, `no ${LAST}/${PROJECT_JSON}, ${BEST}/${PROJECT_JSON} or ${PROJECT_JSON}: not a run folder`);
  const found = files.map(historyOf);
  const withHistory = found.filter((h): h is RunHistory => h !== null);
  if (!withHistory.length) throw new FormatError(found.length > 1 ? run : files[0]!, 'has no training history: not written by esm-kn finetune or pretrain');
  const lastStep = (h: RunHistory) => h.history[h.history.length - 1]?.step ?? -1;
  const pick = withHistory.reduce((a, b) => (lastStep(b) > lastStep(a) ? b : a));
  if (!pick.history.length) throw new FormatError(pick.file, 'has an empty training history: no evaluation yet');
  const best = withHistory.find((h) => h.file.endsWith(join(BEST, PROJECT_JSON)));
  return { ...pick, bestStep: best?.bestStep ?? pick.bestStep };
}

/**
 * Histories as successive stages: run i's steps and epochs shifted by the sums of the last evaluated
 * step and epoch of runs 0..i-1 (its best step too). This draws each stage as starting where the one
 * before ended; a stage that started from an earlier best checkpoint of the one before is drawn after
 * that stage's end all the same (say so in the caption or the card).
 */
export function chainStages(runs: readonly CurveRun[]): CurveRun[] {
  let step = 0;
  let epoch = 0;
  return runs.map((r) => {
    const shifted: CurveRun = {
      ...r,
      history: r.history.map((h) => ({ ...h, step: h.step + step, epoch: h.epoch + epoch })),
      bestStep: r.bestStep === null ? null : r.bestStep + step,
    };
    step += Math.max(0, ...r.history.map((h) => h.step));
    epoch += Math.max(0, ...r.history.map((h) => h.epoch));
    return shifted;
  });
}

/** The default legend name of a run folder: its name, with its parent's for a last/ or best/ folder. */
function defaultLabel(run: string): string {
  const abs = resolve(run);
  const name = basename(abs);
  return name === LAST || name === BEST ? `${basename(dirname(abs))}/${name}` : name;
}

/** Runs the command. */
export async function curvesCommand(argv: readonly string[]): Promise<void> {
  const cmd = 'curves';
  const p = parseArgs(argv, {
    out: { kind: 'value' }, label: { kind: 'list' }, title: { kind: 'value' }, stages: { kind: 'flag' },
    'reference-perplexity': { kind: 'value' }, 'reference-label': { kind: 'value' },
  }, cmd);
  if (!p.positional.length) throw new UsageError(`${cmd}: needs at least one RUN folder (esm-kn curves --help shows the usage)`);
  const out = p.values.get('out');
  if (!out) throw new UsageError(`${cmd}: --out FILE.svg is required`);
  const labels = p.lists.get('label') ?? p.positional.map(defaultLabel);
  if (labels.length !== p.positional.length) throw new UsageError(`${cmd}: --label gives ${labels.length} names for ${p.positional.length} runs (one per RUN, in order)`);
  const reference = p.values.has('reference-perplexity') ? numOption(p, 'reference-perplexity', 0, cmd) : null;
  if (reference !== null && !(reference > 0)) throw new UsageError(`${cmd}: --reference-perplexity must be a positive number, got ${reference}`);
  if (p.values.has('reference-label') && reference === null) throw new UsageError(`${cmd}: --reference-label needs --reference-perplexity`);

  const histories = p.positional.map(readRunHistory);
  const kinds = new Set(histories.map((h) => h.kind));
  if (kinds.size > 1) {
    const which = histories.map((h, i) => `${labels[i]}: ${h.kind}`).join(', ');
    throw new UsageError(`${cmd}: cannot draw finetune and pretrain runs together, their panels differ (${which}); draw them separately`);
  }
  const kind = histories[0]!.kind;
  if (reference !== null && kind !== 'pretrain') throw new UsageError(`${cmd}: --reference-perplexity is for pretrain runs (these are ${kind} runs, without a perplexity panel)`);
  const drawn: CurveRun[] = histories.map((h, i) => ({ label: labels[i]!, kind: h.kind, history: h.history, bestStep: h.bestStep }));
  const runs = p.flags.has('stages') ? chainStages(drawn) : drawn;
  const svg = learningCurvesSvg(runs, {
    title: p.values.get('title'),
    referencePerplexity: reference === null ? null : { value: reference, label: p.values.get('reference-label') ?? 'reference' },
    caption: `From ${histories.map((h, i) => `${labels[i]}: ${h.file} (${h.history.length} evaluations)`).join('; ')}.`,
  });
  await writeFileAtomic(out, [new TextEncoder().encode(svg)]);
  const points = histories.reduce((a, h) => a + h.history.length, 0);
  console.log(`curves: wrote ${out} (${runs.length} ${kind} run${runs.length > 1 ? 's' : ''}, ${points} evaluations)`);
}
