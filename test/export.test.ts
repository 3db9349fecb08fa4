/**
 * `esm-kn export`: a classifier written as Hugging Face, esm-kn and fair-esm checkpoints loads back
 * with the same tensors, head, labels and task, and `predict` on each export equals `predict` on the
 * original to 1e-5, for a mean- and a <cls>-pooled head; the files carry the names and keys
 * transformers and fair-esm read, a model without a contact head or rotary buffers included; --force
 * replaces an earlier export of any form, keeping other files; bad requests are one-line errors.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exportCommand } from '../cli/export.js';
import { isExportFileName } from '../model/checkpoint/export.js';
import { predictCommand } from '../cli/predict.js';
import { detectFormat, loadCheckpoint, saveProjectCheckpoint } from '../model/checkpoint/node.js';
import { paramSpec } from '../model/params.js';
import { readSafetensorsFile, readTorchCheckpointFile } from '../io/node_file.js';
import { cli, errorLines } from './lib/cli.js';
import { LABELS, parseTsv, tinyClassifierFolder, writeFasta } from './lib/classifier_fixtures.js';
import { gpu } from './lib/gpu.js';
import { scratchDir } from './lib/scratch.js';

const dir = scratchDir('export');
const FORMATS = [['hf', 'hf'], ['esm-kn', 'own'], ['fair-esm', 'pt']] as const;

test.before(async () => {
  await gpu();
  writeFasta(join(dir, 'in.fasta'), 6, 9);
});

async function predictions(model: string, out: string): Promise<number[][]> {
  await predictCommand([model, join(dir, 'in.fasta'), '--out', out, '--quiet']);
  const { header, rows } = parseTsv(readFileSync(out, 'utf8'));
  assert.equal(header, ['id', 'predicted', ...LABELS]);
  return rows.map((r) => r.slice(2).map(Number));
}

for (const pooling of ['mean', 'cls'] as const) {
  test(`export -> load round trips in all three formats (${pooling} pooling)`, async () => {
    const src = join(dir, `${pooling}-src`);
    await tinyClassifierFolder(src, pooling === 'mean' ? 31 : 32, pooling);
    const original = await loadCheckpoint(src);
    const want = await predictions(src, join(dir, `${pooling}-src.tsv`));
    for (const [format, name] of FORMATS) {
      const out = join(dir, `${pooling}-${name}`);
      await exportCommand([src, '--format', format, '--out', out]);
      assert.ok(readdirSync(out).every(isExportFileName), `${format}: every file is one --force knows (${readdirSync(out).join(', ')})`);
      const model = format === 'fair-esm' ? join(out, 'esm2_t2_16d_esm-kn.pt') : out;
      const back = await loadCheckpoint(model);
      assert.is(back.head?.pooling, pooling, `${format} pooling`);
      assert.equal(back.head?.labels, LABELS, `${format} labels`);
      assert.is(back.meta.task, 'test', `${format} keeps the task`);
      assert.ok(back.hasContactHead, `${format} keeps the contact head`);
      for (const [n, t] of original.params) assert.equal(back.params.get(n)?.data, t.data, `${format} ${n}`);
      for (const [n, t] of original.head!.params) assert.equal(back.head!.params.get(n)?.data, t.data, `${format} ${n}`);
      const got = await predictions(model, join(dir, `${pooling}-${name}.tsv`));
      got.forEach((row, r) => row.forEach((v, c) => assert.ok(Math.abs(v - want[r]![c]!) <= 1e-5, `${format} record ${r} class ${c}: ${v} vs ${want[r]![c]}`)));
    }
  });
}

test('the Hugging Face export has transformers names and EsmConfig keys', async () => {
  const out = join(dir, 'mean-hf');
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(config.architectures, ['EsmForSequenceClassification']);
  assert.is(config.model_type, 'esm');
  assert.is(config.position_embedding_type, 'rotary');
  assert.is(config.token_dropout, true);
  assert.is(config.hidden_size, 16);
  assert.is(config.num_hidden_layers, 2);
  assert.is(config.intermediate_size, 64);
  assert.is(config.classifier_pooling, 'mean');
  assert.equal(config.id2label, { 0: LABELS[0], 1: LABELS[1], 2: LABELS[2] });
  assert.equal(config.label2id, { [LABELS[0]!]: 0, [LABELS[1]!]: 1, [LABELS[2]!]: 2 });
  const st = await readSafetensorsFile(join(out, 'model.safetensors'));
  assert.is(st.metadata.format, 'pt');
  const names = [...st.tensors.keys()];
  for (const n of ['esm.embeddings.word_embeddings.weight', 'esm.encoder.layer.1.attention.self.query.weight', 'esm.encoder.layer.0.attention.output.dense.bias',
    'esm.encoder.layer.0.intermediate.dense.weight', 'esm.encoder.layer.1.LayerNorm.weight', 'esm.encoder.emb_layer_norm_after.weight',
    'esm.contact_head.regression.weight', 'classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias']) {
    assert.ok(names.includes(n), `model.safetensors has ${n}`);
  }
  assert.not.ok(names.some((n) => n.startsWith('head.')), 'no esm-kn head names');
  assert.equal(st.tensors.get('classifier.out_proj.weight')!.shape, [3, 16]);
  assert.is(readFileSync(join(out, 'vocab.txt'), 'utf8').split('\n')[4], 'L');
});

test('the fair-esm export has fair-esm keys, cfg and the contact companion', async () => {
  const out = join(dir, 'cls-pt');
  const pt = await readTorchCheckpointFile(join(out, 'esm2_t2_16d_esm-kn.pt'));
  assert.equal(pt.cfg && [pt.cfg.encoder_layers, pt.cfg.encoder_embed_dim, pt.cfg.encoder_attention_heads, pt.cfg.token_dropout], [2, 16, 2, true]);
  const names = [...pt.tensors.keys()];
  for (const n of ['encoder.sentence_encoder.embed_tokens.weight', 'encoder.sentence_encoder.layers.1.self_attn.q_proj.weight', 'encoder.sentence_encoder.emb_layer_norm_after.bias', 'encoder.lm_head.weight', 'encoder.lm_head.dense.weight']) {
    assert.ok(names.includes(n), `state dict has ${n}`);
  }
  assert.not.ok(names.some((n) => n.includes('head.dense') && !n.includes('lm_head')), 'the head stays out of the state dict fair-esm loads');
  const reg = await readTorchCheckpointFile(join(out, 'esm2_t2_16d_esm-kn-contact-regression.pt'));
  assert.equal([...reg.tensors.keys()], ['contact_head.regression.weight', 'contact_head.regression.bias']);
});

test('fair-esm export of a model without a contact head or rotary buffers: every key fair-esm loads, read back as the original', async () => {
  const full = await loadCheckpoint(join(dir, 'mean-src'));
  const bare = new Map([...full.params].filter(([n]) => !n.startsWith('contact_head.') && !n.endsWith('.inv_freq')));
  const src = join(dir, 'bare-src');
  await saveProjectCheckpoint(src, { config: full.config, params: bare, head: full.head, meta: { task: 'test' } });
  const out = join(dir, 'bare-pt');
  const r = cli('export', src, '--format', 'fair-esm', '--out', out);
  assert.is(r.status, 0, r.stderr);
  assert.match(errorLines(r.stderr).join('\n'), /export: note: the model has no contact head: the -contact-regression\.pt companion fair-esm requires holds zeros/);
  const pt = await readTorchCheckpointFile(join(out, 'esm2_t2_16d_esm-kn.pt'));
  const reg = await readTorchCheckpointFile(join(out, 'esm2_t2_16d_esm-kn-contact-regression.pt'));
  // fair-esm loads strictly with a companion: the two files hold exactly its ESM2 state dict's keys.
  const keys = [...pt.tensors.keys(), ...reg.tensors.keys()].map((k) => k.replace(/^encoder\.(sentence_encoder\.)?/, ''));
  assert.equal(keys.sort(), paramSpec(full.config).map((p) => p.name).sort());
  assert.equal(reg.tensors.get('contact_head.regression.weight')!.shape, [1, 4]);
  assert.ok([...reg.tensors.values()].every((t) => t.data.every((v) => v === 0)), 'a zero contact regression');
  for (const l of [0, 1]) {
    // fair-esm's 1 / 10000^(arange(0, Dh, 2) / Dh) for Dh = 8, in float32.
    const invFreq = Array.from(pt.tensors.get(`encoder.sentence_encoder.layers.${l}.self_attn.rot_emb.inv_freq`)!.data);
    invFreq.forEach((v, i) => assert.ok(Math.abs(v - 10 ** -i) <= 1e-7 * 10 ** -i, `layer ${l} inv_freq[${i}] ${v}`));
    assert.equal(invFreq, Array.from(full.params.get(`layers.${l}.self_attn.rot_emb.inv_freq`)!.data), 'the float32 values a fresh model holds');
  }
  const model = join(out, 'esm2_t2_16d_esm-kn.pt');
  const back = await loadCheckpoint(model);
  assert.not.ok(back.hasContactHead, 'an all-zero regression reads back as no contact head');
  for (const [n, t] of full.params) if (!n.startsWith('contact_head.')) assert.equal(back.params.get(n)?.data, t.data, n);
  const want = await predictions(join(dir, 'mean-src'), join(dir, 'bare-want.tsv'));
  const got = await predictions(model, join(dir, 'bare-pt.tsv'));
  got.forEach((row, i) => row.forEach((v, c) => assert.ok(Math.abs(v - want[i]![c]!) <= 1e-5, `record ${i} class ${c}: ${v} vs ${want[i]![c]}`)));
});

test('export --force replaces an earlier export of another form and keeps other files', async () => {
  const src = join(dir, 'mean-src');
  const original = await loadCheckpoint(src);
  const out = join(dir, 'forced');
  await exportCommand([src, '--format', 'hf', '--out', out]);
  // The user's own files, one with a name close to an export's, and a fair-esm export of another size.
  writeFileSync(join(out, 'notes.txt'), 'mine\n');
  writeFileSync(join(out, 'config.json.bak'), '{}\n');
  writeFileSync(join(out, 'esm2_t6_320d_esm-kn.pt'), 'stale\n');
  const expected: [string, string[], string][] = [
    ['fair-esm', ['esm2_t2_16d_esm-kn-contact-regression.pt', 'esm2_t2_16d_esm-kn.pt'], 'esm2_t2_16d_esm-kn.pt'],
    ['hf', ['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt'], ''],
    ['esm-kn', ['esm-kn.json', 'model.safetensors'], ''],
    ['hf', ['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt'], ''],
  ];
  for (const [format, files, model] of expected) {
    const r = cli('export', src, '--format', format, '--out', out, '--force');
    assert.is(r.status, 0, r.stderr);
    assert.equal(readdirSync(out).sort(), [...files, 'config.json.bak', 'notes.txt'].sort(), `after --force ${format}`);
    const back = await loadCheckpoint(join(out, model));
    assert.is(back.format, format === 'hf' ? 'huggingface' : format);
    for (const [n, t] of original.params) assert.equal(back.params.get(n)?.data, t.data, `${format} ${n}`);
  }
  assert.is(detectFormat(out), 'huggingface');
  assert.is(readFileSync(join(out, 'notes.txt'), 'utf8'), 'mine\n');
});

test('export: bad requests are one-line errors', () => {
  const cases: [string[], RegExp][] = [
    [['export', join(dir, 'mean-src'), '--format', 'onnx', '--out', join(dir, 'x1')], /--format onnx is not one of hf, esm-kn, fair-esm/],
    [['export', join(dir, 'mean-src'), '--format', 'hf', '--out', join(dir, 'mean-hf')], /mean-hf is not empty \(--force replaces an earlier export's files in it\)/],
    [['export', join(dir, 'nothere'), '--format', 'hf', '--out', join(dir, 'x2')], /nothere: no such file or folder/],
    [['export', join(dir, 'mean-src'), '--out', join(dir, 'x3')], /--format hf\|esm-kn\|fair-esm is required/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.ok(r.status !== 0, `${args.join(' ')} exits non-zero`);
    const lines = errorLines(r.stderr);
    assert.is(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0]!, message);
  }
  assert.not.ok(existsSync(join(dir, 'x1')));
});

test.run();
