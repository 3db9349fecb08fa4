/**
 * Helpers for the I/O tests: the committed reference files in test/fixtures/ (written by
 * make_fixtures.py with torch, numpy and safetensors), the formulas their values follow, and
 * a deep comparison that sees through Map subclasses and typed arrays.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { FormatError } from '../../io/errors.js';
import { Namespace, OrderedDict } from '../../io/pickle_values.js';
import { memorySource, type ByteSource } from '../../io/source.js';

/** Tests run from the repository root (scripts/test.mjs, uvu). */
export const FIXTURES = join(process.cwd(), 'test', 'fixtures');

/** A fixture's bytes. */
export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

/** A fixture as an in-memory ByteSource named after the file. */
export function fixtureSource(name: string): ByteSource {
  return memorySource(fixtureBytes(name), name);
}

/** make_fixtures.py's ar(): offset + scale * [0, ..., n-1]. */
export function ar(n: number, scale = 1, offset = 0): number[] {
  return Array.from({ length: n }, (_, i) => offset + scale * i);
}

/** A canonical, JSON-comparable form of unpickled values (Map subclasses, Sets, bigints, bytes, NaN). */
export function canon(v: unknown): unknown {
  if (typeof v === 'bigint') return ['bigint', v.toString()];
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v;
  if (v instanceof Uint8Array) return ['bytes', ...v];
  if (v instanceof Float32Array || v instanceof Float64Array) return [v.constructor.name, ...v];
  if (v instanceof Namespace) return ['Namespace', canon(v.attrs)];
  if (v instanceof OrderedDict) return ['OrderedDict', [...v].map(([k, x]) => [canon(k), canon(x)]), canon(v.attrs)];
  if (v instanceof Map) return ['dict', [...v].map(([k, x]) => [canon(k), canon(x)])];
  if (v instanceof Set) return ['set', [...v].map(canon).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))];
  if (Array.isArray(v)) return v.map(canon);
  return v;
}

/** Asserts deep equality through canon(). */
export function same(actual: unknown, expected: unknown, message?: string): void {
  assert.equal(canon(actual), canon(expected), message);
}

/** Asserts that `fn` throws (or rejects with) a FormatError whose message matches `pattern`. */
export async function throwsFormat(fn: () => unknown, pattern: RegExp): Promise<FormatError> {
  let error: unknown = null;
  try {
    await fn();
  } catch (err) {
    error = err;
  }
  if (!(error instanceof FormatError)) {
    assert.unreachable(`expected a FormatError matching ${pattern}, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
  const e = error as FormatError;
  assert.match(e.message, pattern);
  assert.not.match(e.message, /\n/, 'one-line message');
  return e;
}
