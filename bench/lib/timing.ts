/** Timing helpers shared by the benches: warm-up, N timed iterations with one sync, median of repeats. */

/** How long to measure: a few repeats of enough iterations to fill `minMs`. */
export interface TimingPlan {
  /** Untimed runs first (pipeline creation, pool warm-up, caches). */
  readonly warmup: number;
  /** Timed repeats; the median is reported. */
  readonly repeats: number;
  /** Each repeat runs at least this long (iterations are chosen from one run timed after the warm-up). */
  readonly minMs: number;
  /** Upper bound on iterations per repeat. */
  readonly maxIters: number;
}

/** The default plan: 2 warm-ups, median of 5 repeats of >= 300 ms each. */
export const DEFAULT_PLAN: TimingPlan = { warmup: 2, repeats: 5, minMs: 300, maxIters: 200 };

/** Wall and process CPU milliseconds per iteration (Node's process CPU time: lavapipe's threads too; NaN in a page). */
export interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/**
 * Process CPU milliseconds so far; NaN in a browser page (no process), where only wall time is kept.
 * The browser benches (bench/browser/) share these helpers.
 */
export function cpuMs(): number {
  const proc = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process;
  if (!proc?.cpuUsage) return Number.NaN;
  const c = proc.cpuUsage();
  return (c.user + c.system) / 1000;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/**
 * Milliseconds per iteration of `step`, the median over repeats. `step(i)` enqueues one iteration
 * (no sync); `sync()` waits for everything enqueued. Each repeat is: `iters` steps, then one sync.
 */
export async function timeIt(step: (i: number) => void, sync: () => Promise<void>, plan: TimingPlan = DEFAULT_PLAN): Promise<Timing> {
  for (let i = 0; i < plan.warmup; i++) step(i);
  await sync();
  // One calibration run after the warm-up (which paid for pipeline creation) picks the iteration count.
  let t = performance.now();
  step(0);
  await sync();
  const oneMs = Math.max(1e-3, performance.now() - t);
  const iters = Math.max(1, Math.min(plan.maxIters, Math.ceil(plan.minMs / oneMs)));
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < plan.repeats; r++) {
    const c0 = cpuMs();
    t = performance.now();
    for (let i = 0; i < iters; i++) step(i);
    await sync();
    wall.push((performance.now() - t) / iters);
    cpu.push((cpuMs() - c0) / iters);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}
