/**
 * Per-kernel GPU timings from timestamp queries (ESMKN_PROFILE=1, or `rt().profiler` set by code).
 * While profiling, every dispatch runs in its own compute pass whose begin and end timestamps go to a
 * query set; at each submit the set is resolved and read back asynchronously, so the totals are ready
 * after the next sync point. Profiling serialises passes: use it to compare kernels, not to time
 * whole runs.
 */

const CAPACITY = 2048; // dispatches per submit while profiling (two queries each)

/** Totals per kernel label. */
export interface KernelTime {
  readonly label: string;
  readonly count: number;
  readonly ms: number;
}

export class Profiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private labels: string[] = [];
  private readonly totals = new Map<string, { count: number; ns: number }>();
  private pending: Promise<void>[] = [];

  /** `track` wraps each readback promise (the runtime's host-wait throttle). */
  constructor(
    private readonly device: GPUDevice,
    private readonly track: (p: Promise<void>) => Promise<void> = (p) => p,
  ) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * CAPACITY, label: 'profiler' });
    this.resolve = device.createBuffer({
      size: 16 * CAPACITY,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      label: 'profiler-resolve',
    });
  }

  /** True when the query set is full and the batch must be submitted first. */
  get full(): boolean {
    return this.labels.length >= CAPACITY;
  }

  /** Timestamp writes for the pass of the next dispatch, labelled `label`. */
  pass(label: string): GPUComputePassTimestampWrites {
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Records the resolve and the copy to a readable buffer at the end of a batch's encoder. */
  finishBatch(encoder: GPUCommandEncoder): (() => void) | null {
    const n = this.labels.length;
    if (!n) return null;
    const labels = this.labels;
    this.labels = [];
    const staging = this.device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'profiler-staging' });
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolve, 0);
    encoder.copyBufferToBuffer(this.resolve, 0, staging, 0, 16 * n);
    // Called after submit: map and accumulate when the GPU is done.
    return () => {
      this.pending.push(
        this.track(staging.mapAsync(GPUMapMode.READ)).then(() => {
          const t = new BigUint64Array(staging.getMappedRange());
          labels.forEach((label, i) => {
            const ns = Number(t[2 * i + 1]! - t[2 * i]!);
            const e = this.totals.get(label) ?? { count: 0, ns: 0 };
            e.count++;
            e.ns += Math.max(0, ns);
            this.totals.set(label, e);
          });
          staging.destroy();
        }, () => staging.destroy()),
      );
    };
  }

  /** Totals so far, slowest first (waits for outstanding readbacks). */
  async report(): Promise<KernelTime[]> {
    await Promise.all(this.pending);
    this.pending = [];
    return [...this.totals].map(([label, e]) => ({ label, count: e.count, ms: e.ns / 1e6 })).sort((a, b) => b.ms - a.ms);
  }

  /** A printable table of `report()`. */
  async table(): Promise<string> {
    const rows = await this.report();
    const total = rows.reduce((s, r) => s + r.ms, 0);
    return rows.map((r) => `${r.ms.toFixed(2).padStart(10)} ms ${((100 * r.ms) / Math.max(total, 1e-9)).toFixed(1).padStart(5)}% ${String(r.count).padStart(7)}x  ${r.label}`).join('\n');
  }
}
