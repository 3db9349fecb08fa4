/**
 * Checkpoints in all three forms, written by the test itself, load into the same model; `esm-kn
 * extract` writes what fair-esm's extract.py writes and matches the float64 reference; batching does
 * not change results; bad inputs are one-line errors with a non-zero exit.
 */
import { mkdirSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extract } from '../cli/extract.js';
import { loadCheckpoint, saveProjectCheckpoint } from '../model/checkpoint/node.js';
import { makeConfig } from '../model/config.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readNpzFile, writeSafetensorsFile } from '../io/node_file.js';
import { Namespace, OrderedDict } from '../io/pickle_values.js';
import { writeTorchCheckpoint } from '../io/pt_write.js';
import type { HostTensor } from '../io/tensor.js';
import { canonicalToHfName, initParams } from '../model/params.js';
import { refEsmForward } from '../model/ref/esm.js';
import { encodeSequence } from '../model/tokenizer.js';
import { assertClose } from './lib/compare.js';
import { gpu } from './lib/gpu.js';
import { cli, errorLines } from './lib/cli.js';
import { scratchDir } from './lib/scratch.js';

const config = makeConfig({ numLayers: 2, embedDim: 32, attentionHeads: 4 });
const params = initParams(config, 5, { mode: 'test' });
const dir = scratchDir('extract');
const FASTA = '>seqA first\nMKTAYIAKQR\nQISFVKSHFS\n>seq/B\nGGLLAW\n>seqC\nMSEQNNTEMTFQIQRIYTKDISFEAPNAPHVFQ\n';

const host = (t: { shape: readonly number[]; data: Float32Array }): HostTensor => ({ dtype: 'f32', shape: t.shape, data: t.data });

async function writeFairEsm(path: string): Promise<void> {
  const sd = new OrderedDict<string, HostTensor>();
  for (const [name, t] of params) {
    if (name.startsWith('contact_head.')) continue;
    const prefix = name.startsWith('lm_head.') ? 'encoder.' : 'encoder.sentence_encoder.';
    sd.set(prefix + name, host(t));
  }
  sd.set('encoder.lm_head.weight', host(params.get('embed_tokens.weight')!));
  const cfg = new Namespace({ encoder_layers: 2, encoder_embed_dim: 32, encoder_attention_heads: 4, token_dropout: true });
  await writeFileAtomic(path, writeTorchCheckpoint(new Map<string, unknown>([['model', sd], ['cfg', new Map([['model', cfg]])]])));
  const reg = new OrderedDict<string, HostTensor>([
    ['contact_head.regression.weight', host(params.get('contact_head.regression.weight')!)],
    ['contact_head.regression.bias', host(params.get('contact_head.regression.bias')!)],
  ]);
  await writeFileAtomic(path.replace(/\.pt$/, '-contact-regression.pt'), writeTorchCheckpoint(new Map([['model', reg]])));
}

test.before(async () => {
  await gpu();
  await writeFairEsm(join(dir, 'tiny.pt'));
  mkdirSync(join(dir, 'hf'));
  writeFileSync(join(dir, 'hf', 'config.json'), JSON.stringify({
    num_hidden_layers: 2, hidden_size: 32, num_attention_heads: 4, intermediate_size: 128, vocab_size: 33,
    position_embedding_type: 'rotary', token_dropout: true, layer_norm_eps: 1e-5, mask_token_id: 32, pad_token_id: 1,
    emb_layer_norm_before: false, hidden_act: 'gelu',
  }));
  const hf: [string, HostTensor][] = [...params].filter(([n]) => !n.includes('inv_freq')).map(([n, t]) => [canonicalToHfName(n), host(t)]);
  hf.push(['esm.embeddings.position_ids', { dtype: 'f32', shape: [1, 4], data: new Float32Array(4) }]);
  await writeSafetensorsFile(join(dir, 'hf', 'model.safetensors'), hf);
  writeFileSync(join(dir, 'in.fasta'), FASTA);
});

test('the three checkpoint forms load to the same parameters', async () => {
  const pt = await loadCheckpoint(join(dir, 'tiny.pt'));
  const hf = await loadCheckpoint(join(dir, 'hf'));
  await saveProjectCheckpoint(join(dir, 'own'), { config: pt.config, params: pt.params, meta: { provenance: { test: true } } });
  const own = await loadCheckpoint(join(dir, 'own'));
  assert.equal([pt.format, hf.format, own.format], ['fair-esm', 'huggingface', 'esm-kn']);
  for (const c of [pt, hf, own]) {
    assert.is(c.config.numLayers, 2);
    assert.ok(c.hasContactHead, `${c.format} has the contact head`);
    for (const [name, t] of params) {
      if (name.includes('inv_freq')) continue;
      assert.equal(c.params.get(name)?.data, t.data, `${c.format} ${name}`);
    }
  }
  assert.equal(own.meta.provenance, { test: true });
});

test('extract writes fair-esm arrays that match the float64 reference', async () => {
  const out = join(dir, 'out');
  await extract([join(dir, 'tiny.pt'), join(dir, 'in.fasta'), out, '--repr-layers', '0', '-1', '--include', 'mean', 'per_tok', 'bos', 'contacts', 'logits', '--quiet']);
  assert.equal(readdirSync(out).sort(), ['seqA.npz', 'seqC.npz', 'seq_B.npz']);
  const seq = 'MKTAYIAKQRQISFVKSHFS';
  const tokens = encodeSequence(seq);
  const n = seq.length;
  const want = refEsmForward(config, params, tokens, [1, n + 2], { returnContacts: true });
  const got = await readNpzFile(join(out, 'seqA.npz'));
  const arr = (name: string) => got.get(name)!.data as Float32Array;
  assert.equal([...got.keys()].sort(), ['bos_representations_0', 'bos_representations_2', 'contacts', 'logits', 'mean_representations_0',
    'mean_representations_2', 'representations_0', 'representations_2']);
  assert.equal(got.get('representations_2')!.shape, [n, 32]);
  assert.equal(got.get('contacts')!.shape, [n, n]);
  assert.equal(got.get('logits')!.shape, [n + 2, 33]);
  assertClose(arr('representations_2'), { shape: [n, 32], data: want.hiddens[2]!.slice(32, (n + 1) * 32) }, 3e-5, 'per-token layer 2');
  assertClose(arr('bos_representations_0'), { shape: [32], data: want.hiddens[0]!.slice(0, 32) }, 3e-5, 'bos layer 0');
  assertClose(arr('logits'), { shape: [n + 2, 33], data: want.logits }, 5e-5, 'logits');
  assertClose(arr('contacts'), { shape: [n, n], data: want.contacts! }, 5e-5, 'contacts');
  const mean = new Float64Array(32);
  for (let t = 1; t <= n; t++) for (let d = 0; d < 32; d++) mean[d]! += want.hiddens[2]![t * 32 + d]! / n;
  assertClose(arr('mean_representations_2'), { shape: [32], data: mean }, 3e-5, 'mean layer 2');
});

test('results do not depend on batching', async () => {
  const one = join(dir, 'one');
  const many = join(dir, 'many');
  const opts = ['--include', 'per_tok', 'logits', 'contacts', '--quiet'];
  await extract([join(dir, 'hf'), join(dir, 'in.fasta'), one, '--toks-per-batch', '1', ...opts]);
  await extract([join(dir, 'hf'), join(dir, 'in.fasta'), many, '--toks-per-batch', '100000', ...opts]);
  for (const f of ['seqA.npz', 'seq_B.npz', 'seqC.npz']) {
    const a = await readNpzFile(join(one, f));
    const b = await readNpzFile(join(many, f));
    for (const [k, t] of a) {
      const u = b.get(k)!.data;
      let worst = 0;
      t.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - u[i]!))));
      assert.ok(worst < 2e-5, `${f} ${k}: batched differs by ${worst}`);
    }
  }
});

test('bad inputs are one-line errors with a non-zero exit and no output files', () => {
  writeFileSync(join(dir, 'bad.fasta'), '>x\nMKZJ1\n');
  writeFileSync(join(dir, 'trunc.pt'), 'PK\u0003\u0004 truncated');
  const cases: [string[], RegExp][] = [
    [['extract', join(dir, 'tiny.pt'), join(dir, 'bad.fasta'), join(dir, 'o1')], /bad\.fasta: record 'x': unknown character 'J' at residue 4/],
    [['extract', join(dir, 'trunc.pt'), join(dir, 'in.fasta'), join(dir, 'o2')], /trunc\.pt: /],
    [['extract', join(dir, 'nothere.pt'), join(dir, 'in.fasta'), join(dir, 'o3')], /nothere\.pt: no such file or folder/],
    [['extract', join(dir, 'tiny.pt'), join(dir, 'in.fasta'), join(dir, 'o4'), '--include', 'everything'], /--include everything is not one of/],
    [['extract', join(dir, 'tiny.pt'), join(dir, 'in.fasta'), join(dir, 'o5'), '--repr-layers', '9'], /--repr-layers 9 is outside \[-3, 2\]/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.ok(r.status !== 0, `${args.join(' ')} exits non-zero`);
    const lines = errorLines(r.stderr);
    assert.is(lines.length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0]!, message);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.not.ok(existsSync(join(dir, 'o1', 'x.npz')));
});

test.run();
