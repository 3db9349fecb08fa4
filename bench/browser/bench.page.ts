/**
 * The page side of `npm run bench -- browser` (bench/browser.ts): the engine on navigator.gpu and the
 * shared cases (bench/browser/cases.ts) on `window.esmknBench`.
 */
import { initEngine } from '../../engine/index.js';
import type { DeviceInfo } from '../../engine/device.js';
import { forwardRate, matmulRate } from './cases.js';

/** What the bench page exposes. */
export interface BenchPage {
  init(): Promise<DeviceInfo>;
  matmulRate: typeof matmulRate;
  forwardRate: typeof forwardRate;
}

const api: BenchPage = { init: async () => (await initEngine()).info, matmulRate, forwardRate };
(globalThis as unknown as { esmknBench: BenchPage }).esmknBench = api;
document.getElementById('status')!.textContent = 'ready';
