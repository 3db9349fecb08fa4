/**
 * torch.save checkpoints: real files written by PyTorch 2 (fair-esm layout, contact regression,
 * bare state dict) read exactly, including f16/bf16/f64/int tensors, a transposed view, a storage
 * offset and tied weights; our writer reproduces PyTorch's file layout and pickle byte for byte;
 * malformed and hostile archives give one-line FormatErrors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { concatBytes } from '../io/bytes.js';
import { readTorchCheckpointFile } from '../io/node_file.js';
import { Namespace, OrderedDict } from '../io/pickle_values.js';
import { GlobalName, pickle, PyFloat, PyTuple, Reduce } from '../io/pickle_write.js';
import { readTorchCheckpoint, type TorchCheckpoint } from '../io/pt.js';
import { TorchStorage, TorchTensor, writeTorchCheckpoint } from '../io/pt_write.js';
import { memorySource } from '../io/source.js';
import type { DType, HostTensor } from '../io/tensor.js';
import { ZipReader } from '../io/zip.js';
import { writeZip } from '../io/zip_write.js';
import { ar, fixtureBytes, fixtureSource, FIXTURES, same, throwsFormat } from './lib/io_fixtures.js';

const P = 'encoder.sentence_encoder.';

/** The dense tensors make_fixtures.py's esm_tiny() saves: [name, dtype, shape, values]. */
const ESM_TINY: [string, DType, number[], number[]][] = [
  [`${P}embed_tokens.weight`, 'f32', [33, 4], ar(132, 0.25)],
  [`${P}layers.0.self_attn.k_proj.weight`, 'f16', [4, 4], ar(16, 0.5, -4)],
  [`${P}layers.0.self_attn.k_proj.bias`, 'bf16', [4], ar(4, 1.5, -2)],
  [`${P}layers.0.fc1.weight`, 'f32', [4, 3], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]], // ar(12).reshape(3, 4).t()
  [`${P}layers.0.fc1.bias`, 'f32', [3], [11.5, 12, 12.5]], // ar(6, 0.5, 10).reshape(2, 3)[1]
  [`${P}emb_layer_norm_after.weight`, 'f64', [4], ar(4, 0.125, 1)],
  ['encoder.lm_head.weight', 'f32', [33, 4], ar(132, 0.25)],
  ['encoder.lm_head.bias', 'f32', [33], ar(33, -0.5)],
  ['encoder.scalar', 'f32', [], [3.5]],
  ['encoder.empty', 'f32', [0, 4], []],
  ['encoder.steps', 'i64', [3], [-(2 ** 40), 7, 2 ** 50]],
  ['encoder.mask', 'bool', [3], [1, 0, 1]],
  ['encoder.i32', 'i32', [2], [-5, 6]],
];

const ESM_TINY_CFG = {
  _name: 'esm2', arch: 'esm2', encoder_layers: 1, encoder_embed_dim: 4, encoder_ffn_embed_dim: 3,
  encoder_attention_heads: 2, token_dropout: true, dropout: 0, max_positions: 1026,
};

function checkTensors(got: Map<string, HostTensor>, expected: [string, DType, number[], number[]][]): void {
  assert.equal([...got.keys()], expected.map((e) => e[0]), 'names in file order');
  for (const [name, dtype, shape, values] of expected) {
    const t = got.get(name)!;
    assert.is(t.dtype, dtype, name);
    assert.equal(t.shape, shape, name);
    assert.instance(t.data, dtype === 'f32' || dtype === 'f16' || dtype === 'bf16' || dtype === 'f64' ? Float32Array : Float64Array, name);
    assert.equal(Array.from(t.data), values, name);
  }
}

function checkEsmTiny(ck: TorchCheckpoint): void {
  checkTensors(ck.tensors, ESM_TINY);
  assert.equal(ck.cfg, ESM_TINY_CFG);
  assert.equal(Object.keys(ck.extra), ['args', 'cfg', 'optimizer_history', 'extra_state']);
  assert.is(ck.extra['args'], null);
  assert.equal((ck.extra['cfg'] as Record<string, unknown>)['common'], { fp16: true, seed: 1 });
  assert.equal(ck.extra['optimizer_history'], [{ criterion_name: 'MaskedLmLoss', num_updates: 500000, lr: [0.0004] }]);
  assert.equal(ck.extra['extra_state'], { epoch: 1, best: 2.5 });
  const embed = ck.tensors.get(`${P}embed_tokens.weight`)!.data;
  assert.ok(embed !== ck.tensors.get('encoder.lm_head.weight')!.data, 'tied tensors do not alias one array');
}

/** The object esm_tiny() passes to torch.save, built with the writer's types. */
function esmTinyReplica(): Map<string, unknown> {
  const storage = (dtype: DType, values: number[]): TorchStorage => new TorchStorage(dtype, values);
  const embed = storage('f32', ar(132, 0.25));
  const sd = new OrderedDict<string, unknown>([
    [`${P}embed_tokens.weight`, new TorchTensor(embed, [33, 4])],
    [`${P}layers.0.self_attn.k_proj.weight`, new TorchTensor(storage('f16', ar(16, 0.5, -4)), [4, 4])],
    [`${P}layers.0.self_attn.k_proj.bias`, new TorchTensor(storage('bf16', ar(4, 1.5, -2)), [4])],
    [`${P}layers.0.fc1.weight`, new TorchTensor(storage('f32', ar(12)), [4, 3], [1, 4])],
    [`${P}layers.0.fc1.bias`, new TorchTensor(storage('f32', ar(6, 0.5, 10)), [3], [1], 3)],
    [`${P}emb_layer_norm_after.weight`, new TorchTensor(storage('f64', ar(4, 0.125, 1)), [4])],
    ['encoder.lm_head.weight', new TorchTensor(embed, [33, 4])],
    ['encoder.lm_head.bias', new TorchTensor(storage('f32', ar(33, -0.5)), [33])],
    ['encoder.scalar', new TorchTensor(storage('f32', [3.5]), [])],
    ['encoder.empty', new TorchTensor(storage('f32', []), [0, 4])],
    ['encoder.steps', new TorchTensor(storage('i64', [-(2 ** 40), 7, 2 ** 50]), [3])],
    ['encoder.mask', new TorchTensor(storage('bool', [1, 0, 1]), [3])],
    ['encoder.i32', new TorchTensor(storage('i32', [-5, 6]), [2])],
  ]);
  sd.attrs = new Map([['_metadata', new OrderedDict([['', new Map([['version', 1]])], ['encoder', new Map([['version', 1]])]])]]);
  const model = new Namespace({ ...ESM_TINY_CFG, dropout: new PyFloat(0) });
  return new Map<string, unknown>([
    ['args', null],
    ['cfg', new Map<string, unknown>([['_name', null], ['common', { fp16: true, seed: 1 }], ['model', model], ['task', { _name: 'masked_lm' }]])],
    ['model', sd],
    ['optimizer_history', [{ criterion_name: 'MaskedLmLoss', num_updates: 500000, lr: [0.0004] }]],
    ['extra_state', { epoch: 1, best: 2.5 }],
  ]);
}

test('real PyTorch checkpoint in fair-esm layout reads exactly (f16, bf16, f64, ints, transposed, offset, tied)', async () => {
  checkEsmTiny(await readTorchCheckpoint(fixtureSource('esm_tiny.pt')));
});

test('the same file through the Node file source', async () => {
  checkEsmTiny(await readTorchCheckpointFile(join(FIXTURES, 'esm_tiny.pt')));
  await throwsFormat(() => readTorchCheckpointFile(join(FIXTURES, 'missing.pt')), /missing\.pt: cannot open \(ENOENT\)/);
});

test('contact-regression companion and a bare state dict', async () => {
  const reg = await readTorchCheckpoint(fixtureSource('esm_tiny-contact-regression.pt'));
  checkTensors(reg.tensors, [
    ['contact_head.regression.weight', 'f32', [1, 2], [-0.5, 0.25]],
    ['contact_head.regression.bias', 'f32', [1], [0.125]],
  ]);
  assert.is(reg.cfg, null);
  const sd = await readTorchCheckpoint(fixtureSource('state_dict.pt'));
  checkTensors(sd.tensors, [['weight', 'f32', [2, 3], ar(6, 0.5)], ['bias', 'f32', [2], [-1, 0]]]);
  assert.equal(sd.extra, {});
});

test('filter reads only the selected tensors', async () => {
  const ck = await readTorchCheckpoint(fixtureSource('esm_tiny.pt'), { filter: (n) => n.startsWith('encoder.lm_head.') });
  assert.equal([...ck.tensors.keys()], ['encoder.lm_head.weight', 'encoder.lm_head.bias']);
});

test('writer reproduces torch.save: same records, offsets, pickle and storage bytes', async () => {
  const mine = concatBytes(writeTorchCheckpoint(esmTinyReplica(), { archiveName: 'esm_tiny' }));
  const real = fixtureBytes('esm_tiny.pt');
  assert.is(mine.length, real.length);
  const a = await ZipReader.open(memorySource(mine, 'mine.pt'));
  const b = await ZipReader.open(memorySource(real, 'esm_tiny.pt'));
  assert.equal(a.entries.map((e) => [e.name, e.size, e.headerOffset]), b.entries.map((e) => [e.name, e.size, e.headerOffset]));
  for (const [i, e] of a.entries.entries()) {
    const offset = await a.dataOffset(e);
    assert.is(offset, await b.dataOffset(b.entries[i]!), `${e.name} data offset`);
    assert.is(offset % 64, 0, `${e.name} is 64-byte aligned`);
    if (e.name.endsWith('serialization_id')) continue; // random in PyTorch
    assert.equal([...(await a.read(e))], [...(await b.read(b.entries[i]!))], `${e.name} bytes`);
  }
  checkEsmTiny(await readTorchCheckpoint(memorySource(mine, 'mine.pt')));
});

test('writer takes HostTensors, shares a storage for a repeated tensor, and writes big-endian storages', async () => {
  const w: HostTensor = { dtype: 'f16', shape: [2, 2], data: Float32Array.of(1, -2, 0.5, 65504) };
  const steps: HostTensor = { dtype: 'i64', shape: [2], data: Float64Array.of(-3, 2 ** 53 - 1) };
  const root = new Map<string, unknown>([
    ['model', new OrderedDict<string, HostTensor>([['a', w], ['b', w], ['steps', steps]])],
    ['cfg', new Map([['model', new Namespace({ encoder_layers: 33, token_dropout: true })]])],
  ]);
  for (const byteorder of ['little', 'big'] as const) {
    const bytes = concatBytes(writeTorchCheckpoint(root, { byteorder }));
    const zip = await ZipReader.open(memorySource(bytes));
    assert.equal(zip.entries.filter((e) => e.name.startsWith('archive/data/')).map((e) => e.name), ['archive/data/0', 'archive/data/1']);
    const ck = await readTorchCheckpoint(memorySource(bytes, `${byteorder}.pt`));
    checkTensors(ck.tensors, [['a', 'f16', [2, 2], [1, -2, 0.5, 65504]], ['b', 'f16', [2, 2], [1, -2, 0.5, 65504]], ['steps', 'i64', [2], [-3, 2 ** 53 - 1]]]);
    assert.equal(ck.cfg, { encoder_layers: 33, token_dropout: true });
  }
});

/** A torch-layout archive with the given records under "archive/". */
function archive(records: [string, Uint8Array][]): Uint8Array {
  return concatBytes(writeZip(records.map(([name, data]) => ({ name: `archive/${name}`, data })), { torch: true }));
}

/** An archive whose data.pkl holds one tensor view (offset, size) of a storage declared with `numel`. */
function viewArchive(numel: number, size: number, offset: number, key = '0', dataBytes = numel * 4): Uint8Array {
  const storage = {};
  const pkl = pickle(new Map([['w', new Reduce(new GlobalName('torch._utils', '_rebuild_tensor_v2'),
    new PyTuple(storage, offset, new PyTuple(size), new PyTuple(1), false, new OrderedDict()))]]), {
    persistentId: (v) => (v === storage ? new PyTuple('storage', new GlobalName('torch', 'FloatStorage'), key, 'cpu', numel) : undefined),
  });
  return archive([['data.pkl', pkl], [`data/${key}`, new Uint8Array(dataBytes)], ['version', Uint8Array.of(0x33, 0x0a)]]);
}

const bad: [string, () => Uint8Array, RegExp][] = [
  ['legacy (pre-1.6) format', () => Uint8Array.of(0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19), /legacy torch\.save format \(PyTorch < 1\.6\) is not supported/],
  ['not a checkpoint', () => new TextEncoder().encode('hello world, not a zip'), /not a PyTorch checkpoint \(no zip signature\)/],
  ['zip without data.pkl', () => concatBytes(writeZip([{ name: 'x/readme.txt', data: Uint8Array.of(1) }])), /no <archive>\/data\.pkl record/],
  ['hostile data.pkl', () => archive([['data.pkl', new TextEncoder().encode("cos\nsystem\n(S'ls'\ntR.")]]), /ckpt\.pt: refusing pickle global os\.system/],
  ['top level is a list', () => archive([['data.pkl', pickle([1])]]), /top-level object is not a dict/],
  ['no state dict', () => archive([['data.pkl', pickle(new Map([['x', 1]]))]]), /no state dict: expected a dict of tensors or a dict with a 'model' or 'state_dict' entry \(entry 'x' is not a tensor\)/],
  ['non-tensor in the state dict', () => archive([['data.pkl', pickle(new Map([['model', new Map([['a', 1]])]]))]]), /state dict 'model': entry 'a' is not a tensor/],
  ['view beyond its storage', () => viewArchive(2, 3, 0), /view \(offset 0, size \[3\], stride \[1\]\) reaches element 2 of storage '0', which has 2/],
  ['offset beyond its storage', () => viewArchive(4, 2, 3), /reaches element 4 of storage '0', which has 4/],
  ['path-like storage key', () => viewArchive(2, 2, 0, '..'), /bad storage key "\.\."/],
  ['storage record of the wrong size', () => viewArchive(4, 4, 0, '0', 12), /record archive\/data\/0 has 12 bytes, but its storage is 4 f32 elements \(16 bytes\)/],
  ['unknown byteorder', () => archive([['data.pkl', pickle(new Map())], ['byteorder', new TextEncoder().encode('middle')]]), /unknown byteorder record 'middle'/],
];

for (const [name, make, pattern] of bad) {
  test(`bad checkpoint: ${name}`, async () => {
    await throwsFormat(() => readTorchCheckpoint(memorySource(make(), 'ckpt.pt')), pattern);
  });
}

test('a tensor whose storage record is absent', async () => {
  const full = await ZipReader.open(memorySource(concatBytes(writeTorchCheckpoint(new Map([['w', { dtype: 'f32', shape: [1], data: Float32Array.of(1) }]])))));
  const kept: [string, Uint8Array][] = [];
  for (const e of full.entries) if (!e.name.endsWith('data/0')) kept.push([e.name.slice('archive/'.length), await full.read(e)]);
  await throwsFormat(() => readTorchCheckpoint(memorySource(archive(kept), 'ckpt.pt')), /tensor 'w' refers to missing record archive\/data\/0/);
});

test('a flipped storage byte is caught by the CRC', async () => {
  const bytes = fixtureBytes('esm_tiny.pt');
  const zip = await ZipReader.open(memorySource(bytes));
  bytes[(await zip.dataOffset(zip.get('esm_tiny/data/3')!)) + 5] ^= 0x40;
  await throwsFormat(() => readTorchCheckpoint(memorySource(bytes, 'esm_tiny.pt')), /esm_tiny\.pt: zip: entry 'esm_tiny\/data\/3' is corrupt \(CRC-32 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8}\)/);
});

test('every truncation of a real checkpoint is a FormatError', async () => {
  const full = fixtureBytes('esm_tiny.pt');
  for (let n = 0; n < full.length; n += 7) {
    await throwsFormat(() => readTorchCheckpoint(memorySource(full.subarray(0, n), 'cut.pt')), /^cut\.pt: /);
  }
});

test('cfg falls back to ESM-1 style args', async () => {
  const root = new Map<string, unknown>([['args', new Namespace({ arch: 'roberta_large', layers: 33 })], ['model', new OrderedDict()]]);
  const ck = await readTorchCheckpoint(memorySource(concatBytes(writeTorchCheckpoint(root))));
  assert.equal(ck.cfg, { arch: 'roberta_large', layers: 33 });
  same(ck.tensors, new Map());
});

test.run();
