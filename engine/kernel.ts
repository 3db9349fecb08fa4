/**
 * Typed kernel specs. A spec holds setup-time information only (which shader, which entry point, which
 * bindings, which override constants) and never a shape: shapes travel in uniforms, so one pipeline
 * serves every sequence length and batch size. The cache key is derived mechanically from the spec.
 */

/** How a kernel binds one buffer. Binding i of group 0 is `bindings[i]`. */
export type BindingKind = 'uniform' | 'read' | 'rw';

/** One WGSL source file under shaders/. */
export interface ShaderModuleSpec {
  /** File name without extension, e.g. "elementwise"; used in labels and errors. */
  readonly name: string;
  /** The WGSL text (imported from the .wgsl file). */
  readonly code: string;
}

/** Everything that selects a compute pipeline. */
export interface KernelSpec {
  readonly module: ShaderModuleSpec;
  /** Entry point, e.g. "unary_forward". */
  readonly entry: string;
  readonly bindings: readonly BindingKind[];
  /** WGSL `override` constants: workgroup sizes, tile sizes, op selectors. */
  readonly constants?: Readonly<Record<string, number>>;
}

/** Cache key of a spec: module, entry, binding kinds and sorted constants; shapes cannot enter it. */
export function kernelKey(spec: KernelSpec): string {
  const constants = Object.entries(spec.constants ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${spec.module.name}:${spec.entry}(${spec.bindings.join(',')})[${constants}]`;
}

/** Human-readable kernel name for labels and error messages. */
export function kernelLabel(spec: KernelSpec): string {
  return `${spec.module.name}.wgsl:${spec.entry}`;
}

/**
 * Builds a uniform block from u32/i32/f32 fields in declaration order. Every field is 4 bytes, so a
 * WGSL struct of scalar u32/i32/f32 members (and vec4<u32> arrays) matches this packing.
 */
export class Uniforms {
  private readonly view: DataView;
  private offset = 0;
  readonly bytes: Uint8Array;
  constructor(capacity = 256) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }
  u32(...values: number[]): this {
    for (const v of values) {
      this.view.setUint32(this.offset, v >>> 0, true);
      this.offset += 4;
    }
    return this;
  }
  i32(...values: number[]): this {
    for (const v of values) {
      this.view.setInt32(this.offset, v, true);
      this.offset += 4;
    }
    return this;
  }
  f32(...values: number[]): this {
    for (const v of values) {
      this.view.setFloat32(this.offset, v, true);
      this.offset += 4;
    }
    return this;
  }
  /** Pads with zeros to a multiple of 16 bytes (WGSL uniform struct size rule). */
  align16(): this {
    this.offset = Math.ceil(this.offset / 16) * 16;
    return this;
  }
  /** The bytes written so far, padded to 16. */
  finish(): Uint8Array {
    return this.bytes.subarray(0, Math.max(16, Math.ceil(this.offset / 16) * 16));
  }
}
