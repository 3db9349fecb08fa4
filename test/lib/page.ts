/**
 * One browser page per suite for the browser tests: chromium launched once (test/lib/browser.ts),
 * the page opened and its engine initialised, lazily on first use so that a browser that cannot start
 * fails the tests that need it with a clear message instead of aborting the whole uvu run.
 */
import type { Page } from 'playwright-core';
import type { DeviceInfo } from '../../engine/device.js';
import { type BrowserSession, openBrowser } from './browser.js';

/** An opened test page whose module set `window.esmkn` and whose engine found an adapter. */
export interface TestPage {
  readonly session: BrowserSession;
  readonly page: Page;
  /** Uncaught errors and console errors of the page so far. */
  readonly errors: string[];
  readonly info: DeviceInfo;
}

/**
 * Opens `path` (e.g. '/test/browser/ops.html') and waits for `window.esmkn.init()`. Throws one line
 * naming what failed: chromium not starting, the page not loading, or no WebGPU adapter.
 */
export async function openTestPage(path: string): Promise<TestPage> {
  let session: BrowserSession;
  try {
    session = await openBrowser();
  } catch (e) {
    throw new Error(`chromium did not start for the browser tests: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const { page, errors } = await session.open(path);
    try {
      await page.waitForFunction(() => 'esmkn' in globalThis, undefined, { timeout: 60_000 });
    } catch {
      throw new Error(`${path} did not load its test module: ${errors.join(' | ') || 'no error reported'}`);
    }
    const info = await page.evaluate(() => (globalThis as unknown as { esmkn: { init(): Promise<DeviceInfo> } }).esmkn.init()).catch((e: Error) => {
      throw new Error(`no WebGPU device in chromium: ${e.message.split('\n')[0]}`);
    });
    return { session, page, errors, info };
  } catch (e) {
    await session.close();
    throw e;
  }
}
