/**
 * The page side of the browser op tests (test/browser_engine.test.ts): the engine initialised on
 * navigator.gpu and the shared runners of test/lib/run_case.ts on `window.esmkn`. The Node side
 * draws the inputs, calls these through page.evaluate and compares with its own GPU and the float64
 * reference.
 */
import { initEngine } from '../../engine/index.js';
import type { DeviceInfo } from '../../engine/device.js';
import { runAdamW, runEsmForward, runFusedLinear, runIgScores, runOpCase } from '../lib/run_case.js';

/** What the page exposes to the test. */
export interface OpsPage {
  /** Initialises the engine; resolves to the adapter's facts (rejects when there is no adapter). */
  init(): Promise<DeviceInfo>;
  runOpCase: typeof runOpCase;
  runFusedLinear: typeof runFusedLinear;
  runAdamW: typeof runAdamW;
  runEsmForward: typeof runEsmForward;
  runIgScores: typeof runIgScores;
}

const api: OpsPage = {
  init: async () => (await initEngine()).info,
  runOpCase,
  runFusedLinear,
  runAdamW,
  runEsmForward,
  runIgScores,
};
(globalThis as unknown as { esmkn: OpsPage }).esmkn = api;
document.getElementById('status')!.textContent = 'ready';
