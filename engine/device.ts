/**
 * Acquires one GPUDevice for the process, in Node (Dawn through the `webgpu` package) or in a browser
 * (`navigator.gpu`). Requests the adapter's full limits and whichever optional features exist, so that
 * kernels can adapt to what was obtained (lavapipe: 1024 invocations, 16 storage buffers per stage;
 * Chromium's SwiftShader: 256 and 10).
 */

/** What kernels need to know about the device they run on. */
export interface DeviceInfo {
  /** e.g. "llvmpipe (lavapipe)" or "swiftshader". */
  readonly description: string;
  readonly isFallback: boolean;
  readonly f16: boolean;
  readonly subgroups: boolean;
  /**
   * Smallest and largest subgroup size (lanes) the adapter reports; 0 without the subgroups feature
   * or when unreported. lavapipe: 8; SwiftShader: 4. Kernels never assume a size.
   */
  readonly subgroupMinSize: number;
  readonly subgroupMaxSize: number;
  readonly timestamps: boolean;
  readonly maxInvocations: number;
  readonly maxWorkgroupStorage: number;
  readonly maxStorageBuffersPerStage: number;
  readonly maxStorageBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxWorkgroupsPerDim: number;
  readonly uniformAlign: number;
}

/**
 * True for a software adapter that runs on the CPU (lavapipe, SwiftShader): its invocations are SIMD
 * lanes of a few cores, so kernels that split work to fill thousands of GPU threads only add passes
 * there. Some browsers report SwiftShader without the fallback flag, hence the description check.
 */
export function isSoftwareAdapter(info: Pick<DeviceInfo, 'isFallback' | 'description'>): boolean {
  return info.isFallback || /swiftshader|llvmpipe|lavapipe|software/i.test(info.description);
}

/** A device plus the facts about it. */
export interface GpuContext {
  readonly device: GPUDevice;
  readonly info: DeviceInfo;
  /** Resolves when the device is lost; never rejects. */
  readonly lost: Promise<GPUDeviceLostInfo>;
  /** True where the WebGPU binding busy-polls while its promises are pending (Node's Dawn): see host_wait.ts. */
  readonly pollSpins: boolean;
}

/** Thrown when no WebGPU adapter can be had: names the fix. */
export class NoAdapterError extends Error {
  constructor(where: string) {
    super(
      `no WebGPU adapter in ${where}. In Node this needs Mesa's software Vulkan driver (lavapipe) from ` +
        `Debian bookworm-backports: run 'bash scripts/setup.sh' as root. In a browser, use one with WebGPU ` +
        `enabled (Chromium: --enable-unsafe-webgpu).`,
    );
    this.name = 'NoAdapterError';
  }
}

// The object returned by webgpu's create() must stay referenced for the life of the process:
// if it is garbage-collected while GPU work is in flight, Dawn crashes the process.
let nodeGpu: GPU | undefined;
const NODE_DAWN = 'Node (Dawn)';
let acquired: Promise<GpuContext> | undefined;

// 'subgroups' is newer than some @webgpu/types versions, hence the cast.
const OPTIONAL_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as GPUFeatureName[];

async function getGpu(): Promise<{ gpu: GPU; where: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, where: 'this browser' };
  if (!nodeGpu) {
    // A non-literal specifier keeps browser bundles free of the Node-only package.
    const specifier = 'webgpu';
    const mod = (await import(/* @vite-ignore */ specifier)) as {
      create: (flags: string[]) => GPU;
      globals: Record<string, unknown>;
    };
    Object.assign(globalThis, mod.globals);
    nodeGpu = mod.create([]);
  }
  return { gpu: nodeGpu, where: NODE_DAWN };
}

/**
 * The GPU object the device came from (Node: webgpu's create() result; browser: navigator.gpu).
 * Peers such as tfjs in benchmarks use it so both run on the same adapter.
 */
export async function gpuObject(): Promise<GPU> {
  return (await getGpu()).gpu;
}

/** Returns the process's one device, creating it on first call. */
export function acquireDevice(): Promise<GpuContext> {
  acquired ??= createDevice();
  return acquired;
}

async function createDevice(): Promise<GpuContext> {
  const { gpu, where } = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoAdapterError(where);
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const key of [
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupSizeZ',
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxUniformBufferBindingSize',
    'maxBindGroups',
  ] as const) {
    requiredLimits[key] = adapter.limits[key];
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'esm-kn' });
  const l = device.limits;
  const ai = adapter.info;
  const subgroups = device.features.has('subgroups' as GPUFeatureName);
  // GPUAdapterInfo.subgroupMin/MaxSize are newer than some @webgpu/types versions, hence the cast.
  const sizes = ai as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const info: DeviceInfo = {
    description: [ai.vendor, ai.architecture, ai.device, ai.description].filter(Boolean).join(' / '),
    isFallback: Boolean((ai as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    f16: device.features.has('shader-f16'),
    subgroups,
    subgroupMinSize: subgroups ? (sizes.subgroupMinSize ?? 0) : 0,
    subgroupMaxSize: subgroups ? (sizes.subgroupMaxSize ?? 0) : 0,
    timestamps: device.features.has('timestamp-query'),
    maxInvocations: l.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupStorage: l.maxComputeWorkgroupStorageSize,
    maxStorageBuffersPerStage: l.maxStorageBuffersPerShaderStage,
    maxStorageBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxWorkgroupsPerDim: l.maxComputeWorkgroupsPerDimension,
    uniformAlign: l.minUniformBufferOffsetAlignment,
  };
  const lost = device.lost.then((i) => i);
  return { device, info, lost, pollSpins: where === NODE_DAWN };
}
