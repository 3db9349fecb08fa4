/**
 * Debian's chromium driven by playwright-core for the browser tests and benchmarks: flags from
 * the project's runtime notes (WebGPU on SwiftShader, no network chatter), a fresh profile per launch (playwright
 * makes one; it refuses --user-data-dir), and the
 * built static root (dist/www) served on 127.0.0.1. A missing browser is a failure with the fix, never a skip.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { type StaticServer, serveStatic } from '../../cli/static_server.js';

export const CHROMIUM = '/usr/bin/chromium';
export const WWW_ROOT = 'dist/www';

/** The flags every launch uses. */
export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--headless=new',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** A browser, the static server and a way to open pages; close() ends all three. */
export interface BrowserSession {
  readonly browser: Browser;
  readonly server: StaticServer;
  /** Opens `path` (e.g. '/index.html') in a new page; console errors are collected in `errors`. */
  open(path: string): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** Launches chromium and serves dist/www (build first: node scripts/build.mjs). */
export async function openBrowser(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run 'bash scripts/setup.sh' as root`);
  if (!existsSync(join(WWW_ROOT, 'index.html'))) throw new Error(`${WWW_ROOT}/index.html is missing: run 'node scripts/build.mjs'`);
  const { chromium } = await import('playwright-core');
  const server = await serveStatic({ root: WWW_ROOT });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  return {
    browser,
    server,
    async open(path) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(server.url + path);
      return { page, errors };
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
