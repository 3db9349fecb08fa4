/** Atomic writes: the new file appears whole or not at all, and no temporary file is left behind. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';

function inTempDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esm-kn-atomic-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true });
    }
  };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('writes chunks, replaces an existing file, leaves nothing else', inTempDir(async (dir) => {
  const path = join(dir, 'f.bin');
  writeFileSync(path, 'old');
  await writeFileAtomic(path, [enc('new '), new Uint8Array(0), enc('contents')]);
  assert.is(readFileSync(path, 'utf8'), 'new contents');
  assert.equal(readdirSync(dir), ['f.bin']);
}));

test('a failure midway keeps the old file and removes the temporary one', inTempDir(async (dir) => {
  const path = join(dir, 'f.bin');
  writeFileSync(path, 'old');
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield enc('partial data');
    throw new Error('encoder failed');
  }
  let message = '';
  await writeFileAtomic(path, failing()).catch((err: Error) => (message = err.message));
  assert.is(message, 'encoder failed');
  assert.is(readFileSync(path, 'utf8'), 'old');
  assert.equal(readdirSync(dir), ['f.bin']);
}));

test('a missing directory is an error and creates nothing', inTempDir(async (dir) => {
  const path = join(dir, 'no', 'such', 'f.bin');
  let message = '';
  await writeFileAtomic(path, [enc('x')]).catch((e: Error) => (message = e.message));
  // The error names the destination as given and the missing folder, not the temporary file.
  assert.ok(message.startsWith(path) && message.includes('ENOENT') && message.includes(join(dir, 'no', 'such')), message);
  assert.not.ok(message.includes('.tmp'), message);
  assert.equal(readdirSync(dir), []);
}));

test.run();
