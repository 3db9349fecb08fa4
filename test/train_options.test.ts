/**
 * Fine-tuning options that decide what trains and when a run stops: --freeze head-only and
 * all-but-last leave exactly the frozen tensors at their initial values, --patience stops a run whose
 * validation score does not improve; and the repo's enzyme file gets its committed split.
 */
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCheckpoint } from '../model/checkpoint/node.js';
import { makeConfig } from '../model/config.js';
import { selectTask } from '../data/dataset.js';
import { readDataFile } from '../data/files.node.js';
import { initParams } from '../model/params.js';
import { defaultDataFile, splitDataset } from '../train/data.js';
import { finetune } from '../train/finetune.js';
import { gpu } from './lib/gpu.js';
import { compositionFasta, tempDir, tinyFinetune, writeText } from './lib/train_fixtures.js';

const dir = tempDir('options');
const data = writeText(dir, 'composition.fasta', compositionFasta(120, 5));
const init = initParams(makeConfig({ numLayers: 2, embedDim: 32, attentionHeads: 4 }), 0);

test.before(async () => {
  await gpu();
});

/** Names of the tensors in OUT/last that still hold their initial values. */
async function unchanged(out: string): Promise<Set<string>> {
  const ckpt = await loadCheckpoint(join(out, 'last'));
  const same = new Set<string>();
  for (const [name, t] of ckpt.params) {
    const before = init.get(name);
    if (before && t.data.every((v, i) => v === before.data[i])) same.add(name);
  }
  return same;
}

test('--freeze head-only trains the head alone', async () => {
  const out = join(dir, 'head-only');
  await finetune(tinyFinetune(data, out, { freeze: 'head-only', maxSteps: 3 }));
  const same = await unchanged(out);
  for (const name of init.keys()) assert.ok(same.has(name), `${name} is frozen`);
  const head = (await loadCheckpoint(join(out, 'last'))).head!;
  assert.ok(head.params.get('head.out.bias')!.data.some((v) => v !== 0), 'the head trained');
});

test('--freeze all-but-last --train-last 1 trains the last layer, the final LayerNorm and the head', async () => {
  const out = join(dir, 'last-one');
  await finetune(tinyFinetune(data, out, { freeze: 'all-but-last', trainLast: 1, maxSteps: 3 }));
  const same = await unchanged(out);
  for (const name of init.keys()) {
    const trains = (name.startsWith('layers.1.') && !name.includes('inv_freq')) || name.startsWith('emb_layer_norm_after.');
    assert.is(!same.has(name), trains, `${name} ${trains ? 'trains' : 'is frozen'}`);
  }
});

test('--patience stops after that many evaluations without a better score', async () => {
  const out = join(dir, 'patience');
  // A learning rate too small to change float32 weights: every evaluation scores the same.
  const r = await finetune(tinyFinetune(data, out, { lr: 1e-12, maxSteps: 10, evalEvery: 1, patience: 2 }));
  assert.is(r.state.step, 3);
  assert.ok(r.state.done);
  assert.match(r.state.stopReason!, /early stop: no better validation score in 2 evaluations \(best at step 1\)/);
  assert.is((await loadCheckpoint(join(out, 'last'))).meta.training !== undefined, true);
});

test("the repo's enzyme file uses the committed split; another seed computes one", async () => {
  const dataset = selectTask(await readDataFile(defaultDataFile()), 'ec');
  const committed = await splitDataset(dataset, 0);
  assert.match(committed.splitFile!, /experiments\/data\/splits\/ec-seed0\.json$/);
  assert.equal([committed.parts.train.length, committed.parts.valid.length, committed.parts.test.length], [10680, 1336, 1336]);
  const computed = await splitDataset(dataset, 7);
  assert.is(computed.splitFile, null);
  assert.is(computed.parts.test.length, 1336);
  assert.not.equal(computed.parts.test.map((r) => r.id), committed.parts.test.map((r) => r.id));
});

test.run();
