/**
 * The engine in a real browser: Debian's chromium (SwiftShader: 256 invocations per workgroup, 10
 * storage buffers per stage, subgroups of 4, no f16) runs a representative subset of the op cases
 * (test/cases), the fused matmul epilogues, AdamW, an ESM-2 forward layer by layer (fused and unfused
 * attention) and fused integrated gradients on inputs drawn here, and must agree with this process's GPU
 * (Dawn/lavapipe) and with the float64 reference. Both sides run the same code (test/lib/run_case.ts).
 * Browser and Node are compared with the float32 tolerance of the reference comparison: exp, log and
 * tanh differ by a few ULP between SwiftShader and lavapipe, far inside it (shaders never take sin/cos:
 * rotary tables come from the host). One chromium launch for the suite.
 * ESMKN_BROWSER_CASES=all runs every op case (slow: pipeline creation costs 0.1-0.9 s on SwiftShader).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'playwright-core';
import { type Arr, randn } from '../engine/ref/array.js';
import { rng } from '../engine/random.js';
import { adamwStepRef } from '../engine/ref/adamw.js';
import { REF } from '../engine/ref/index.js';
import type { RefOp } from '../engine/ref/op.js';
import { erf } from '../engine/ref/special.js';
import { makeConfig } from '../model/config.js';
import { initParams } from '../model/params.js';
import { refEsmForward } from '../model/ref/esm.js';
import { NEURON_MODULES } from '../model/esm.js';
import { exampleTokens } from '../kn/examples.js';
import { neuronOffset, neuronLayout } from '../kn/layout.js';
import { quadrature } from '../kn/quadrature.js';
import { refIntegratedGradients } from '../kn/ref/ig.js';
import { ALL_CASES } from './cases/index.js';
import { drawInputs } from './lib/case.js';
import { assertClose, f32Tolerance } from './lib/compare.js';
import { gpu } from './lib/gpu.js';
import { type TestPage, openTestPage } from './lib/page.js';
import { type AdamWCase, type WireHead, type WireParams, caseId, runAdamW, runEsmForward, runFusedLinear, runIgScores, runOpCase } from './lib/run_case.js';
import { randomRecords, refHead, tinyClassifier } from './lib/kn_fixtures.js';

/** The subset: every op family, awkward sizes, masks, broadcasting, workgroup-filling rows. */
const SUBSET = [
  'exp [1,1000]', 'log [3,5,7]', 'tanh [65,3]', 'gelu wide range', 'sigmoid [300,7]', 'pow p=0.5',
  'add bias [5,3,7]+[7]', 'mul [1,9]*[8,1]', 'div [3,4,5]/[3,1,5]',
  'sum non-contiguous [4,3,5,2] axes 0,2', 'mean middle [2,129,3]', 'max last [6,77]',
  'permute BLHD->BHLD [2,5,3,7]', 'concat axis 1 of three', 'slice [5,9] rows 1..4 cols 2..7',
  'matmul 65x127 . 127x33', 'matmul 127x9 . 9x65 (row tile edge)', 'matmul transA transB (17,3)^T . (65,17)^T',
  'matmul linear (2,7,33) . (17,33)^T + 17', 'matmul broadcast (2,1,5,17) . (3,17,7)', 'matmul long K 3x1000 . 1000x5',
  'matmul size-1 dims (4,1,33) . 33x1',
  'gather V=33 D=320 [2,37]', 'gather V=600 D=3 [2,300] two radix passes',
  'softmax N=17 [257,17] partial workgroup', 'softmax N=9000 [2,9000] whole workgroup per row',
  'softmax padding mask [3,2,6,6]', 'softmax fully masked batch [3,2,5,9]',
  'layernorm D=129 [3,129]', 'layernorm D=4100 [2,4100] whole workgroup per row', 'layernorm rows 700 chunked dgamma [7,100,9]',
  'rotary L=300 Dh=64 [1,300,64]', 'rotary stored inv_freq Dh=8 [2,9,8]',
  'crossEntropy C=1000 [3,1000]', 'crossEntropy weights + ignoreIndex 0 [20,3]', 'crossEntropy vocab 33 [301,33]',
  'dropout p=0.1 [7,129]',
  'attention ESM-like H4 Dh16, padded [2,13,64]', 'attention no mask, partial tile L=37 H2 Dh8',
  'attention no rotary Dh12, batch 1 fully masked', 'attention q widened over k, v and mask of batch 1',
  'attention L=70 Dh32, padded', 'attention Dh64 (largest head)',
];

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
const CASES = env?.ESMKN_BROWSER_CASES === 'all' ? ALL_CASES : ALL_CASES.filter((c) => SUBSET.includes(caseId(c)));

// Lazily opened so that a failure to start names itself in the first test and fails the rest.
let opened: Promise<TestPage> | undefined;
function browserPage(): Promise<TestPage> {
  opened ??= openTestPage('/test/browser/ops.html');
  return opened;
}

type Esmkn = {
  runOpCase: typeof runOpCase;
  runFusedLinear: typeof runFusedLinear;
  runAdamW: typeof runAdamW;
  runEsmForward: typeof runEsmForward;
  runIgScores: typeof runIgScores;
};

/** Calls a page runner with JSON-able arguments. */
async function inPage<R>(page: Page, fn: keyof Esmkn, args: unknown[]): Promise<R> {
  return page.evaluate(([name, a]) => {
    const api = (globalThis as unknown as { esmkn: Record<string, (...x: unknown[]) => Promise<unknown>> }).esmkn;
    return api[name as string]!(...(a as unknown[]));
  }, [fn, args] as const) as Promise<R>;
}

const f64 = (shape: readonly number[], data: ArrayLike<number>): Arr => ({ shape, data: Float64Array.from(data) });

test.before(async () => {
  await gpu();
});

test.after(async () => {
  if (opened) await (await opened.catch(() => null))?.session.close();
});

test('chromium starts and its SwiftShader adapter is within the portable limits', async () => {
  const { info } = await browserPage();
  assert.ok(info.maxInvocations >= 256, `maxInvocations ${info.maxInvocations}`);
  assert.ok(info.maxStorageBuffersPerStage >= 8, `maxStorageBuffersPerStage ${info.maxStorageBuffersPerStage}`);
  // The subgroup kernels (matmul, fused attention) need 4+ lanes; the browser must take them, not the fallbacks.
  assert.ok(info.subgroups && info.subgroupMinSize >= 4, `subgroups ${info.subgroups}, ${info.subgroupMinSize} lanes`);
  console.log(`  browser adapter: ${info.description}, ${info.maxInvocations} invocations, ${info.maxStorageBuffersPerStage} storage buffers, ` +
    `${info.maxWorkgroupStorage} B workgroup memory, subgroups of ${info.subgroupMinSize}-${info.subgroupMaxSize}, f16 ${info.f16}`);
});

test('every case of the subset exists in test/cases', () => {
  const missing = SUBSET.filter((id) => !ALL_CASES.some((c) => caseId(c) === id));
  assert.equal(missing, [], `renamed or removed cases: ${missing.join(', ')}`);
});

for (const c of CASES) {
  test(`browser = node = ref: ${caseId(c)}`, async () => {
    const { page } = await browserPage();
    const xs = drawInputs(c, 4321);
    const want = (REF[c.op] as RefOp<unknown>).forward(xs, c.attrs);
    const dy = randn(want.shape, rng(77));
    const wantGrads = (REF[c.op] as RefOp<unknown>).vjp(xs, c.attrs, dy);
    const inputs = xs.map((x) => Array.from(x.data));
    const node = await runOpCase(caseId(c), inputs, Array.from(dy.data));
    const web = await inPage<Awaited<ReturnType<typeof runOpCase>>>(page, 'runOpCase', [caseId(c), inputs, Array.from(dy.data)]);
    const tol = f32Tolerance(c.reduce);
    assertClose(web.out, want, tol, `browser ${caseId(c)} forward vs float64`);
    assertClose(web.out, f64(want.shape, node.out), tol, `browser ${caseId(c)} forward vs node`);
    node.grads.forEach((g, i) => {
      assert.is(web.grads[i] === null, g === null, `input ${i}: gradient in one environment only`);
      if (!g) return;
      assertClose(web.grads[i]!, wantGrads[i]!, 2 * tol, `browser ${caseId(c)} d_input${i} vs float64`);
      assertClose(web.grads[i]!, f64(wantGrads[i]!.shape, g), 2 * tol, `browser ${caseId(c)} d_input${i} vs node`);
    });
  });
}

test('browser = node = ref: fused linear epilogues (GELU, residual) at awkward and vec4 sizes', async () => {
  const { page } = await browserPage();
  for (const s of [{ rows: 37, k: 33, n: 65 }, { rows: 5, k: 64, n: 128 }]) {
    const r = rng(s.rows * 7 + s.n);
    const [x, w, b, res] = [[s.rows, s.k], [s.n, s.k], [s.n], [s.rows, s.n]].map((shape) => Array.from(randn(shape, r).data));
    const lin = new Float64Array(s.rows * s.n);
    for (let i = 0; i < s.rows; i++) {
      for (let j = 0; j < s.n; j++) {
        let acc = b![j]!;
        for (let k = 0; k < s.k; k++) acc += x![i * s.k + k]! * w![j * s.k + k]!;
        lin[i * s.n + j] = acc;
      }
    }
    const gelu = f64([s.rows, s.n], lin.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))));
    const plus = f64([s.rows, s.n], lin.map((v, i) => v + res![i]!));
    const node = await runFusedLinear(s, x!, w!, b!, res!);
    const web = await inPage<typeof node>(page, 'runFusedLinear', [s, x, w, b, res]);
    const tol = f32Tolerance(s.k);
    assertClose(web.gelu, gelu, tol, `browser linear+gelu ${JSON.stringify(s)} vs float64`);
    assertClose(web.residual, plus, tol, `browser linear+residual ${JSON.stringify(s)} vs float64`);
    assertClose(web.gelu, f64(gelu.shape, node.gelu), tol, `browser linear+gelu ${JSON.stringify(s)} vs node`);
    assertClose(web.residual, f64(plus.shape, node.residual), tol, `browser linear+residual ${JSON.stringify(s)} vs node`);
  }
});

test('browser = node = ref: four AdamW steps on three parameters', async () => {
  const { page } = await browserPage();
  const shapes = [[33, 5], [300], [2, 3, 65]];
  const lrs = [1e-2, 5e-3, 2e-2, 1e-3];
  const params: AdamWCase[] = shapes.map((shape, i) => ({
    shape,
    init: Array.from(randn(shape, rng(10 + i), 0.5).data, Math.fround),
    weightDecay: [0.01, 0, 0.1][i]!,
    grads: lrs.map((_, s) => Array.from(randn(shape, rng(100 * s + i)).data, Math.fround)),
  }));
  const want = params.map((p) => {
    const w = Float64Array.from(p.init);
    const m = new Float64Array(w.length);
    const v = new Float64Array(w.length);
    lrs.forEach((lr, s) => adamwStepRef(w, p.grads[s]!, m, v, s + 1, { lr, beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: p.weightDecay }));
    return f64(p.shape, w);
  });
  const node = await runAdamW(params, lrs);
  const web = await inPage<number[][]>(page, 'runAdamW', [params, lrs]);
  want.forEach((w, i) => {
    assertClose(web[i]!, w, 1e-5, `browser AdamW param ${i} vs float64`);
    assertClose(web[i]!, f64(w.shape, node[i]!), 1e-5, `browser AdamW param ${i} vs node`);
  });
});

// ESM-2, 2 layers x 32 dims, 4 heads (Dh 8), batch 2: one sequence padded, one with a <mask> token.
const ESM_INIT = { numLayers: 2, embedDim: 32, attentionHeads: 4, name: 'browser-2x32' };
const ESM_B = 2;
const ESM_L = 11;
const ESM_TOKENS = [
  0, 4, 9, 15, 6, 22, 5, 2, 1, 1, 1,
  0, 11, 32, 8, 19, 4, 4, 13, 17, 21, 2,
];

for (const unfused of [false, true]) {
  test(`browser = node = ref: ESM-2 forward 2x32, batch 2 padded, layer by layer (${unfused ? 'unfused' : 'fused'} attention)`, async () => {
    const { page } = await browserPage();
    const config = makeConfig(ESM_INIT);
    const params = initParams(config, 11, { mode: 'test' });
    const wire: WireParams = [...params].map(([name, p]) => [name, [...p.shape], Array.from(p.data)] as const);
    const want = refEsmForward(config, params, Int32Array.from(ESM_TOKENS), [ESM_B, ESM_L], {});
    const node = await runEsmForward(ESM_INIT, wire, ESM_TOKENS, ESM_B, ESM_L, unfused);
    const web = await inPage<typeof node>(page, 'runEsmForward', [ESM_INIT, wire, ESM_TOKENS, ESM_B, ESM_L, unfused]);
    const D = config.embedDim;
    for (let k = 0; k <= config.numLayers; k++) {
      const shape = [ESM_B, ESM_L, D];
      assertClose(web.hiddens[k]!, { shape, data: want.hiddens[k]! }, 2e-5, `browser hidden ${k} vs float64`);
      assertClose(web.hiddens[k]!, f64(shape, node.hiddens[k]!), 2e-5, `browser hidden ${k} vs node`);
    }
    const shape = [ESM_B, ESM_L, config.vocabSize];
    assertClose(web.logits, { shape, data: want.logits }, 5e-5, 'browser logits vs float64');
    assertClose(web.logits, f64(shape, node.logits), 5e-5, 'browser logits vs node');
  });
}

test('browser = node = ref: fused integrated gradients of every (module, layer) on a tiny classifier', async () => {
  const { page } = await browserPage();
  const tiny = tinyClassifier(3);
  const record = randomRecords(1, 3, 7, 8, 1)[0]!;
  const init = { numLayers: tiny.config.numLayers, embedDim: tiny.config.embedDim, attentionHeads: tiny.config.attentionHeads, name: tiny.config.name };
  const wire: WireParams = [...tiny.params].map(([name, p]) => [name, [...p.shape], Array.from(p.data)] as const);
  const head: WireHead = { pooling: tiny.pooling, numClasses: tiny.numClasses, tensors: [...tiny.headParams].map(([n, d]) => [n, Array.from(d)] as const) };
  const node = await runIgScores(init, wire, head, record, 3, 'gauss-legendre');
  const web = await inPage<typeof node>(page, 'runIgScores', [init, wire, head, record, 3, 'gauss-legendre']);
  assertClose(web.values, f64([node.values.length], node.values), 1e-4, 'browser IG scores vs node');
  assertClose(web.completeness, f64([node.completeness.length], node.completeness), 1e-4, 'browser IG completeness vs node');
  const q = quadrature('gauss-legendre', 3);
  const layout = neuronLayout(tiny.config);
  const tokens = exampleTokens(record, 100);
  for (const module of NEURON_MODULES) {
    for (let layer = 0; layer < tiny.config.numLayers; layer++) {
      const want = refIntegratedGradients(tiny.config, tiny.params, refHead(tiny), tokens, { layer, module, label: record.label, alphas: q.alphas, weights: q.weights });
      const start = neuronOffset(layout, module, layer);
      const got = web.values.slice(start, start + layout.widths[module]);
      assertClose(got, { shape: [want.attributions.length], data: want.attributions }, 2e-4, `browser IG ${module} layer ${layer} vs float64`);
    }
  }
});

test('the page reported no errors', async () => {
  const { errors } = await browserPage();
  assert.equal(errors, [], `page errors: ${errors.join(' | ')}`);
});

test.run();
