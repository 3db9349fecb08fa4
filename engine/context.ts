/**
 * The process's one runtime. `initEngine()` must be awaited once before any tensor work; ops reach the
 * runtime through `rt()`.
 */
import { acquireDevice } from './device.js';
import { Runtime } from './runtime.js';

let runtime: Runtime | null = null;

/**
 * Acquires the GPU and creates the runtime (idempotent). ESMKN_DEBUG=1 dumps each WGSL module as it is
 * compiled; ESMKN_PROFILE=1 times every kernel (see `rt().profiler`).
 */
export async function initEngine(): Promise<Runtime> {
  if (runtime) return runtime;
  const ctx = await acquireDevice();
  runtime = new Runtime(ctx);
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  runtime.debug = env?.ESMKN_DEBUG === '1';
  if (env?.ESMKN_PROFILE === '1') runtime.enableProfiler();
  return runtime;
}

/** The initialised runtime; throws if `initEngine()` has not completed. */
export function rt(): Runtime {
  if (!runtime) throw new Error('the engine is not initialised: await initEngine() first');
  return runtime;
}
