/**
 * A progress bar on stderr with rate and ETA. On a terminal it redraws one line; otherwise (CI, logs)
 * it prints a plain line at most every few seconds so logs stay readable.
 */

export interface ProgressOptions {
  /** Unit shown after the rate, e.g. "steps" or "seq". */
  readonly unit?: string;
  /** Minimum milliseconds between non-terminal lines. */
  readonly logEveryMs?: number;
  /** Silences output (tests, --quiet). */
  readonly quiet?: boolean;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
}

export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  private info = '';
  private drawnAt = -1;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly opts: ProgressOptions = {},
  ) {
    this.tty = Boolean((process.stderr as { isTTY?: boolean }).isTTY);
  }

  /** Advances by n and sets the trailing text (e.g. "loss 0.41"). */
  tick(n = 1, info?: string): void {
    this.done += n;
    if (info !== undefined) this.info = info;
    const now = Date.now();
    const every = this.tty ? 100 : (this.opts.logEveryMs ?? 5000);
    if (now - this.lastDraw >= every || this.done >= this.total) {
      this.lastDraw = now;
      this.draw();
    }
  }

  private draw(): void {
    if (this.opts.quiet || this.drawnAt === this.done) return;
    this.drawnAt = this.done;
    const elapsed = (Date.now() - this.start) / 1000;
    // Too early for a rate: a first item finishing within milliseconds would claim billions per second.
    const rate = elapsed >= 0.5 ? this.done / elapsed : NaN;
    const eta = (this.total - this.done) / rate;
    const frac = this.total ? Math.min(1, this.done / this.total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const unit = this.opts.unit ?? 'it';
    const rateText = Number.isFinite(rate) ? rate.toFixed(rate < 10 ? 2 : 0) : '--';
    const line = `${this.label} [${bar}] ${this.done}/${this.total} ${rateText} ${unit}/s ETA ${fmtTime(eta)} ${this.info}`;
    if (this.tty) process.stderr.write(`\r${line}\x1b[K`);
    else process.stderr.write(`${line}\n`);
  }

  /** Final line, with the elapsed time. */
  finish(info?: string): void {
    if (info !== undefined && info !== this.info) {
      this.info = info;
      this.drawnAt = -1;
    }
    this.draw();
    if (this.tty && !this.opts.quiet) process.stderr.write('\n');
  }

  /** Seconds since start. */
  get elapsed(): number {
    return (Date.now() - this.start) / 1000;
  }
}

/**
 * A (done, total) progress callback, as long-running library calls report, drawn as one bar that is
 * created on the first report and finished when done reaches total.
 */
export function progressBar(label: string, quiet: boolean, unit = 'seq'): (done: number, total: number) => void {
  let bar: Progress | null = null;
  let seen = 0;
  return (done, total) => {
    bar ??= new Progress(label, total, { unit, quiet });
    bar.tick(done - seen);
    seen = done;
    if (done === total) bar.finish();
  };
}

/** A (stage, done, total) callback with one `progressBar` per stage, labelled by the stage. */
export function stageBars(quiet: boolean, unitOf: (stage: string) => string, prefix = ''): (stage: string, done: number, total: number) => void {
  const bars = new Map<string, (done: number, total: number) => void>();
  return (stage, done, total) => {
    let b = bars.get(stage);
    if (!b) bars.set(stage, (b = progressBar(`${prefix}${stage}`, quiet, unitOf(stage))));
    b(done, total);
  };
}
