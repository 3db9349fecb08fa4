// Bundles every entry point (tests, benches, CLI, experiments) into dist/ with esbuild.
// WGSL files are inlined as text, so Node and browser bundles carry the same kernel sources.
// Code splitting keeps one copy of the engine (and so one GPU device) per process.
import { build } from 'esbuild';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir, pick) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p, pick));
    else if (pick(p)) out.push(p);
  }
  return out;
}

const entryPoints = [
  ...walk('test', (p) => p.endsWith('.test.ts')),
  ...walk('bench', (p) => /bench\/run\.ts$/.test(p)),
  ...walk('experiments', (p) => p.endsWith('.ts') && !p.includes('/lib/')),
].concat(existsSync('model/cli.ts') ? ['model/cli.ts'] : []);

await build({
  entryPoints,
  outdir: 'dist',
  outbase: '.',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  loader: { '.wgsl': 'text' },
  external: ['webgpu', '@tensorflow/*', 'playwright-core'],
  logLevel: 'warning',
  chunkNames: 'chunks/[name]-[hash]',
});
