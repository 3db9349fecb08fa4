/**
 * The query/key tie (issue #12): attention logits are bilinear in q and k, so with a zero baseline and
 * every position scaled jointly the integrated gradients of query unit d and key unit d are equal per
 * rotary pair (d, d + Dh/2) of each head, while per unit they differ; scaling only <cls> breaks the tie.
 * And kn/pairs.ts's pair scores: both units of a pair get the pair's mean, module totals are kept.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rng } from '../engine/random.js';
import { NEURON_MODULES } from '../model/esm.js';
import type { IgPositions } from '../kn/ig.js';
import { igScores } from '../kn/ig_scores.js';
import { neuronLayout, neuronOffset } from '../kn/layout.js';
import { pairScores, rotaryPartner } from '../kn/pairs.js';
import type { NeuronScores } from '../kn/scores.js';
import { gpu } from './lib/gpu.js';
import { disposeTiny, randomRecords, tinyClassifier, uploadTiny } from './lib/kn_fixtures.js';

// 2 layers, D = 16, 2 heads: Dh = 8, rotary pairs (d, d + 4) within each head.
const tiny = tinyClassifier(23, 2, 16, 3);
const layout = neuronLayout(tiny.config);
const Dh = tiny.config.headDim;
const records = randomRecords(3, 3, 29, 6, 6);
const names = ['a', 'b', 'c'];

test.before(async () => {
  await gpu();
});

async function qkScores(positions: IgPositions): Promise<NeuronScores> {
  const u = uploadTiny(tiny);
  try {
    return await igScores(u.model, u.head, records, names, { steps: 8, rule: 'gauss-legendre', maxLength: 64, modules: ['query', 'key'], positions });
  } finally {
    disposeTiny(u);
  }
}

/** Largest |query - key| over examples, layers and units (per unit) or rotary pairs (summed per pair), and the scale. */
function qkGaps(s: NeuronScores): { unit: number; pair: number; scale: number } {
  const N = layout.total;
  const D = layout.widths.query;
  let unit = 0;
  let pair = 0;
  let scale = 0;
  for (let e = 0; e < s.examples.length; e++) {
    for (let l = 0; l < layout.numLayers; l++) {
      const q = s.values.subarray(e * N + neuronOffset(layout, 'query', l), e * N + neuronOffset(layout, 'query', l) + D);
      const k = s.values.subarray(e * N + neuronOffset(layout, 'key', l), e * N + neuronOffset(layout, 'key', l) + D);
      for (let d = 0; d < D; d++) {
        unit = Math.max(unit, Math.abs(q[d]! - k[d]!));
        scale = Math.max(scale, Math.abs(q[d]!), Math.abs(k[d]!));
        const v = rotaryPartner(d, Dh);
        if (v > d) pair = Math.max(pair, Math.abs(q[d]! + q[v]! - k[d]! - k[v]!));
      }
    }
  }
  return { unit, pair, scale };
}

test('joint scaling of every position: query and key IG are equal per rotary pair, not per unit', async () => {
  const g = qkGaps(await qkScores('all'));
  assert.ok(g.scale > 1e-3, `attributions too small to test: ${g.scale}`);
  assert.ok(g.pair < 1e-5 * Math.max(1, g.scale) + 1e-6, `per-pair |q - k| ${g.pair} (scale ${g.scale})`);
  assert.ok(g.unit > 0.05 * g.scale, `per-unit |q - k| ${g.unit} should be far from 0 (scale ${g.scale})`);
  assert.ok(g.unit > 1000 * g.pair, `per-unit gap ${g.unit} vs per-pair gap ${g.pair}`);
});

test("scaling <cls> only (positions 'cls'): query and key IG differ per pair too", async () => {
  const g = qkGaps(await qkScores('cls'));
  assert.ok(g.pair > 0.05 * g.scale && g.pair > 1e-4, `per-pair |q - k| ${g.pair} (scale ${g.scale})`);
});

test('pairScores: both units of a rotary pair get the pair mean; every module total is kept', () => {
  const rand = rng(3);
  const E = 3;
  const N = layout.total;
  const s: NeuronScores = {
    method: 'ig', layout, classNames: names, meta: {},
    examples: Array.from({ length: E }, (_, i) => ({ id: `e${i}`, label: i % 3, residues: 5 })),
    values: Float32Array.from({ length: E * N }, () => rand() - 0.5),
  };
  const p = pairScores(s, Dh);
  assert.is(p.meta.qk_units, 'pair');
  for (let e = 0; e < E; e++) {
    for (const module of NEURON_MODULES) {
      const W = layout.widths[module];
      for (let l = 0; l < layout.numLayers; l++) {
        const o = e * N + neuronOffset(layout, module, l);
        let before = 0;
        let after = 0;
        for (let w = 0; w < W; w++) {
          before += s.values[o + w]!;
          after += p.values[o + w]!;
          if (module === 'query' || module === 'key') {
            const v = rotaryPartner(w, Dh);
            const mean = (s.values[o + w]! + s.values[o + v]!) / 2;
            assert.ok(Math.abs(p.values[o + w]! - mean) < 1e-7, `${module} ${l} unit ${w}: ${p.values[o + w]} vs pair mean ${mean}`);
          } else {
            assert.is(p.values[o + w], s.values[o + w], `${module} ${l} unit ${w} changed`);
          }
        }
        assert.ok(Math.abs(after - before) < 1e-5, `${module} ${l} total ${before} -> ${after}`);
      }
    }
  }
  // The partner of a unit is in the same head, half a head away.
  assert.equal([0, 3, 4, 7, 8, 12].map((w) => rotaryPartner(w, Dh)), [4, 7, 0, 3, 12, 8]);
});

test.run();
