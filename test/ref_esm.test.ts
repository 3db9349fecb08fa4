/**
 * Invariants that pin the float64 ESM-2 reference (model/ref_*.ts), the parameter spec and the configs to
 * fair-esm semantics without running Python: shapes, padding invariance, token-dropout scaling, the rotary
 * relative-position property, LayerNorm/GELU spot values, contact-head algebra, hook = weight ablation,
 * parameter counts, name maps and validation messages.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configFromFairEsmCfg, configFromHfConfig, ESM2_SIZES, esm2Config, makeConfig } from '../model/config.js';
import {
  canonicalToHfName, countParams, initParams, mapHfName, type ParamTensor, paramSpec, renameFairEsmStateDict,
  renameHfStateDict, rotaryInvFreq, roundToFloat16, validateParams,
} from '../model/params.js';
import { refContactFeatures } from '../model/ref/contact.js';
import { LINEAR_MODULES, type LinearModule, neuronEditHook, refEsmForward, refLayer } from '../model/ref/esm.js';
import { applyRotary, gelu, layerNorm, rotaryTables } from '../model/ref/ops.js';

const CFG = makeConfig({ numLayers: 2, embedDim: 24, attentionHeads: 4 }); // Dh = 6
const PARAMS = initParams(CFG, 1234, { mode: 'test' });
const [CLS, PAD, EOS, MASK] = [0, 1, 2, 32];
/** <cls> residues <eos> padded with <pad> to length L. */
const seq = (residues: number[], L = residues.length + 2): number[] => [CLS, ...residues, EOS, ...new Array<number>(L - residues.length - 2).fill(PAD)];
const A = [5, 9, 13, 4, 20, 7, 11];
const LONG = [6, 8, 10, 12, 14, 16, 18, 4, 22, 5, 7];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Rows [0, n) of a (B, L, W) array's batch row b. */
const rows = (x: Float64Array, b: number, L: number, W: number, n: number): Float64Array => x.slice(b * L * W, (b * L + n) * W);

test('ref_esm: output shapes', () => {
  const L = 10;
  const tokens = new Int32Array([...seq(A, L), ...seq(A.slice(0, 3), L)]);
  const r = refEsmForward(CFG, PARAMS, tokens, [2, L], { returnContacts: true, returnLinears: true });
  const { vocabSize: V, embedDim: D, ffnDim: F, numLayers: NL, attentionHeads: H } = CFG;
  assert.is(r.logits.length, 2 * L * V);
  assert.is(r.hiddens.length, NL + 1);
  for (const h of r.hiddens) assert.is(h!.length, 2 * L * D);
  assert.is(r.attentions!.length, 2 * NL * H * L * L);
  assert.is(r.contacts!.length, 2 * (L - 2) * (L - 2));
  assert.is(r.linears!.length, NL);
  for (const m of ['query', 'key', 'value', 'attnOut', 'ffnOut'] as const) assert.is(r.linears![0]![m].length, 2 * L * D);
  assert.is(r.linears![0]!.ffnIn.length, 2 * L * F);
  // Layer-by-layer API: layer 0 applied to hiddens[0] gives hiddens[1].
  assert.is(maxAbsDiff(refLayer(CFG, PARAMS, 0, r.hiddens[0]!, tokens, 2, L).x, r.hiddens[1]!), 0);
  const some = refEsmForward(CFG, PARAMS, tokens, [2, L], { reprLayers: [1] });
  assert.ok(some.hiddens[0] === undefined && some.hiddens[1] !== undefined && some.attentions === undefined);
});

/**
 * Weights from a closed formula (no RNG), float16-rounded rotary buffers as the published checkpoints carry.
 * The expected values below come from a line-by-line numpy float64 transcription of fair-esm's ESM2.forward,
 * TransformerLayer, MultiheadAttention, RotaryEmbedding (float32 angles) and ContactPredictionHead run on
 * these weights (with and without the rotary buffers); they agreed to 4e-15 on every output.
 */
function formulaParams(config: typeof CFG): Map<string, ParamTensor> {
  const out = new Map<string, ParamTensor>();
  paramSpec(config).filter((p) => !p.tiedTo).forEach((p, k) => {
    const f = (i: number): number => {
      switch (p.kind) {
        case 'embedding': return Math.sin(0.29 * i + 0.5 * k);
        case 'linear_weight': return (1.5 * Math.sin(0.61 * i + 1.7 * k)) / Math.sqrt(p.shape[1]!);
        case 'bias': case 'norm_bias': return 0.3 * Math.sin(0.83 * i + 0.9 * k);
        case 'norm_weight': return 1 + 0.25 * Math.cos(0.47 * i + k);
        case 'rotary_buffer': return rotaryInvFreq(config.headDim, 10000, 'float16')[i]!;
      }
    };
    out.set(p.name, { shape: p.shape, data: Float64Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });
  });
  return out;
}

test('ref_esm: golden values from a numpy transcription of fair-esm', () => {
  const cfg = makeConfig({ numLayers: 2, embedDim: 16, attentionHeads: 2 });
  const L = 10;
  const tokens = new Int32Array([...seq([5, 6, MASK, 8, 9, 10, 11, 12]), ...seq([7, MASK, 13, 20], L)]);
  const r = refEsmForward(cfg, formulaParams(cfg), tokens, [2, L], { returnContacts: true });
  const at = (x: Float64Array, shape: number[], idx: number[]): number => x[idx.reduce((o, v, a) => o * shape[a]! + v, 0)]!;
  const golden: [string, Float64Array, number[], number[], number][] = [
    ['logits', r.logits, [2, L, 33], [0, 3, 5], 1.5630212141567559],
    ['logits', r.logits, [2, L, 33], [0, 3, 9], 1.5698087873203965],
    ['logits', r.logits, [2, L, 33], [1, 2, 4], 0.40289037722523424],
    ['logits', r.logits, [2, L, 33], [1, 4, 20], 1.8680200410624779],
    ['logits', r.logits, [2, L, 33], [1, 8, 0], -0.4474942662553002],
    ['logits', r.logits, [2, L, 33], [0, 9, 2], 1.9221416209398094],
    ['hidden 1', r.hiddens[1]!, [2, L, 16], [0, 1, 0], -0.9932099679513829],
    ['hidden 1', r.hiddens[1]!, [2, L, 16], [0, 3, 7], 1.7326520612427556],
    ['hidden 1', r.hiddens[1]!, [2, L, 16], [1, 4, 15], 1.8326812526679235],
    ['hidden 2', r.hiddens[2]!, [2, L, 16], [1, 0, 3], -0.9468074214297407],
    ['hidden 2', r.hiddens[2]!, [2, L, 16], [0, 8, 11], 0.636805655958759],
    ['attentions', r.attentions!, [2, 2, 2, L, L], [0, 1, 1, 2, 7], 0.015871138880167248],
    ['attentions', r.attentions!, [2, 2, 2, L, L], [1, 0, 0, 3, 4], 0.05011990553386315],
    ['attentions', r.attentions!, [2, 2, 2, L, L], [1, 1, 1, 7, 2], 0],
    ['attentions', r.attentions!, [2, 2, 2, L, L], [0, 0, 1, 9, 0], 2.9069165296561173e-05],
    ['contacts', r.contacts!, [2, L - 2, L - 2], [0, 0, 5], 0.5634051334576622],
    ['contacts', r.contacts!, [2, L - 2, L - 2], [0, 6, 7], 0.5710963003796908],
    ['contacts', r.contacts!, [2, L - 2, L - 2], [1, 1, 2], 0.5803621543180674],
    ['contacts', r.contacts!, [2, L - 2, L - 2], [1, 3, 0], 0.4865719418705765],
    ['contacts', r.contacts!, [2, L - 2, L - 2], [1, 5, 6], 0.5628126937230052],
  ];
  // Without the buffers, inv_freq is recomputed in float32 and its full-mantissa values make the float32
  // rounding of the angles t * inv_freq visible (float16 buffers times t < 8192 are exact in float32).
  const noBuffers = new Map([...formulaParams(cfg)].filter(([k]) => !k.endsWith('.inv_freq')));
  const r32 = refEsmForward(cfg, noBuffers, tokens, [2, L]);
  golden.push(
    ['logits without buffers', r32.logits, [2, L, 33], [0, 4, 6], -1.7941280687822583],
    ['logits without buffers', r32.logits, [2, L, 33], [1, 3, 15], -1.4596544598982106],
    ['logits without buffers', r32.logits, [2, L, 33], [0, 7, 23], -0.59534419668595],
  );
  for (const [what, x, shape, idx, want] of golden) {
    const got = at(x, shape, idx);
    assert.ok(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${what} [${idx}]: ${got}, expected ${want}`);
  }
});

test('ref_esm: a sequence alone = the same sequence padded in a batch with a longer one', () => {
  const n = A.length + 2;
  const L = LONG.length + 2;
  const alone = refEsmForward(CFG, PARAMS, new Int32Array(seq(A)), [1, n], { returnContacts: true });
  const batch = refEsmForward(CFG, PARAMS, new Int32Array([...seq(LONG), ...seq(A, L)]), [2, L], { returnContacts: true });
  for (let l = 0; l <= CFG.numLayers; l++) {
    assert.ok(maxAbsDiff(rows(batch.hiddens[l]!, 1, L, CFG.embedDim, n), alone.hiddens[l]!) <= 1e-12, `hidden ${l}`);
  }
  assert.ok(maxAbsDiff(rows(batch.logits, 1, L, CFG.vocabSize, n), alone.logits) <= 1e-12, 'logits');
  const H = CFG.numLayers * CFG.attentionHeads;
  for (let c = 0; c < H; c++) {
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        const got = batch.attentions![((H + c) * L + i) * L + j]!;
        const want = i < n && j < n ? alone.attentions![(c * n + i) * n + j]! : 0; // pad rows and columns are zeroed
        assert.ok(Math.abs(got - want) <= 1e-12, `attention channel ${c} [${i}, ${j}]`);
      }
    }
  }
  const Lc = L - 2;
  const nc = n - 2;
  for (let i = 0; i < nc; i++) {
    for (let j = 0; j < nc; j++) assert.ok(Math.abs(batch.contacts![Lc * Lc + i * Lc + j]! - alone.contacts![i * nc + j]!) <= 1e-12, `contact [${i}, ${j}]`);
  }
});

test('ref_esm: token dropout zeroes <mask> and scales by 0.88 / (1 - masks / non-pad)', () => {
  const D = CFG.embedDim;
  const E = PARAMS.get('embed_tokens.weight')!.data;
  const toks = seq([5, MASK, 7, MASK, 9, 10], 12); // 8 non-pad tokens, 2 masks
  const h0 = refEsmForward(CFG, PARAMS, new Int32Array(toks), [1, 12], { reprLayers: [0] }).hiddens[0]!;
  const scale = (1 - 0.15 * 0.8) / (1 - 2 / 8);
  toks.forEach((tok, t) => {
    for (let d = 0; d < D; d++) {
      const want = tok === MASK || tok === PAD ? 0 : E[tok * D + d]! * scale;
      assert.ok(Math.abs(h0[t * D + d]! - want) <= 1e-15, `position ${t}`);
    }
  });
  const noMask = refEsmForward(CFG, PARAMS, new Int32Array(seq([5])), [1, 3], { reprLayers: [0] }).hiddens[0]!;
  assert.ok(Math.abs(noMask[D]! - 0.88 * E[5 * D]!) <= 1e-15, 'no masks: scaled by 0.88 at inference too');
  const plain = makeConfig({ numLayers: 2, embedDim: 24, attentionHeads: 4, tokenDropout: false });
  const p0 = refEsmForward(plain, PARAMS, new Int32Array(toks), [1, 12], { reprLayers: [0] }).hiddens[0]!;
  assert.is(p0[2 * D], E[MASK * D], 'without token dropout <mask> keeps its embedding, unscaled');
});

test('ref_esm: rotary q.k depends only on the position difference', () => {
  const Dh = 8;
  const tab = rotaryTables(40, rotaryInvFreq(Dh), 'float64');
  const q = Float64Array.from({ length: Dh }, (_, i) => Math.sin(i + 1));
  const k = Float64Array.from({ length: Dh }, (_, i) => Math.cos(3 * i));
  const dot = (i: number, j: number): number => {
    const a = q.slice();
    const b = k.slice();
    applyRotary(a, 0, i, tab);
    applyRotary(b, 0, j, tab);
    return a.reduce((s, v, d) => s + v * b[d]!, 0);
  };
  for (const [i, j, s] of [[0, 5, 17], [9, 2, 30], [3, 3, 36]] as const) {
    assert.ok(Math.abs(dot(i, j) - dot(i + s, j + s)) <= 1e-12, `(${i}, ${j}) shifted by ${s}`);
  }
  // In the model: identical tokens everywhere make layer-0 logits a function of j - i, so log-probability
  // differences within a row are shift invariant.
  const L = 12;
  const r = refEsmForward(CFG, PARAMS, new Int32Array(L).fill(9), [1, L], { needHeadWeights: true, rotaryAngles: 'float64' });
  const logp = (h: number, i: number, j: number): number => Math.log(r.attentions![(h * L + i) * L + j]!);
  for (let h = 0; h < CFG.attentionHeads; h++) {
    for (const [i, j, s] of [[1, 4, 5], [6, 0, 3], [2, 9, 2]] as const) {
      assert.ok(Math.abs(logp(h, i, j) - logp(h, i, i) - (logp(h, i + s, j + s) - logp(h, i + s, i + s))) <= 1e-12, `head ${h}`);
    }
  }
});

test('ref_esm: LayerNorm and GELU spot values', () => {
  // numpy: (x - mean) / sqrt(var + 1e-5) for x = 1..4; Python math.erf for GELU.
  const y = layerNorm(Float64Array.of(1, 2, 3, 4), 1, 4, [1, 1, 1, 1], [0, 0, 0, 0], 1e-5);
  const want = [-1.3416354199689269, -0.447211806656309, 0.447211806656309, 1.3416354199689269];
  assert.ok(maxAbsDiff(y, want) <= 1e-15);
  const affine = layerNorm(Float64Array.of(1, 2, 3, 4), 1, 4, [2, 2, 2, 2], [0.5, 0.5, 0.5, 0.5], 1e-5);
  assert.ok(maxAbsDiff(affine, want.map((v) => 2 * v + 0.5)) <= 1e-15);
  const g: [number, number][] = [[1, 0.8413447460685429], [-1, -0.15865525393145707], [2, 1.9544997361036416], [0.5, 0.34573123063700656], [-3, -0.00404969409489031], [0, 0]];
  for (const [x, v] of g) assert.ok(Math.abs(gelu(x) - v) <= 1e-15 * Math.max(1, Math.abs(v)), `gelu(${x})`);
});

test('ref_esm: contact features are symmetric with zero APC row and column sums; contacts symmetric', () => {
  const L = 11;
  const tokens = new Int32Array([...seq(A, L), ...seq(A.slice(0, 4), L)]);
  const r = refEsmForward(CFG, PARAMS, tokens, [2, L], { returnContacts: true });
  const f = refContactFeatures(CFG, tokens, [2, L], r.attentions!);
  const Lc = L - 2;
  const C = CFG.numLayers * CFG.attentionHeads;
  for (let bc = 0; bc < 2 * C; bc++) {
    for (let i = 0; i < Lc; i++) {
      let row = 0;
      let col = 0;
      for (let j = 0; j < Lc; j++) {
        row += f[(bc * Lc + i) * Lc + j]!;
        col += f[(bc * Lc + j) * Lc + i]!;
        assert.ok(Math.abs(f[(bc * Lc + i) * Lc + j]! - f[(bc * Lc + j) * Lc + i]!) <= 1e-15);
      }
      assert.ok(Math.abs(row) <= 1e-13 && Math.abs(col) <= 1e-13, `APC sums at channel ${bc} row ${i}: ${row}, ${col}`);
    }
  }
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < Lc; i++) {
      for (let j = 0; j < Lc; j++) {
        const cij = r.contacts![(b * Lc + i) * Lc + j]!;
        assert.ok(cij > 0 && cij < 1 && Math.abs(cij - r.contacts![(b * Lc + j) * Lc + i]!) <= 1e-15);
      }
    }
  }
});

/** The weight + bias whose zeroing silences a module's output. */
const MODULE_TENSORS: Record<LinearModule, string> = {
  query: 'self_attn.q_proj', key: 'self_attn.k_proj', value: 'self_attn.v_proj',
  attn_out: 'self_attn.out_proj', ffn_in: 'fc1', ffn_out: 'fc2',
};

for (const m of LINEAR_MODULES) {
  test(`ref_esm: hook zeroing layer 1 ${m} = zeroing ${MODULE_TENSORS[m]} weight and bias`, () => {
    const L = 9;
    const tokens = new Int32Array([...seq(A), ...seq([4, MASK, 6], L)]);
    const hooked = refEsmForward(CFG, PARAMS, tokens, [2, L], { returnContacts: true, hook: (layer, mod, v) => { if (layer === 1 && mod === m) v.fill(0); } });
    const zeroed = new Map<string, ParamTensor>(PARAMS);
    for (const s of ['weight', 'bias']) {
      const name = `layers.1.${MODULE_TENSORS[m]}.${s}`;
      zeroed.set(name, { shape: PARAMS.get(name)!.shape, data: new Float32Array(PARAMS.get(name)!.data.length) });
    }
    const ablated = refEsmForward(CFG, zeroed, tokens, [2, L], { returnContacts: true });
    const base = refEsmForward(CFG, PARAMS, tokens, [2, L]);
    assert.is(maxAbsDiff(hooked.logits, ablated.logits), 0);
    assert.is(maxAbsDiff(hooked.contacts!, ablated.contacts!), 0);
    assert.ok(maxAbsDiff(hooked.logits, base.logits) > 1e-3, 'the ablation changes the logits');
  });
}

test('ref_esm: neuron edits scale one FFN neuron per batch row', () => {
  const L = 9;
  const tokens = new Int32Array([...seq(A), ...seq(A)]);
  const base = refEsmForward(CFG, PARAMS, tokens, [2, L], { returnLinears: true });
  const hook = neuronEditHook([{ layer: 0, module: 'ffn_in', neuron: 17, positions: [3], scale: [0, 1] }]);
  const edited = refEsmForward(CFG, PARAMS, tokens, [2, L], { hook, returnLinears: true });
  const F = CFG.ffnDim;
  assert.is(edited.linears![0]!.ffnIn[3 * F + 17], 0);
  assert.is(maxAbsDiff(rows(edited.logits, 1, L, CFG.vocabSize, L), rows(base.logits, 1, L, CFG.vocabSize, L)), 0, 'scale 1 leaves row 1 alone');
  assert.ok(maxAbsDiff(rows(edited.logits, 0, L, CFG.vocabSize, L), rows(base.logits, 0, L, CFG.vocabSize, L)) > 0);
  const set = refEsmForward(CFG, PARAMS, tokens, [2, L], { hook: neuronEditHook([{ layer: 1, module: 'value', neuron: 2, set: 5 }]), returnLinears: true });
  assert.is(set.linears![1]!.value[(L + 4) * CFG.embedDim + 2], 5);
  assert.throws(() => refEsmForward(CFG, PARAMS, tokens, [2, L], { hook: neuronEditHook([{ layer: 0, module: 'ffn_in', neuron: F, scale: 0 }]) }), /neuron 96 outside \[0, 96\)/);
});

test('ref_esm: parameter counts (tied lm_head.weight once, rotary buffers excluded, contact head included)', () => {
  // t6_8M: embed 33*320 + 6 * (4*(320*320+320) + 2*640 + (1280*320+1280) + (320*1280+320)) + 640
  // + lm_head (320*320+320 + 640 + 33) + contact (6*20 + 1). Hugging Face's model card figure 7,840,794 also
  // counts a 1026 x 320 absolute position table (328,320) that rotary ESM-2 never reads.
  assert.is(countParams(paramSpec(esm2Config('esm2_t6_8M_UR50D'))), 7_512_474);
  assert.is(countParams(paramSpec(esm2Config('esm2_t6_8M_UR50D'))) + 1026 * 320, 7_840_794);
  const counts: [string, number][] = [['esm2_t12_35M_UR50D', 33_501_394], ['esm2_t30_150M_UR50D', 148_140_154],
    ['esm2_t33_650M_UR50D', 651_043_254], ['esm2_t36_3B_UR50D', 2_839_005_634], ['esm2_t48_15B_UR50D', 15_129_100_194]];
  for (const [name, n] of counts) assert.is(countParams(paramSpec(esm2Config(name))), n, name);
  const spec = paramSpec(CFG);
  assert.is(spec.length, 1 + CFG.numLayers * 17 + 2 + 4 + 1 + 1 + 2);
  const init = initParams(CFG, 1);
  const drawn = [...init].reduce((s, [name, p]) => s + (name.endsWith('.inv_freq') ? 0 : p.data.length), 0);
  assert.is(drawn, countParams(spec));
});

test('ref_esm: initParams fresh mode and determinism', () => {
  const a = initParams(CFG, 42);
  const b = initParams(CFG, 42);
  for (const [k, v] of a) assert.is(maxAbsDiff(v.data, b.get(k)!.data), 0, k);
  const E = a.get('embed_tokens.weight')!.data;
  assert.ok(E.subarray(PAD * 24, PAD * 24 + 24).every((v) => v === 0), 'pad row zero');
  assert.ok(a.get('layers.0.final_layer_norm.weight')!.data.every((v) => v === 1));
  assert.ok(a.get('layers.1.fc1.bias')!.data.every((v) => v === 0));
  assert.not.ok(a.has('lm_head.weight'));
  const w = a.get('layers.0.fc1.weight')!.data;
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std - 0.02) < 0.002, `std ${std}`);
});

test('ref_esm: rotary inverse frequencies and float16 rounding', () => {
  const f = rotaryInvFreq(64);
  assert.is(f.length, 32);
  assert.is(f[0], 1);
  assert.ok(Math.abs(f[16]! - 0.01) < 1e-9 && Math.abs(f[31]! - 10000 ** (-62 / 64)) < 1e-10);
  const cases: [number, number][] = [[1 / 3, 0.333251953125], [0.1, 0.0999755859375], [65504, 65504], [65519, 65504], [65520, Infinity],
    [2 ** -24, 2 ** -24], [2 ** -25, 0], [3 * 2 ** -26, 2 ** -24], [-1.00048828125, -1], [1.00146484375, 1.001953125]];
  for (const [x, want] of cases) assert.is(roundToFloat16(x), want, `f16(${x})`);
});

test('ref_esm: Hugging Face name map round trip and extras', () => {
  for (const p of paramSpec(esm2Config('esm2_t12_35M_UR50D'))) {
    const m = mapHfName(canonicalToHfName(p.name));
    assert.equal(m, { kind: 'param', name: p.name });
  }
  const pairs: [string, string][] = [
    ['esm.embeddings.word_embeddings.weight', 'embed_tokens.weight'],
    ['esm.encoder.layer.11.attention.self.value.bias', 'layers.11.self_attn.v_proj.bias'],
    ['esm.encoder.layer.3.attention.output.dense.weight', 'layers.3.self_attn.out_proj.weight'],
    ['esm.encoder.layer.3.attention.LayerNorm.bias', 'layers.3.self_attn_layer_norm.bias'],
    ['esm.encoder.layer.0.intermediate.dense.weight', 'layers.0.fc1.weight'],
    ['esm.encoder.layer.0.output.dense.bias', 'layers.0.fc2.bias'],
    ['esm.encoder.layer.0.LayerNorm.weight', 'layers.0.final_layer_norm.weight'],
    ['esm.encoder.layer.2.attention.self.rotary_embeddings.inv_freq', 'layers.2.self_attn.rot_emb.inv_freq'],
    ['lm_head.decoder.weight', 'lm_head.weight'],
    ['esm.contact_head.regression.weight', 'contact_head.regression.weight'],
    ['encoder.layer.1.attention.self.query.weight', 'layers.1.self_attn.q_proj.weight'], // bare EsmModel
  ];
  for (const [hf, name] of pairs) assert.equal(mapHfName(hf), { kind: 'param', name }, hf);
  for (const k of ['esm.embeddings.position_ids', 'esm.embeddings.position_embeddings.weight', 'esm.pooler.dense.bias']) assert.is(mapHfName(k).kind, 'ignore', k);
  assert.is(mapHfName('esm.embeddings.layer_norm.weight').kind, 'unknown', 'ESM-1b emb_layer_norm_before is not ESM-2');
  const { params, ignored } = renameHfStateDict([['esm.embeddings.position_ids', 0], ['lm_head.bias', 1], ['esm.foo', 2]]);
  assert.equal([...params.keys()], ['lm_head.bias', 'esm.foo']);
  assert.equal(ignored, ['esm.embeddings.position_ids']);
  const fair = renameFairEsmStateDict([['encoder.sentence_encoder.layers.0.fc1.weight', 0], ['encoder.lm_head.bias', 1], ['contact_head.regression.bias', 2]]);
  assert.equal([...fair.keys()], ['layers.0.fc1.weight', 'lm_head.bias', 'contact_head.regression.bias']);
});

test('ref_esm: validateParams lists every problem in one error', () => {
  const cfg = esm2Config('esm2_t6_8M_UR50D');
  const spec = paramSpec(cfg);
  const full = new Map(spec.filter((p) => !p.tiedTo && p.kind !== 'rotary_buffer').map((p) => [p.name, p.shape] as const));
  validateParams(spec, full);
  const bad = new Map(full);
  bad.delete('layers.3.fc1.bias');
  bad.set('layers.0.self_attn.k_proj.weight', [320, 321]);
  bad.set('lm_head.weight', [33, 319]);
  bad.set('encoder.version', [1]);
  assert.throws(() => validateParams(spec, bad, { source: 'checkpoint esm2.pt' }), (e: Error) => e.message ===
    'checkpoint esm2.pt: missing layers.3.fc1.bias; unexpected encoder.version; layers.0.self_attn.k_proj.weight has shape [320, 321], expected [320, 320]; lm_head.weight has shape [33, 319], expected [33, 320]');
  const noContact = new Map(full);
  noContact.delete('contact_head.regression.weight');
  noContact.delete('contact_head.regression.bias');
  assert.throws(() => validateParams(spec, noContact), /missing contact_head.regression.weight; missing contact_head.regression.bias/);
  validateParams(spec, noContact, { allowMissingContactHead: true });
});

test('ref_esm: configs by name, custom, fair-esm cfg and Hugging Face config.json', () => {
  for (const [name, s] of Object.entries(ESM2_SIZES)) {
    const c = esm2Config(name);
    assert.ok(c.numLayers === s.numLayers && c.embedDim === s.embedDim && c.attentionHeads === s.attentionHeads && c.ffnDim === 4 * s.embedDim);
    assert.ok(c.vocabSize === 33 && c.padIdx === 1 && c.maskIdx === 32 && c.clsIdx === 0 && c.eosIdx === 2 && c.layerNormEps === 1e-5 && c.tokenDropout);
  }
  assert.is(esm2Config('esm2_t33_650M_UR50D').headDim, 64);
  assert.throws(() => esm2Config('esm2_t7'), /unknown ESM-2 model 'esm2_t7'; known: esm2_t6_8M_UR50D/);
  assert.throws(() => makeConfig({ numLayers: 0, embedDim: 30, attentionHeads: 4 }), /numLayers must be a positive integer, got 0; embedDim 30 is not divisible by attentionHeads 4/);
  assert.throws(() => makeConfig({ numLayers: 1, embedDim: 20, attentionHeads: 4 }), /head dim 20\/4 = 5 is odd/);
  assert.throws(() => makeConfig({ numLayers: 1, embedDim: 16, attentionHeads: 4, maskIdx: 33 }), /maskIdx 33 is outside the vocabulary \[0, 33\)/);
  assert.is(configFromFairEsmCfg({ encoder_layers: 6, encoder_embed_dim: 320, encoder_attention_heads: 20, token_dropout: true }).name, 'esm2_t6_8M_UR50D');
  assert.throws(() => configFromFairEsmCfg({ encoder_layers: 6, encoder_embed_dim: '320', encoder_attention_heads: 20 }), /encoder_embed_dim must be a positive integer, got "320"; token_dropout must be a boolean/);
  const hf = {
    architectures: ['EsmForMaskedLM'], attention_probs_dropout_prob: 0, emb_layer_norm_before: false, hidden_act: 'gelu',
    hidden_size: 320, intermediate_size: 1280, layer_norm_eps: 1e-5, mask_token_id: 32, max_position_embeddings: 1026,
    num_attention_heads: 20, num_hidden_layers: 6, pad_token_id: 1, position_embedding_type: 'rotary', token_dropout: true, vocab_size: 33,
  };
  assert.equal(configFromHfConfig(hf), esm2Config('esm2_t6_8M_UR50D'));
  const { layer_norm_eps: _eps, ...noEps } = hf;
  assert.ok(configFromHfConfig(noEps).layerNormEps === 1e-12 && configFromHfConfig(noEps).name === 'custom', 'transformers default eps');
  assert.throws(() => configFromHfConfig({ ...hf, position_embedding_type: 'absolute', emb_layer_norm_before: true }),
    /position_embedding_type must be 'rotary' for ESM-2, got "absolute"; emb_layer_norm_before must be false/);
  assert.throws(() => configFromHfConfig({ ...hf, num_hidden_layers: undefined, pad_token_id: -1 }), /num_hidden_layers must be a positive integer, got undefined; pad_token_id must be a token index, got -1/);
});

test('ref_esm: bad inputs are named', () => {
  assert.throws(() => refEsmForward(CFG, PARAMS, new Int32Array([0, 5, 40, 2]), [1, 4]), /token 40 at \[0, 2\] is outside \[0, 33\)/);
  assert.throws(() => refEsmForward(CFG, PARAMS, new Int32Array([0, 5, 2, 1, 1, 1]), [2, 3]), /sequence 1 is all padding/);
  const missing = new Map(PARAMS);
  missing.delete('layers.1.fc2.bias');
  assert.throws(() => refEsmForward(CFG, missing, new Int32Array(seq(A)), [1, 9]), /missing parameter layers.1.fc2.bias/);
});

test.run();
