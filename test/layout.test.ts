/**
 * The layout's rules, checked by reading the source tree (no GPU): code outside engine/ (tests and the
 * bench lab aside) enters the engine through engine/index.ts only; no import runs from a lower layer to
 * a higher one; no top-level folder holds over 30% of the source lines and no source file over 600.
 *
 * Layers, from the top down (README "Layout"): the package entries (index.node.ts above index.ts), the
 * apps (experiment scripts, web/, cli/, bench/), the libraries kn/ and train/, data/, model/, and at the
 * bottom engine/, io/ and shaders/. Imports may run down or sideways within a layer, never up.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** Top-level folders (and root files) in layer order, top first; tests and scripts stand outside. */
const LAYERS: readonly (readonly string[])[] = [
  ['index.node.ts'],
  ['index.ts'],
  ['experiments', 'web', 'cli', 'bench'],
  ['kn', 'train'],
  ['data'],
  ['model'],
  ['engine', 'io', 'shaders'],
];
const SKIP = new Set(['node_modules', 'dist', '.git', 'test', 'scripts']);

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (dir === '.' && (SKIP.has(name) || name.startsWith('.'))) continue;
    const p = dir === '.' ? name : join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.(ts|wgsl)$/.test(p) && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const SOURCES = walk('.');

/** The layer index of a source path (0 is the top), or -1 outside the layers. */
function layerOf(path: string): number {
  const top = path.split('/')[0]!;
  return LAYERS.findIndex((names) => names.includes(top));
}

/** Relative imports of a file, resolved to source paths (`.js` specifiers name `.ts` files). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    out.push(normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
  }
  return out;
}

test('layer table: every top-level source folder has a layer', () => {
  const tops = [...new Set(SOURCES.map((p) => p.split('/')[0]!))];
  assert.equal(tops.filter((t) => layerOf(t) < 0), [], 'top-level source folders without a layer');
  assert.ok(SOURCES.length > 100, `${SOURCES.length} source files`);
});

test('one door: code outside engine/ (tests and bench aside) imports the engine through engine/index.ts only', () => {
  const deep: string[] = [];
  for (const file of SOURCES) {
    if (file.startsWith('engine/') || file.startsWith('bench/')) continue;
    for (const target of importsOf(file)) {
      if (target.startsWith('engine/') && target !== 'engine/index.ts') deep.push(`${file} -> ${target}`);
    }
  }
  assert.equal(deep, [], `imports of engine internals:\n${deep.join('\n')}`);
});

test('no import runs from a lower layer to a higher one', () => {
  const up: string[] = [];
  for (const file of SOURCES) {
    const from = layerOf(file);
    for (const target of importsOf(file)) {
      const to = layerOf(target);
      if (to >= 0 && to < from) up.push(`${file} (layer ${from}) -> ${target} (layer ${to})`);
    }
  }
  assert.equal(up, [], `imports running up:\n${up.join('\n')}`);
});

test('no top-level folder over 30% of the source lines, no source file over 600 lines', () => {
  const lines = new Map<string, number>();
  const long: string[] = [];
  let total = 0;
  for (const file of SOURCES) {
    const n = readFileSync(file, 'utf8').split('\n').length;
    if (n > 600) long.push(`${file}: ${n} lines`);
    const top = file.includes('/') ? file.split('/')[0]! : '(root)';
    lines.set(top, (lines.get(top) ?? 0) + n);
    total += n;
  }
  assert.equal(long, [], 'files over 600 lines');
  const big = [...lines].filter(([, n]) => n > 0.3 * total).map(([t, n]) => `${t}: ${((100 * n) / total).toFixed(1)}%`);
  assert.equal(big, [], 'folders over 30% of the source lines');
});

test.run();
