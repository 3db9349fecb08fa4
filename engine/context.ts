/**
 * The process's one runtime. `initEngine()` must be awaited once before any tensor work; ops reach the
 * runtime through `rt()`.
 */
import { acquireDevice } from './device.js';
import { Runtime } from './runtime.js';

let runtime: Runtime | null = null;

/** Acquires the GPU and creates the runtime (idempotent). Set ESMKN_DEBUG=1 to dump WGSL. */
export async function initEngine(): Promise<Runtime> {
  if (runtime) return runtime;
  const ctx = await acquireDevice();
  runtime = new Runtime(ctx);
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  runtime.debug = env?.ESMKN_DEBUG === '1';
  return runtime;
}

/** The initialised runtime; throws if `initEngine()` has not completed. */
export function rt(): Runtime {
  if (!runtime) throw new Error('the engine is not initialised: await initEngine() first');
  return runtime;
}
