/**
 * The packed package as a user gets it: `npm pack` of this checkout (its built dist/), installed into an
 * empty folder with `npm install --offline`, runs the README's Node example ("As a library", the block
 * after `<!-- example: node -->`) as written, on the embedded default model.
 *
 * `--ignore-scripts` skips prepack's clean rebuild, which would delete dist/ under the running suite;
 * the suite runs on the fresh build `npm test` makes first, so the tarball holds the same files (less
 * the declaration files that only a --types build emits). Offline, npm cannot resolve `webgpu@^0.6.2`
 * by name (that needs the registry's package document), so the dependencies are named by their
 * registry tarball URLs, which npm serves from its cache: the versions installed in this checkout.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scratchDir } from './lib/scratch.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The README's Node example: the first ```js block after the marker. */
function readmeNodeExample(readme: string): string {
  const at = readme.indexOf('<!-- example: node -->');
  assert.ok(at >= 0, 'README has the <!-- example: node --> marker');
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, 'a ```js block follows the marker');
  return m![1]!;
}

function run(cmd: string, args: readonly string[], cwd: string, timeout = 240_000): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, maxBuffer: 64 * 2 ** 20 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** A registry tarball URL for a package installed in this checkout (npm has it cached). */
function cachedTarball(name: string): string {
  const version = (JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  return `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${version}.tgz`;
}

test('npm pack, npm install --offline in an empty folder, and the README Node example runs', () => {
  const dir = scratchDir('package');
  const pack = run(NPM, ['pack', '--ignore-scripts', '--pack-destination', dir], '.');
  assert.is(pack.status, 0, pack.out);
  const tarball = readdirSync(dir).find((f) => /^esm-kn-.*\.tgz$/.test(f));
  assert.ok(tarball, `npm pack wrote a tarball: ${pack.out}`);
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true, type: 'module' })}\n`);
  const deps = ['webgpu', '@webgpu/types', 'debug', 'ms'].map(cachedTarball);
  const install = run(NPM, ['install', '--offline', '--no-audit', '--no-fund', resolve(dir, tarball!), ...deps], app);
  assert.is(install.status, 0, `offline install (needs ${deps.join(', ')} in npm's cache):\n${install.out}`);
  writeFileSync(join(app, 'example.mjs'), readmeNodeExample(readFileSync('README.md', 'utf8')));
  const r = run(process.execPath, ['example.mjs'], app);
  assert.is(r.status, 0, r.out);
  assert.match(r.out, /seq1: EC\d [a-z]+ \(p = 0\.\d{3}\)/);
  assert.match(r.out, /residues that raise it most: /);
  assert.match(r.out, /neuron (query|key|value|attn_out|ffn_in|ffn_out) layer \d+ #\d+: /);
});

test.run();
