/** Splits: stratified, disjoint, complete, reproducible, equal to the committed files, validated on read, written atomically. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDataFile, selectTask, TASK_NAMES, type DataFile, type TaskDataset, type TaskName } from '../data/dataset.js';
import { readDataFile, readSplitFile, splitPath, writeSplitFile } from '../data/files.node.js';
import { applySplit, checkSplit, DEFAULT_FRACTIONS, makeSplit, serializeSplit, SPLIT_CAVEAT, SPLIT_PARTS, type DataSplit } from '../data/split.js';
import { throwsFormat } from './lib/io_fixtures.js';

let real: DataFile | null = null;
async function task(name: TaskName): Promise<TaskDataset> {
  real ??= await readDataFile();
  return selectTask(real, name);
}

function inTempDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esm-kn-split-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true });
    }
  };
}

for (const name of TASK_NAMES) {
  test(`${name}: stratified within one record, disjoint, complete`, async () => {
    const ds = await task(name);
    const split = makeSplit(ds);
    const part = new Map<string, string>();
    for (const p of SPLIT_PARTS) for (const id of split[p]) {
      assert.not.ok(part.has(id), `${id} in ${part.get(id)} and ${p}`);
      part.set(id, p);
    }
    assert.is(part.size, ds.records.length, 'every record in exactly one part');
    const counts = Object.fromEntries(SPLIT_PARTS.map((p) => [p, ds.classNames.map(() => 0)]));
    for (const r of ds.records) counts[part.get(r.id)!]![r.label]!++;
    ds.classCounts.forEach((n, c) => {
      for (const p of SPLIT_PARTS) {
        const got = counts[p]![c]!;
        assert.ok(Math.abs(got - n * DEFAULT_FRACTIONS[p]) <= 1, `${name} ${p} class ${c}: ${got} of ${n}`);
        assert.is(split.counts[p][ds.classNames[c]!], got, 'recorded counts');
      }
    });
    const parts = applySplit(ds, split);
    assert.equal(parts.test.map((r) => r.id), [...split.test]);
    const label = new Map(ds.records.map((r) => [r.id, r.label]));
    assert.ok(parts.train.every((r) => r.label === label.get(r.id)));
    assert.is(parts.train.length + parts.valid.length + parts.test.length, ds.records.length);
  });
}

test('reproducible: same seed same split, another seed another, record order irrelevant', async () => {
  const ds = await task('ec');
  const a = makeSplit(ds, { seed: 0 });
  assert.equal(makeSplit(ds, { seed: 0 }), a);
  const b = makeSplit(ds, { seed: 1 });
  const shared = b.test.filter((id) => new Set(a.test).has(id)).length;
  assert.ok(shared < b.test.length * 0.2, `seed 1 test set shares ${shared} of ${b.test.length} with seed 0`);
  const reversed = { ...ds, records: [...ds.records].reverse() };
  assert.equal(makeSplit(reversed, { seed: 0 }), a);
  assert.is(a.caveat, SPLIT_CAVEAT);
  assert.match(a.caveat, /not by sequence identity/);
});

for (const name of TASK_NAMES) {
  test(`${name}: the committed split equals a fresh one and reads back`, async () => {
    const ds = await task(name);
    const path = splitPath(name, 0);
    assert.is(readFileSync(path, 'utf8'), serializeSplit(makeSplit(ds)), `${path} is stale; rerun experiments/data/make_splits.ts`);
    const split = await readSplitFile(path, ds);
    assert.is(split.data.content_sha256, ds.sha256);
    assert.is(split.data.file, 'enzymes.tsv.gz');
  });
}

const header = 'accession\tec\tec_class\tsource\tsequence\n';
const rows = (n: number): string =>
  Array.from({ length: n }, (_, i) => `Q${String(i).padStart(3, '0')}\t${i % 2 ? '\t0' : '2.1.1.1\t2'}\ts\t${'MKV'.repeat(70 + (i % 5))}\n`).join('');
async function small(text = header + rows(40)): Promise<TaskDataset> {
  return selectTask(await parseDataFile(text, 'small.tsv'), 'enzyme');
}

type Edit = (s: Record<string, unknown>) => void;
const badSplits: [string, Edit, RegExp][] = [
  ['unknown accession named', (s) => ((s.test as string[])[0] = 'P99999'), /^s\.json: accession 'P99999' \(test\) is not among the 40 records of small\.tsv for task enzyme$/],
  ['accession in two parts', (s) => (s.valid as string[]).push((s.train as string[])[0]!), /s\.json: accession 'Q\d+' is in both train and valid/],
  ['accession twice', (s) => (s.test as string[]).push((s.test as string[])[0]!), /s\.json: accession 'Q\d+' appears twice in test/],
  ['record in no part', (s) => (s.train as string[]).pop(), /s\.json: 1 records of small\.tsv for task enzyme are in no part \(first 'Q\d+'\)/],
  ['another task', (s) => (s.task = 'ec+non'), /s\.json: split is for task 'ec\+non', the data was selected for task 'enzyme'/],
  ['changed data', (s) => ((s.data as Record<string, unknown>).content_sha256 = '0'.repeat(64)), /s\.json: data content hash [0-9a-f]{12}\.\.\. of small\.tsv differs from the split's 000000000000\.\.\./],
  ['not a split', (s) => delete s.format, /s\.json: not an esm-kn split file/],
  ['newer version', (s) => (s.version = 2), /s\.json: split format version 2, this code reads version 1/],
  ['part not a list', (s) => (s.valid = 'Q001'), /s\.json: 'valid' must be a list of accessions/],
];

for (const [name, edit, pattern] of badSplits) {
  test(`bad split: ${name}`, async () => {
    const ds = await small();
    const json = JSON.parse(serializeSplit(makeSplit(ds))) as Record<string, unknown>;
    checkSplit(structuredClone(json), ds, 's.json');
    edit(json);
    await throwsFormat(() => checkSplit(json, ds, 's.json'), pattern);
  });
}

test('a sequence change is caught by the content hash', async () => {
  const ds = await small();
  const split = makeSplit(ds);
  const changed = await small(header + rows(40).replace('MKVMKV', 'MKVMKW'));
  await throwsFormat(() => checkSplit(split, changed, 's.json'), /labels or sequences changed since the split was made/);
});

test('bad options are errors', async () => {
  const ds = await small();
  assert.throws(() => makeSplit(ds, { fractions: { train: 0.8, valid: 0.1, test: 0.2 } }), /sum to 1/);
  assert.throws(() => makeSplit(ds, { seed: -1 }), /split seed must be an integer/);
  const tiny = makeSplit(ds, { fractions: { train: 0.5, valid: 0, test: 0.5 } });
  assert.equal([tiny.train.length, tiny.valid.length, tiny.test.length], [20, 0, 20]);
});

test('split files: read back, unreadable files named', inTempDir(async (dir) => {
  const ds = await small();
  const split: DataSplit = makeSplit(ds);
  const path = join(dir, 'enzyme-seed0.json');
  await writeSplitFile(path, split);
  assert.equal(await readSplitFile(path, ds), JSON.parse(serializeSplit(split)));
  writeFileSync(path, '{"format": ');
  await throwsFormat(() => readSplitFile(path, ds), /enzyme-seed0\.json: not JSON/);
  await throwsFormat(() => readSplitFile(join(dir, 'none.json'), ds), /none\.json: cannot open \(ENOENT\)/);
}));

test('a write that fails half-way leaves the old file and no temporary file', inTempDir(async (dir) => {
  const ds = await small();
  const split = makeSplit(ds);
  // The data is written to a temporary file, then the rename onto a non-empty directory fails.
  const blocked = join(dir, 'blocked.json');
  mkdirSync(blocked);
  writeFileSync(join(blocked, 'keep'), 'x');
  let failed = false;
  await writeSplitFile(blocked, split).catch(() => (failed = true));
  assert.ok(failed);
  assert.equal(readdirSync(dir), ['blocked.json']);
  assert.equal(readdirSync(blocked), ['keep']);
  failed = false;
  await writeSplitFile(join(dir, 'missing', 'x.json'), split).catch(() => (failed = true));
  assert.ok(failed);
  assert.equal(readdirSync(dir), ['blocked.json']);
}));

test.run();
