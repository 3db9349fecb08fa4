/**
 * The runtime: pipelines, buffers, and command recording for one device.
 *
 * - Pipelines are created once per kernel spec (kernel.ts) and cached by its key.
 * - Dispatches go into one compute pass of one command encoder; the encoder is submitted at sync
 *   points (reads, explicit flush) or when the uniform arena fills.
 * - Uniforms of all dispatches in a batch share one arena buffer, written once just before submit.
 *   Reusing it for the next batch is safe: that write is queued after the previous submit.
 * - Errors: every batch runs inside validation and out-of-memory error scopes; the first error is
 *   thrown at the next sync point, naming the kernels of that batch. Device loss rejects every wait.
 * - Every promise the device hands out goes through `waits` (host_wait.ts), so that waiting on it in
 *   Node sleeps instead of spinning a core.
 */
import type { DeviceInfo, GpuContext } from './device.js';
import { type KernelSpec, kernelKey, kernelLabel } from './kernel.js';
import { HostWaits } from './host_wait.js';
import { BufferPool } from './pool.js';
import { Profiler } from './profiler.js';

const ARENA_BYTES = 64 * 1024;

/** One dispatch: the kernel, its buffers (binding order), its uniforms and its grid. */
export interface Dispatch {
  readonly kernel: KernelSpec;
  /** Uniform bytes for the binding whose kind is 'uniform' (at most one per kernel). */
  readonly uniforms?: Uint8Array;
  /** Buffers for every non-uniform binding, in binding order. */
  readonly buffers: readonly GPUBuffer[];
  readonly workgroups: readonly [number, number?, number?];
}

interface CachedKernel {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly label: string;
  dispatches: number;
}

/** Turns Dawn's error text into one line that names the kernels involved. */
export class GpuError extends Error {
  constructor(kind: string, message: string, context: string) {
    super(`GPU ${kind} error in ${context}: ${message.split('\n').filter(Boolean).slice(0, 3).join(' | ')}`);
    this.name = 'GpuError';
  }
}

export class Runtime {
  readonly device: GPUDevice;
  readonly info: DeviceInfo;
  readonly pool: BufferPool;
  /** When true, WGSL of every new pipeline is printed and dispatch counts are kept. */
  debug = false;
  /** Per-kernel GPU timings (timestamp queries); null unless enabled with `enableProfiler()`. */
  profiler: Profiler | null = null;

  private readonly kernels = new Map<string, CachedKernel>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly arena: GPUBuffer;
  private readonly arenaCpu = new Uint8Array(ARENA_BYTES);
  private arenaUsed = 0;
  private batchKernels = new Set<string>();
  private errorChecks: Promise<GpuError | null>[] = [];
  private lostReason: string | null = null;
  private submits = 0;
  private readonly waits: HostWaits;

  constructor(ctx: GpuContext) {
    this.device = ctx.device;
    this.info = ctx.info;
    this.pool = new BufferPool(this.device);
    this.waits = new HostWaits(ctx.pollSpins);
    this.arena = this.device.createBuffer({
      size: ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'uniform-arena',
    });
    void ctx.lost.then((i) => {
      this.lostReason = `${i.reason}: ${i.message}`;
    });
  }

  /** Starts per-kernel timing (needs the timestamp-query feature). */
  enableProfiler(): Profiler {
    if (!this.info.timestamps) throw new Error('profiling needs the timestamp-query feature, which this adapter lacks');
    this.profiler ??= new Profiler(this.device, (p) => this.waits.track(p));
    return this.profiler;
  }

  /** Number of submits so far (tests check that a training step does not submit per op). */
  get submitCount(): number {
    return this.submits;
  }

  private kernel(spec: KernelSpec): CachedKernel {
    const key = kernelKey(spec);
    let k = this.kernels.get(key);
    if (k) return k;
    const label = kernelLabel(spec);
    // Browsers allow fewer storage buffers than lavapipe (Chromium/SwiftShader: 10, lavapipe: 16):
    // name the kernel here rather than fail pipeline validation with a generic message.
    const storage = spec.bindings.filter((b) => b !== 'uniform').length;
    if (storage > this.info.maxStorageBuffersPerStage) {
      throw new Error(`${label} binds ${storage} storage buffers; this device (${this.info.description}) allows ${this.info.maxStorageBuffersPerStage} per stage`);
    }
    let module = this.modules.get(spec.module.name);
    this.device.pushErrorScope('validation');
    if (!module) {
      if (this.debug) console.error(`// ---- ${spec.module.name}.wgsl\n${spec.module.code}`);
      module = this.device.createShaderModule({ code: spec.module.code, label: `${spec.module.name}.wgsl` });
      this.modules.set(spec.module.name, module);
    }
    const layout = this.device.createBindGroupLayout({
      label,
      entries: spec.bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const pipeline = this.device.createComputePipeline({
      label,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout], label }),
      compute: { module, entryPoint: spec.entry, constants: spec.constants as Record<string, number> | undefined },
    });
    this.errorChecks.push(
      this.waits.track(this.device.popErrorScope()).then((e) => (e ? new GpuError('validation', e.message, `creating ${label}`) : null)),
    );
    k = { pipeline, layout, label, dispatches: 0 };
    this.kernels.set(key, k);
    return k;
  }

  private beginBatch(): GPUCommandEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder({ label: 'batch' });
    }
    return this.encoder;
  }

  /** Records one compute dispatch. */
  dispatch(d: Dispatch): void {
    if (this.lostReason) throw new GpuError('device-lost', this.lostReason, kernelLabel(d.kernel));
    const k = this.kernel(d.kernel);
    const uniformBytes = d.uniforms?.byteLength ?? 0;
    const align = Math.max(16, this.info.uniformAlign);
    if (this.arenaUsed + uniformBytes > ARENA_BYTES) this.flush();
    if (this.profiler?.full) this.flush();
    const encoder = this.beginBatch();
    if (this.profiler) {
      this.endPass();
      this.pass = encoder.beginComputePass({ label: k.label, timestampWrites: this.profiler.pass(k.label) });
    }
    this.pass ??= encoder.beginComputePass({ label: 'batch-pass' });
    let bi = 0;
    const entries: GPUBindGroupEntry[] = d.kernel.bindings.map((kind, binding) => {
      if (kind === 'uniform') {
        if (!d.uniforms) throw new Error(`${k.label}: uniform binding ${binding} has no data`);
        return { binding, resource: { buffer: this.arena, offset: this.arenaUsed, size: uniformBytes } };
      }
      const buffer = d.buffers[bi++];
      if (!buffer) throw new Error(`${k.label}: binding ${binding} has no buffer`);
      return { binding, resource: { buffer } };
    });
    if (bi !== d.buffers.length) throw new Error(`${k.label}: ${d.buffers.length} buffers for ${bi} bindings`);
    if (d.uniforms) {
      this.arenaCpu.set(d.uniforms, this.arenaUsed);
      this.arenaUsed += Math.ceil(uniformBytes / align) * align;
    }
    const group = this.device.createBindGroup({ layout: k.layout, entries, label: k.label });
    this.pass.setPipeline(k.pipeline);
    this.pass.setBindGroup(0, group);
    const [x, y = 1, z = 1] = d.workgroups;
    if (x > 0 && y > 0 && z > 0) this.pass.dispatchWorkgroups(x, y, z);
    k.dispatches++;
    this.batchKernels.add(k.label);
  }

  /** Records a buffer-to-buffer copy (ends the current compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    const encoder = this.beginBatch();
    this.endPass();
    encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.batchKernels.add('copy');
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submits recorded work. Buffers released before this call become reusable after it. */
  flush(): void {
    if (this.encoder) {
      this.endPass();
      if (this.arenaUsed) this.device.queue.writeBuffer(this.arena, 0, this.arenaCpu, 0, this.arenaUsed);
      const afterSubmit = this.profiler?.finishBatch(this.encoder);
      this.device.queue.submit([this.encoder.finish({ label: 'batch' })]);
      afterSubmit?.();
      this.submits++;
      this.encoder = null;
      this.arenaUsed = 0;
      const context = `a batch running ${[...this.batchKernels].slice(0, 8).join(', ')}`;
      this.batchKernels = new Set();
      const validation = this.waits.track(this.device.popErrorScope());
      const oom = this.waits.track(this.device.popErrorScope());
      this.errorChecks.push(
        Promise.all([validation, oom]).then(([v, o]) =>
          v ? new GpuError('validation', v.message, context) : o ? new GpuError('out-of-memory', o.message, context) : null,
        ),
      );
    }
    this.pool.onSubmit();
  }

  /** Throws the first GPU error raised since the last check, naming the kernels. */
  async checkErrors(): Promise<void> {
    const checks = this.errorChecks;
    this.errorChecks = [];
    for (const e of await Promise.all(checks)) if (e) throw e;
    if (this.lostReason) throw new GpuError('device-lost', this.lostReason, 'the device');
  }

  /** Allocates a pooled storage buffer. */
  alloc(bytes: number, label: string): GPUBuffer {
    return this.pool.acquire(bytes, label);
  }

  /** Releases a pooled buffer; reusable after the next submit. */
  release(buf: GPUBuffer): void {
    this.pool.release(buf);
  }

  /**
   * Writes host data into a buffer. If recorded-but-unsubmitted work exists it is submitted first,
   * because queue writes run before any later submit and would otherwise overtake it.
   */
  write(buf: GPUBuffer, data: ArrayBufferView, fresh = false): void {
    if (!fresh && this.encoder) this.flush();
    this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, Math.ceil(data.byteLength / 4) * 4);
  }

  /** Copies `bytes` from a buffer back to the host (a sync point). */
  async read(buf: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    if (this.lostReason) throw new GpuError('device-lost', this.lostReason, `reading ${buf.label}`);
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: `readback(${buf.label})`,
    });
    this.copy(buf, offset, staging, 0, size);
    this.flush();
    try {
      await this.waitFor(staging.mapAsync(GPUMapMode.READ), `reading ${buf.label}`);
      await this.checkErrors();
      return staging.getMappedRange().slice(0, bytes);
    } finally {
      staging.destroy();
    }
  }

  /** Waits for all submitted work (a sync point) and reports errors. */
  async sync(): Promise<void> {
    if (this.lostReason) throw new GpuError('device-lost', this.lostReason, 'waiting for the queue');
    this.flush();
    await this.waitFor(this.device.queue.onSubmittedWorkDone(), 'waiting for the queue');
    await this.checkErrors();
  }

  /**
   * Submits recorded work and returns a wait for everything submitted so far, without waiting now: a
   * caller can record the next batch while this one runs and await this later (so that at most two
   * batches are in flight). Errors are reported by the next sync or read.
   */
  submitted(): Promise<void> {
    if (this.lostReason) throw new GpuError('device-lost', this.lostReason, 'submitting');
    this.flush();
    return this.waitFor(this.device.queue.onSubmittedWorkDone(), 'waiting for the queue');
  }

  /**
   * Waits on any promise of this device's binding that the runtime did not make itself (a peer
   * library's readback in a benchmark) the way its own waits do: asleep between polls in Node.
   */
  hostWait<T>(p: Promise<T>): Promise<T> {
    return this.waits.track(p);
  }

  /** Tracked promises pending now (tests). */
  get hostWaitsInFlight(): number {
    return this.waits.inFlight;
  }

  private async waitFor<T>(p: Promise<T>, what: string): Promise<T> {
    return this.waits.track(p).catch(async (e: unknown) => {
      if (this.lostReason) throw new GpuError('device-lost', this.lostReason, what);
      await this.checkErrors();
      throw new GpuError('readback', String((e as Error)?.message ?? e), what);
    });
  }

  /** Dispatch counts per kernel since start (debug and tests). */
  kernelCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of this.kernels.values()) out[k.label] = (out[k.label] ?? 0) + k.dispatches; // pipelines of one label add up
    return out;
  }

  /** Number of distinct pipelines created. */
  get pipelineCount(): number {
    return this.kernels.size;
  }
}
