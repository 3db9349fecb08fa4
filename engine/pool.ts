/**
 * Size-bucketed, capped pool of storage buffers.
 *
 * A released buffer is not reusable at once: commands already recorded in the current (unsubmitted)
 * encoder may still read or write it. Releases therefore wait in `pending` until the runtime submits
 * that encoder; queue ordering then guarantees any later use happens after those commands.
 */

/** Usage shared by every pooled buffer: bound as storage, copied to and from. */
export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */

/** Byte counts the pool reports; tests assert on `liveBytes`. */
export interface PoolStats {
  /** Bytes in buffers handed out and not yet released. */
  liveBytes: number;
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  /** Bytes held in free lists (and waiting for submit). */
  cachedBytes: number;
  /** Bytes of every buffer the pool has created and not destroyed. */
  totalBytes: number;
}

/**
 * Rounds a request up to its bucket: powers of two up to 4 KiB, then four buckets per octave,
 * so at most 25% of a large buffer is slack.
 */
export function bucketSize(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 4) * 4);
  if (b <= 4096) return 2 ** Math.ceil(Math.log2(b));
  const octave = 2 ** Math.floor(Math.log2(b));
  const step = octave / 4;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private readonly sizeOf = new WeakMap<GPUBuffer, number>();
  private stats: PoolStats = { liveBytes: 0, liveBuffers: 0, cachedBytes: 0, totalBytes: 0 };
  private serial = 0;

  /** @param capBytes most bytes kept in free lists; beyond it released buffers are destroyed. */
  constructor(
    private readonly device: GPUDevice,
    private readonly capBytes = 512 * 2 ** 20,
  ) {}

  /** A buffer of at least `bytes`, labelled for error messages. */
  acquire(bytes: number, label: string): GPUBuffer {
    const size = bucketSize(bytes);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.stats.cachedBytes -= size;
      buf.label = label;
    } else {
      buf = this.device.createBuffer({ size, usage: STORAGE_USAGE, label: `${label}#${this.serial++}` });
      this.sizeOf.set(buf, size);
      this.stats.totalBytes += size;
    }
    this.stats.liveBytes += size;
    this.stats.liveBuffers += 1;
    return buf;
  }

  /** Returns a buffer; it becomes reusable after the next submit. */
  release(buf: GPUBuffer): void {
    const size = this.sizeOf.get(buf);
    if (size === undefined) throw new Error(`buffer "${buf.label}" does not belong to this pool`);
    this.stats.liveBytes -= size;
    this.stats.liveBuffers -= 1;
    this.stats.cachedBytes += size;
    this.pending.push(buf);
  }

  /** Called by the runtime right after a submit: pending releases become reusable. */
  onSubmit(): void {
    for (const buf of this.pending) {
      const size = this.sizeOf.get(buf)!;
      let list = this.free.get(size);
      if (!list) this.free.set(size, (list = []));
      list.push(buf);
    }
    this.pending = [];
    this.trim(this.capBytes);
  }

  /** Destroys free buffers, largest first, until at most `keepBytes` are cached. */
  trim(keepBytes = 0): void {
    if (this.stats.cachedBytes <= keepBytes) return;
    const sizes = [...this.free.keys()].sort((a, b) => b - a);
    for (const size of sizes) {
      const list = this.free.get(size)!;
      while (list.length && this.stats.cachedBytes > keepBytes) {
        list.pop()!.destroy();
        this.stats.cachedBytes -= size;
        this.stats.totalBytes -= size;
      }
    }
  }

  /** A snapshot of the counters. */
  snapshot(): PoolStats {
    return { ...this.stats };
  }
}
