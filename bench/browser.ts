/**
 * The matmul and ESM-2 forward benchmarks inside a browser page: Debian's chromium (WebGPU on
 * SwiftShader) runs bench/browser/cases.ts in bench/browser/bench.html, and this process runs the same
 * cases on Node/Dawn/lavapipe in the same run, one after the other (never at the same time: the two
 * share the CPU cores). ours = chromium, peer = node-dawn.
 *
 *   npm run bench -- browser [--json] [--only 1024]
 */
import { loadavg } from 'node:os';
import { rt } from '../engine/context.js';
import type { DeviceInfo } from '../engine/device.js';
import { openBrowser } from '../test/lib/browser.js';
import { type Bench, type BenchContext, option, truncate } from './lib/bench.js';
import { FORWARDS, PRODUCTS, forwardRate, matmulRate } from './browser/cases.js';

type PageApi = { init(): Promise<DeviceInfo>; matmulRate(name: string): Promise<number>; forwardRate(name: string): Promise<number> };

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

async function run(ctx: BenchContext): Promise<void> {
  const only = option(ctx.args, '--only');
  const session = await openBrowser();
  try {
    const { page, errors } = await session.open('/bench/browser/bench.html');
    await page.waitForFunction(() => 'esmknBench' in globalThis, undefined, { timeout: 60_000 }).catch(() => {
      throw new Error(`the bench page did not load: ${errors.join(' | ') || 'no error reported'}`);
    });
    const call = <K extends keyof PageApi>(fn: K, ...args: Parameters<PageApi[K]>) =>
      page.evaluate(([f, a]) => {
        const api = (globalThis as unknown as { esmknBench: Record<string, (...x: unknown[]) => Promise<unknown>> }).esmknBench;
        return api[f as string]!(...(a as unknown[]));
      }, [fn, args] as const) as ReturnType<PageApi[K]>;
    const info = await call('init');
    ctx.log(`browser: chromium, ${info.description} (subgroups of ${info.subgroupMinSize}, ${info.maxInvocations} invocations)`);
    ctx.log(`node:    ${rt().info.description}; load average ${load()}`);
    page.setDefaultTimeout(0);
    for (const p of PRODUCTS) {
      if (only && !p.name.includes(only)) continue;
      const web = await call('matmulRate', p.name);
      const node = await matmulRate(p.name);
      ctx.emit({ bench: 'browser', case: `matmul ${p.name}`, ours: truncate(web, 3), peer: 'node-dawn', peer_value: truncate(node, 3), unit: 'GFLOP/s' });
    }
    for (const f of FORWARDS) {
      if (only && !f.name.includes(only)) continue;
      const web = await call('forwardRate', f.name);
      const node = await forwardRate(f.name);
      ctx.emit({ bench: 'browser', case: `esm ${f.name}`, ours: truncate(web, 3), peer: 'node-dawn', peer_value: truncate(node, 3), unit: 'tokens/s' });
    }
    if (errors.length) ctx.log(`page errors: ${errors.join(' | ')}`);
    ctx.log(`load average ${load()}`);
  } finally {
    await session.close();
  }
}

const bench: Bench = { name: 'browser', description: 'matmul GFLOP/s and ESM-2 forward tokens/s in chromium (SwiftShader) vs the same cases in Node (Dawn/lavapipe)', run };
export default bench;
