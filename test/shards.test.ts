/**
 * Sharded studies: `neurons score --shard K/N` for every K, merged in any order by `neurons merge`,
 * equals the unsharded scores (IG with a mean-activation baseline, which every shard averages over all
 * examples); merge refuses a missing, repeated or mismatched shard and a file that is not a shard with
 * one-line errors naming the file; shards match by the model's weights hash, not its path (a copy
 * elsewhere merges, other weights at the same path do not; older shards without the hash match by
 * path, with a note); `extract --shard K/N` splits the records into disjoint files.
 */
import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extract } from '../cli/extract.js';
import { neuronsCommand } from '../cli/neurons.js';
import { EC_CLASS_NAMES } from '../data/dataset.js';
import { loadScores, saveScores } from '../kn/scores_io.js';
import { exportCheckpoint, loadCheckpoint, saveProjectCheckpoint } from '../model/checkpoint/node.js';
import { weightsSha256 } from '../model/weights_hash.node.js';
import { shardIndices } from '../kn/shards.js';
import { cli, errorLines } from './lib/cli.js';
import { gpu } from './lib/gpu.js';
import { tinyClassifier } from './lib/kn_fixtures.js';
import { scratchDir } from './lib/scratch.js';
import { compositionFasta } from './lib/train_fixtures.js';

const dir = scratchDir('shards');
const data = join(dir, 'composition.fasta');
const model = join(dir, 'model');
const common = ['--data', data, '--examples', '1', '--steps', '2', '--baseline', 'mean', '--max-len', '24', '--quiet'];
const file = (name: string) => join(dir, `${name}.safetensors`);

/** A tiny classifier with the ec task's class names (so the study setup accepts it) saved at `path`. */
async function saveModel(path: string, seed: number): Promise<void> {
  const tiny = tinyClassifier(seed, 2, 16, 7);
  await saveProjectCheckpoint(path, {
    config: tiny.config, params: tiny.params, meta: { task: 'ec' },
    head: { pooling: 'mean', labels: EC_CLASS_NAMES.slice(1), params: new Map([...tiny.headParams].map(([n, d]) => [n, { shape: n === 'head.dense.weight' ? [16, 16] : n === 'head.out.weight' ? [7, 16] : [d.length], data: d }])) },
  });
}

/** Shard 2/3 rewritten as an older esm-kn wrote it (no model_sha256), from `modelPath`. */
async function legacyShard(name: string, modelPath: string): Promise<void> {
  const s = await loadScores(file('s2of3'));
  const { model_sha256: _hash, ...meta } = s.meta;
  await saveScores(file(name), { ...s, meta: { ...meta, model_path: modelPath } });
}

test.before(async () => {
  await gpu();
  writeFileSync(data, compositionFasta(90, 2));
  await saveModel(model, 4);
  await neuronsCommand(['score', model, '--out', file('full'), ...common]);
  for (const k of [1, 2, 3]) await neuronsCommand(['score', model, '--out', file(`s${k}of3`), '--shard', `${k}/3`, ...common]);
  await neuronsCommand(['score', model, '--out', file('s1of2'), '--shard', '1/2', ...common]);
  await neuronsCommand(['score', model, '--out', file('s2steps3'), '--shard', '2/3', ...common.map((a) => (a === '2' ? '3' : a))]);
  // The same weights at another path; then other weights at the original path (the last scoring from it).
  cpSync(model, join(dir, 'model-copy'), { recursive: true });
  await neuronsCommand(['score', join(dir, 'model-copy'), '--out', file('s2copy'), '--shard', '2/3', ...common]);
  await saveModel(model, 5);
  await neuronsCommand(['score', model, '--out', file('s2other'), '--shard', '2/3', ...common]);
  await legacyShard('legacy2', model);
  await legacyShard('legacy2moved', join(dir, 'elsewhere'));
});

test('merged shards equal the unsharded scores', async () => {
  const full = await loadScores(file('full'));
  const E = full.examples.length;
  assert.ok(E >= 3, `${E} examples`);
  const s2 = await loadScores(file('s2of3'));
  assert.equal(s2.examples.map((e) => e.id), shardIndices(E, 2, 3).map((i) => full.examples[i]!.id), 'shard 2/3 holds examples 1, 4, ...');
  const r = cli('neurons', 'merge', file('s3of3'), file('s1of3'), file('s2of3'), '--out', file('merged'));
  assert.is(r.status, 0, r.stderr);
  const merged = await loadScores(file('merged'));
  assert.equal(merged.examples, full.examples);
  assert.is(merged.method, 'ig');
  assert.equal(merged.classNames, full.classNames);
  assert.not.ok('shard' in merged.meta, 'the merged file is not a shard');
  const close = (a: Float32Array, b: Float32Array, what: string) => {
    assert.is(a.length, b.length, what);
    let scale = 0;
    for (const v of b) scale = Math.max(scale, Math.abs(v));
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= 1e-5 * scale + 1e-7, `${what} ${i}: ${v} vs ${b[i]}`));
  };
  close(merged.values, full.values, 'values');
  close(merged.completeness!, full.completeness!, 'completeness');
});

test('merge refuses missing, repeated and mismatched shards with one-line errors', () => {
  const cases: [string[], RegExp][] = [
    [[file('s1of3'), file('s3of3')], /s1of3\.safetensors: its set of 3 shards lacks shard 2\/3 \(given 1, 3\)/],
    [[file('s1of3'), file('s2of3'), file('s2of3'), file('s3of3')], /s2of3\.safetensors: repeats shard 2\/3 \(also .*s2of3\.safetensors\)/],
    [[file('s1of3'), file('s1of2'), file('s3of3')], /s1of2\.safetensors: shard 1\/2 does not match .*s1of3\.safetensors: a shard of 2, not of 3/],
    [[file('s1of3'), file('s2steps3'), file('s3of3')], /s2steps3\.safetensors: shard 2\/3 does not match .*: different settings or provenance/],
    [[file('s1of3'), file('s2other'), file('s3of3')], /s2other\.safetensors: shard 2\/3 does not match .*s1of3\.safetensors: scored with other weights \(model sha256 [0-9a-f]{12}\.\.\. from (\S+), not [0-9a-f]{12}\.\.\. from \1\)$/],
    [[file('s1of3'), file('legacy2moved'), file('s3of3')], /legacy2moved\.safetensors: shard 2\/3 does not match .*s1of3\.safetensors: scored with the model at \S+elsewhere, not \S+model \(a shard without model_sha256.*rescore it/],
    [[file('full'), file('s1of3')], /full\.safetensors: is not a shard/],
    [[file('s1of3'), join(dir, 'nothere.safetensors')], /nothere\.safetensors: cannot open/],
  ];
  for (const [shards, message] of cases) {
    const r = cli('neurons', 'merge', ...shards, '--out', file('bad'));
    assert.ok(r.status !== 0, `${shards.join(' ')} exits non-zero`);
    const lines = errorLines(r.stderr);
    assert.is(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0]!, message);
  }
});

test('merge matches shards by the weights hash: a copy at another path merges; an older shard by path, with a note', async () => {
  const full = await loadScores(file('full'));
  const copy = await loadScores(file('s2copy'));
  assert.is(full.meta.model_sha256, copy.meta.model_sha256, 'one hash for the model and its copy');
  assert.is.not(full.meta.model_path, copy.meta.model_path);
  let r = cli('neurons', 'merge', file('s1of3'), file('s2copy'), file('s3of3'), '--out', file('merged-copy'));
  assert.is(r.status, 0, r.stderr);
  assert.equal((await loadScores(file('merged-copy'))).examples, full.examples);
  r = cli('neurons', 'merge', file('s1of3'), file('legacy2'), file('s3of3'), '--out', file('merged-legacy'));
  assert.is(r.status, 0, r.stderr);
  assert.match(errorLines(r.stderr).join('\n'), /neurons merge: note: \S+legacy2\.safetensors: no model_sha256 \(scored by an older esm-kn\): the shards' model was matched by its path only/);
});

test('weightsSha256: independent of the file form and tensor order, changed by any backbone or head value, blind to the contact head', async () => {
  const copy = await loadCheckpoint(join(dir, 'model-copy'));
  const hash = weightsSha256(copy.params, copy.head!.params);
  assert.is(hash, (await loadScores(file('full'))).meta.model_sha256, 'the hash score stored');
  assert.match(hash, /^[0-9a-f]{64}$/);
  await exportCheckpoint(copy, 'hf', join(dir, 'model-hf'), 'model-copy');
  const hf = await loadCheckpoint(join(dir, 'model-hf'));
  assert.is(weightsSha256(hf.params, hf.head!.params), hash, 'the same weights as a Hugging Face folder');
  assert.is(weightsSha256(new Map([...copy.params].reverse()), copy.head!.params), hash, 'tensor order');
  assert.is.not(weightsSha256(copy.params), hash, 'the head counts');
  const nudged = (name: string) => new Map([...copy.params].map(([n, t]) => [n, n === name ? { shape: t.shape, data: t.data.map((v, i) => (i === 3 ? v + 1 : v)) } : t]));
  assert.is.not(weightsSha256(nudged('layers.1.fc2.weight'), copy.head!.params), hash, 'one value of one tensor');
  assert.is(weightsSha256(nudged('contact_head.regression.weight'), copy.head!.params), hash, 'not the contact head');
});

test('extract --shard K/N splits the records into disjoint files', async () => {
  const fasta = join(dir, 'in.fasta');
  writeFileSync(fasta, Array.from({ length: 5 }, (_, i) => `>r${i}\nMKV${'A'.repeat(i)}\n`).join(''));
  const files: string[][] = [];
  for (const k of [1, 2]) {
    const out = join(dir, `x${k}`);
    await extract([model, fasta, out, '--shard', `${k}/2`, '--quiet']);
    files.push(readdirSync(out).sort());
  }
  assert.equal(files, [['r0.npz', 'r2.npz', 'r4.npz'], ['r1.npz', 'r3.npz']]);
  const r = cli('extract', model, fasta, join(dir, 'x3'), '--shard', '3/2');
  assert.match(errorLines(r.stderr)[0]!, /--shard must be K\/N with 1 <= K <= N, got '3\/2'/);
});

test.run();
