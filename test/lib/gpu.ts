/**
 * Test setup: acquires the GPU once per process. No adapter is a failure with the install hint, never
 * a skip.
 */
import { initEngine } from '../../engine/index.js';
import type { Runtime } from '../../engine/runtime.js';

let ready: Promise<Runtime> | undefined;

/** The runtime; throws NoAdapterError (with the fix) when no adapter exists. */
export function gpu(): Promise<Runtime> {
  ready ??= initEngine();
  return ready;
}
