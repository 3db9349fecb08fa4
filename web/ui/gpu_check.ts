/**
 * Finding WebGPU in the browser before anything else: a plain sentence when it is missing or gives no
 * adapter, otherwise the engine's device and the facts the page adapts to (software adapter, limits).
 */
import { type DeviceInfo, initEngine, isSoftwareAdapter } from '../../engine/index.js';

/** Either the device facts or why there is no GPU. */
export type GpuCheck = { readonly ok: true; readonly info: DeviceInfo } | { readonly ok: false; readonly message: string };

/** Checks navigator.gpu and an adapter, then starts the engine. Never throws. */
export async function checkWebGpu(): Promise<GpuCheck> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  if (!gpu) {
    return {
      ok: false,
      message: 'This browser has no WebGPU (navigator.gpu is missing), so the model cannot run here. Use a browser with WebGPU ' +
        '(Chrome or Edge 113+, or Chromium started with --enable-unsafe-webgpu), and open the page from http://127.0.0.1 or https.',
    };
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { ok: false, message: `WebGPU is present but asking for an adapter failed: ${(e as Error).message}` };
  }
  if (!adapter) {
    return { ok: false, message: 'WebGPU is present but the browser gives no adapter (no usable GPU or software fallback), so the model cannot run here.' };
  }
  try {
    const runtime = await initEngine();
    return { ok: true, info: runtime.info };
  } catch (e) {
    return { ok: false, message: `WebGPU adapter found, but the device could not be started: ${(e as Error).message}` };
  }
}

/** One line of adapter facts for the page. */
export function describeDevice(info: DeviceInfo): string {
  const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
  return `${info.description || 'unknown adapter'}${isSoftwareAdapter(info) ? ' (software)' : ''}: ${info.maxInvocations} invocations per workgroup, ` +
    `${info.maxStorageBuffersPerStage} storage buffers per stage, ${mib(info.maxStorageBindingSize)} per storage binding, ` +
    `${info.maxWorkgroupStorage / 1024} KiB workgroup memory, shader-f16 ${info.f16 ? 'yes' : 'no'}, subgroups ${info.subgroups ? 'yes' : 'no'}`;
}
