/**
 * Browser-safe checkpoint loading (model/checkpoint/load.ts) from Blobs as the page gets them (picked
 * files, a picked folder with relative paths): the three forms give the parameters the Node loader
 * gives, and every bad combination is one FormatError naming the file. Runs in Node (Node 20 has Blob).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCheckpoint, saveProjectCheckpoint } from '../model/checkpoint/node.js';
import { type LoadedCheckpoint, loadCheckpointFiles } from '../model/checkpoint/load.js';
import { blobSource } from '../io/blob_source.js';
import { FormatError } from '../io/errors.js';
import { type PickedFile, pickedCheckpointFiles } from '../web/model_files.js';
import { TINY_CONFIG, TINY_PARAMS, fairEsmFiles, hfFiles } from './lib/checkpoint_fixtures.js';
import { throwsFormat } from './lib/io_fixtures.js';
import { scratchDir } from './lib/scratch.js';

const files = (m: Map<string, Uint8Array>, folder?: string): PickedFile[] =>
  [...m].map(([name, bytes]) => ({ blob: new Blob([bytes as Uint8Array<ArrayBuffer>]), name, relativePath: folder ? `${folder}/${name}` : '' }));

function sameParams(c: LoadedCheckpoint, what: string): void {
  for (const [name, t] of TINY_PARAMS) {
    if (name.includes('inv_freq') || (!c.hasContactHead && name.startsWith('contact_head.'))) continue;
    assert.equal(c.params.get(name)?.data, t.data, `${what} ${name}`);
  }
}

const dir = scratchDir('ckfiles');
const LABELS = ['a', 'b', 'c'];
const head = new Map(['head.dense.weight', 'head.dense.bias', 'head.out.weight', 'head.out.bias'].map((n, i) => {
  const shape = n === 'head.dense.weight' ? [32, 32] : n === 'head.out.weight' ? [3, 32] : n === 'head.dense.bias' ? [32] : [3];
  return [n, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, j) => (i + 1) * 0.01 * Math.sin(j)) }];
}));

test.before(async () => {
  await saveProjectCheckpoint(join(dir, 'own'), { config: TINY_CONFIG, params: TINY_PARAMS, head: { pooling: 'mean', labels: LABELS, params: head }, meta: { task: 'ec' } });
});

test('blobSource reads ranges and rejects reads past the end', async () => {
  const s = blobSource(new Blob([Uint8Array.of(1, 2, 3, 4, 5)]), 'five.bin');
  assert.is(s.size, 5);
  assert.equal(Array.from(await s.read(1, 3)), [2, 3, 4]);
  assert.equal(Array.from(await s.read(5, 0)), []);
  await throwsFormat(() => s.read(3, 3), /five\.bin: read: bytes \[3, 6\) exceed file size 5/);
});

test('fair-esm .pt picked with its companion (either order) and alone', async () => {
  const both = files(fairEsmFiles());
  for (const picked of [both, [...both].reverse()]) {
    const c = await loadCheckpointFiles(pickedCheckpointFiles(picked));
    assert.is(c.format, 'fair-esm');
    assert.ok(c.hasContactHead, 'companion read');
    sameParams(c, 'fair-esm');
  }
  const alone = await loadCheckpointFiles(pickedCheckpointFiles(both.filter((f) => f.name === 'tiny.pt')));
  assert.is(alone.hasContactHead, false);
  sameParams(alone, 'fair-esm alone');
});

test('Hugging Face folder with model.safetensors or pytorch_model.bin', async () => {
  for (const w of ['safetensors', 'bin'] as const) {
    const c = await loadCheckpointFiles(pickedCheckpointFiles(files(hfFiles(w), 'esm2_tiny')));
    assert.is(c.format, 'huggingface');
    assert.is(c.path, 'esm2_tiny');
    sameParams(c, `hf ${w}`);
  }
  // The two files picked without their folder load the same.
  assert.is((await loadCheckpointFiles(pickedCheckpointFiles(files(hfFiles())))).format, 'huggingface');
});

test('esm-kn folder with its head loads as the Node loader loads it', async () => {
  const own = new Map(readdirSync(join(dir, 'own')).map((n) => [n, new Uint8Array(readFileSync(join(dir, 'own', n)))]));
  const c = await loadCheckpointFiles(pickedCheckpointFiles(files(own, 'own')));
  const node = await loadCheckpoint(join(dir, 'own'));
  assert.is(c.format, 'esm-kn');
  assert.equal(c.head?.labels, LABELS);
  assert.is(c.head?.pooling, 'mean');
  for (const [n, t] of head) assert.equal(c.head?.params.get(n)?.data, t.data, n);
  assert.equal([...c.params.keys()].sort(), [...node.params.keys()].sort());
  assert.equal(c.meta.task, 'ec');
  sameParams(c, 'esm-kn');
});

const bytesOf = (m: Map<string, Uint8Array>, name: string) => m.get(name)!;

const BAD: readonly [string, () => PickedFile[], RegExp][] = [
  ['a text file', () => files(new Map([['notes.txt', new TextEncoder().encode('hello')]])), /^notes\.txt: not a PyTorch checkpoint/],
  ['a lone safetensors file', () => files(new Map([['model.safetensors', bytesOf(hfFiles(), 'model.safetensors')]])), /^model\.safetensors: a \.safetensors file needs the esm-kn\.json or config\.json beside it/],
  ['a folder without a config', () => files(new Map([['model.safetensors', bytesOf(hfFiles(), 'model.safetensors')]]), 'x'), /^x: folder has neither esm-kn\.json \(esm-kn\) nor config\.json/],
  ['config.json without weights', () => files(new Map([['config.json', bytesOf(hfFiles(), 'config.json')]]), 'x'), /^x\/model\.safetensors: missing/],
  ['truncated safetensors', () => {
    const m = hfFiles();
    m.set('model.safetensors', bytesOf(m, 'model.safetensors').subarray(0, 3000));
    return files(m, 'x');
  }, /^x\/model\.safetensors: .*(truncated|exceed)/],
  ['esm-kn.json that is not JSON', () => files(new Map([['esm-kn.json', new TextEncoder().encode('{"format": ')], ['model.safetensors', new Uint8Array(8)]]), 'm'), /^m\/esm-kn\.json: invalid JSON/],
  ['truncated .pt', () => files(new Map([['tiny.pt', bytesOf(fairEsmFiles(), 'tiny.pt').subarray(0, 4000)]])), /^tiny\.pt: /],
];

for (const [name, picked, pattern] of BAD) {
  test(`bad files: ${name}`, async () => {
    const e = await throwsFormat(() => loadCheckpointFiles(pickedCheckpointFiles(picked())), pattern);
    assert.ok(e instanceof FormatError);
    assert.not.match(e.message, /\n/);
  });
}

test('the Node loader names a missing file by its path', async () => {
  await throwsFormat(() => loadCheckpoint(join(dir, 'nothere')), /nothere: no such file or folder/);
});

test.run();
