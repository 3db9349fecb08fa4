// Bundles every entry point (tests, benches, CLI, experiment scripts, the Node library entry) into dist/ with esbuild.
// WGSL files are inlined as text, so Node and browser bundles carry the same kernel sources.
// Code splitting keeps one copy of the engine (and so one GPU device) per process.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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

// --clean (npm pack): start from an empty dist/, since esbuild leaves the chunks of earlier builds there.
if (process.argv.includes('--clean')) rmSync('dist', { recursive: true, force: true });

const entryPoints = [
  ...walk('test', (p) => p.endsWith('.test.ts')),
  ...walk('bench', (p) => /bench\/run\.ts$/.test(p)),
  ...walk('experiments', (p) => p.endsWith('.ts')),
].concat(['cli/main.ts', 'index.node.ts'].filter((p) => existsSync(p)));

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

// The browser build: the same engine, model and kernels for the page (web/app.ts), the library entry
// for browsers (index.ts) and the pages that tests and benches drive (test/browser/*.page.ts,
// bench/browser/*.page.ts), into the static root dist/www with the page's HTML/CSS and the default
// model. platform 'browser' makes any Node built-in an error, so nothing Node-only slips in.
const browserEntries = [
  ...['web/app.ts', 'index.ts'].filter((p) => existsSync(p)),
  ...walk('test/browser', (p) => p.endsWith('.page.ts')),
  ...walk('bench/browser', (p) => p.endsWith('.page.ts')),
];
mkdirSync('dist/www', { recursive: true });
if (browserEntries.length > 0) {
  await build({
    entryPoints: browserEntries,
    outdir: 'dist/www',
    outbase: '.',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    sourcemap: 'linked',
    loader: { '.wgsl': 'text' },
    logLevel: 'warning',
    chunkNames: 'chunks/[name]-[hash]',
  });
}
for (const p of walk('web', (f) => /\.(html|css|svg|png|fasta)$/.test(f))) cpSync(p, join('dist/www', p.slice('web/'.length)));
// The pages that tests and benches open keep their place under dist/www (test/browser/ops.html).
for (const p of [...walk('test/browser', (f) => f.endsWith('.html')), ...walk('bench/browser', (f) => f.endsWith('.html'))]) {
  mkdirSync(join('dist/www', p, '..'), { recursive: true });
  cpSync(p, join('dist/www', p));
}
cpSync('experiments/models/default', 'dist/www/models/default', { recursive: true });

// --types (npm pack/publish): the library's declarations into dist/types for package.json "types".
if (process.argv.includes('--types')) {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.types.json'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
