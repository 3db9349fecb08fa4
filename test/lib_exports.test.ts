/**
 * The package's library entries: package.json "exports" resolves for Node and browsers to built files,
 * the Node entry (self-referenced as 'esm-kn') carries everything the browser entry does plus the file
 * loaders, and the browser build (dist/www) contains no Node built-in: no require(), no 'node:'
 * specifier, no import of a built-in module name. Needs a build first (node scripts/build.mjs).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

type Entry = { types: string; default: string };
type Conditions = { browser: Entry; node: Entry; default: Entry };
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; exports: { '.': Conditions } };
const root = pkg.exports['.'];

// Non-literal specifiers keep esbuild from bundling what these tests load at run time.
const load = (spec: string) => import(/* @vite-ignore */ spec) as Promise<Record<string, unknown>>;

function jsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...jsFiles(p));
    else if (p.endsWith('.js')) out.push(p);
  }
  return out;
}

test('exports has browser, node and default conditions, in that order, each with its types and a built file', () => {
  assert.equal(Object.keys(root), ['browser', 'node', 'default']);
  for (const k of ['browser', 'node', 'default'] as const) {
    assert.equal(Object.keys(root[k]), ['types', 'default'], `${k}: types first, then the file`);
    assert.ok(existsSync(root[k].default), `${k}: ${root[k].default} was not built`);
    // Declarations are emitted at pack time (build --types); each must come from a source entry.
    const source = root[k].types.replace(/^\.\/dist\/types\//, '').replace(/\.d\.ts$/, '.ts');
    assert.ok(existsSync(source), `${k}: types ${root[k].types} has no source ${source}`);
  }
  assert.ok(root.browser.default.startsWith('./dist/www/'), 'the browser entry lives in the browser build');
});

test("'esm-kn' resolves (self-reference) to the Node entry, which carries every browser export and the file loaders", async () => {
  const node = await load(pkg.name);
  const direct = await load(new URL(`../../${root.node.default.slice(2)}`, import.meta.url).href);
  assert.is(node.initEngine, direct.initEngine, `${pkg.name} is ${root.node.default}`);
  const web = await load(new URL(`../../${root.browser.default.slice(2)}`, import.meta.url).href);
  const missing = Object.keys(web).filter((k) => !(k in node));
  assert.equal(missing, [], `browser exports missing from the Node entry: ${missing.join(', ')}`);
  for (const k of ['initEngine', 'esmForward', 'uploadModel', 'loadCheckpointFiles', 'blobSource', 'igScores', 'activationScores', 'runStudy', 'explainNeurons', 'chooseNeurons', 'neuronCards', 'logoSvg']) {
    assert.type(web[k], 'function', `browser entry exports ${k}`);
  }
  for (const k of ['loadCheckpoint', 'saveProjectCheckpoint', 'readSafetensorsFile']) {
    assert.type(node[k], 'function', `Node entry exports ${k}`);
    assert.not.ok(k in web, `browser entry must not export the Node-only ${k}`);
  }
});

test('the browser build has no Node built-ins: no require(), no node: specifiers, no built-in module imports', () => {
  const files = jsFiles('dist/www');
  assert.ok(files.includes(join('dist', 'www', 'index.js')), 'dist/www/index.js exists');
  const builtins = builtinModules.filter((m) => !m.startsWith('_'));
  const importOf = new RegExp(`(?:from|import)\\s*\\(?\\s*["'](?:${builtins.map((m) => m.replace(/[/]/g, '\\/')).join('|')})["']`);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    assert.not.match(text, /\brequire\(\s*["'`]/, `${f} calls require()`);
    assert.not.match(text, /["'`]node:/, `${f} names a node: module`);
    const m = importOf.exec(text);
    assert.not.ok(m, `${f} imports a Node built-in: ${m?.[0]}`);
  }
});

test('a browser bundler resolves esm-kn to the browser entry and bundles it without Node built-ins', async () => {
  const esbuild = (await load('esbuild')) as unknown as typeof import('esbuild');
  const r = await esbuild.build({
    stdin: { contents: `export { initEngine, esmForward, loadCheckpointFiles } from '${pkg.name}';`, resolveDir: '.', loader: 'js' },
    bundle: true, write: false, platform: 'browser', format: 'esm', metafile: true, logLevel: 'silent',
  });
  const inputs = Object.keys(r.metafile.inputs);
  assert.ok(inputs.includes(root.browser.default.slice(2)), `bundled from ${root.browser.default}: ${inputs.slice(0, 5).join(', ')}`);
  assert.not.ok(inputs.some((i) => i === 'dist/index.node.js' || i.startsWith('dist/cli/')), 'no Node entry code in a browser bundle');
});

test.run();
