/**
 * Tensors: a shape, a dtype and a reference to GPU storage. All tensors are contiguous, row-major.
 *
 * Memory: storage is reference-counted internally (views such as reshape share it, and the autograd
 * tape retains what backward rules saved). Users never manage those counts: they call `dispose()` or,
 * more often, let a `tidy` scope (scope.ts) dispose intermediates.
 */
import { rt } from './context.js';
import { trackTensor } from './scope.js';
import type { TapeNode } from './tape.js';

/** Element types. i32 holds labels and token indices. */
export type DType = 'f32' | 'i32';
export type Shape = readonly number[];

/** Number of elements of a shape. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major element strides of a shape: the engine's one home for them (io/ imports no engine and keeps its own). */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Formats a shape as "[2, 3]" for error messages. */
export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** GPU memory behind one or more tensors. */
export class Storage {
  private refs = 1;
  constructor(
    readonly buffer: GPUBuffer,
    readonly bytes: number,
  ) {}
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) rt().release(this.buffer);
    if (this.refs < 0) throw new Error(`storage ${this.buffer.label} released twice`);
  }
  get alive(): boolean {
    return this.refs > 0;
  }
}

let nextId = 0;

export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  /** Set on leaves (parameters) that want gradients, and on every op output computed from one. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after `backward`. */
  grad: Tensor | null = null;
  /** The tape node that produced this tensor, if it was recorded. */
  node: TapeNode | null = null;
  private disposed = false;

  constructor(
    readonly shape: Shape,
    readonly dtype: DType,
    readonly storage: Storage,
    readonly label = 'tensor',
  ) {
    this.size = sizeOf(shape);
    trackTensor(this);
  }

  /** The GPU buffer (bind it, never release it). */
  get buffer(): GPUBuffer {
    if (this.disposed) throw new Error(`tensor "${this.label}" ${fmtShape(this.shape)} was used after dispose()`);
    return this.storage.buffer;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Releases this tensor's hold on its storage (idempotent); its gradient too. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.storage.release();
    this.grad?.dispose();
    this.grad = null;
  }

  /** Copies the values to the host (a sync point). */
  async data(): Promise<Float32Array | Int32Array> {
    const bytes = this.size * 4;
    const ab = bytes ? await rt().read(this.buffer, bytes) : new ArrayBuffer(0);
    return this.dtype === 'i32' ? new Int32Array(ab) : new Float32Array(ab);
  }

  /** The values as float32 (throws for i32 tensors). */
  async f32(): Promise<Float32Array> {
    if (this.dtype !== 'f32') throw new Error(`tensor "${this.label}" is ${this.dtype}, not f32`);
    return (await this.data()) as Float32Array;
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs one element, "${this.label}" has shape ${fmtShape(this.shape)}`);
    return (await this.data())[0]!;
  }

  toString(): string {
    return `Tensor(${this.label}, ${fmtShape(this.shape)}, ${this.dtype})`;
  }
}

/** Allocates an uninitialised tensor (kernels fill it). */
export function empty(shape: Shape, dtype: DType = 'f32', label = 'tensor'): Tensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape ${fmtShape(shape)} for "${label}"`);
  }
  const bytes = Math.max(4, sizeOf(shape) * 4);
  const limit = rt().info.maxStorageBindingSize;
  if (bytes > limit) {
    throw new Error(`tensor "${label}" ${fmtShape(shape)} needs ${bytes} bytes, over the device's ${limit}-byte binding limit`);
  }
  return new Tensor(shape, dtype, new Storage(rt().alloc(bytes, label), bytes), label);
}

/** A tensor holding host data (copied). */
export function tensor(data: ArrayLike<number>, shape: Shape, dtype: DType = 'f32', label = 'tensor'): Tensor {
  const n = sizeOf(shape);
  if (data.length !== n) {
    throw new Error(`tensor "${label}": ${data.length} values do not fill shape ${fmtShape(shape)} (${n} elements)`);
  }
  const t = empty(shape, dtype, label);
  if (n) {
    const host = dtype === 'i32' ? Int32Array.from(data) : Float32Array.from(data);
    rt().write(t.buffer, host, true);
  }
  return t;
}

/** A tensor filled with one value. */
export function full(shape: Shape, value: number, dtype: DType = 'f32', label = 'full'): Tensor {
  const n = sizeOf(shape);
  const host = dtype === 'i32' ? new Int32Array(n).fill(value) : new Float32Array(n).fill(value);
  return tensor(host, shape, dtype, label);
}

/** Zeros. */
export function zeros(shape: Shape, dtype: DType = 'f32', label = 'zeros'): Tensor {
  return full(shape, 0, dtype, label);
}

/** A view of the same storage with another shape of the same size (no copy, no gradient). */
export function viewAs(t: Tensor, shape: Shape): Tensor {
  if (sizeOf(shape) !== t.size) {
    throw new Error(`cannot view ${fmtShape(t.shape)} (${t.size} elements) as ${fmtShape(shape)}`);
  }
  t.storage.retain();
  return new Tensor(shape, t.dtype, t.storage, t.label);
}
