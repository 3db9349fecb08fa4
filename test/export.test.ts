/**
 * `esm-kn export`: a classifier written as Hugging Face, esm-kn and fair-esm checkpoints loads back
 * with the same tensors, head, labels and task, and `predict` on each export equals `predict` on the
 * original to 1e-5, for a mean- and a <cls>-pooled head; the files carry the names and keys
 * transformers and fair-esm read; bad requests are one-line errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exportCommand } from '../cli/export.js';
import { predictCommand } from '../cli/predict.js';
import { loadCheckpoint } from '../model/checkpoint/node.js';
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

test('export: bad requests are one-line errors', () => {
  const cases: [string[], RegExp][] = [
    [['export', join(dir, 'mean-src'), '--format', 'onnx', '--out', join(dir, 'x1')], /--format onnx is not one of hf, esm-kn, fair-esm/],
    [['export', join(dir, 'mean-src'), '--format', 'hf', '--out', join(dir, 'mean-hf')], /mean-hf is not empty \(--force writes into it\)/],
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
