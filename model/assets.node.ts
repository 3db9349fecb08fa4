/**
 * Where MODEL arguments point: a path, or `default` for the model embedded in this repository
 * (experiments/models/default, produced by the training issue's recipe).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError } from '../io/errors.js';

/** The repository root: the nearest folder above this bundle holding esm-kn's package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'esm-kn') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the esm-kn repository root above the running script');
    dir = up;
  }
}

/** Path of the embedded default model. */
export function defaultModelPath(): string {
  return join(repoRoot(), 'experiments', 'models', 'default');
}

/** Resolves a MODEL argument to a path that exists. */
export function resolveModel(arg: string): string {
  if (arg === 'default') {
    const p = defaultModelPath();
    if (!existsSync(p)) throw new FormatError('default', `the embedded default model is missing (${p})`);
    return p;
  }
  const p = resolve(arg);
  if (!existsSync(p)) throw new FormatError(arg, 'no such file or folder');
  return p;
}
