/**
 * @tensorflow/tfjs-backend-webgpu in Node, on the same Dawn GPU object as the engine (webgpu's create()
 * must stay a single instance per process), as the peer for benchmarks.
 */
import { gpuObject } from '../../engine/device.js';

type Tf = typeof import('@tensorflow/tfjs-core');

let loaded: Promise<Tf> | undefined;

/** tfjs-core with the webgpu backend active. Its console chatter goes to stderr. */
export function tfjsWebgpu(): Promise<Tf> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<Tf> {
  const gpu = await gpuObject();
  // tfjs registers its webgpu backend at import time only if navigator.gpu exists; Node 20 has no
  // navigator (Node 21+ has one without gpu), so define ours before importing.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true, writable: true });
  const log = console.log;
  console.log = console.error;
  try {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend');
    await tf.ready();
    return tf;
  } finally {
    console.log = log;
  }
}
