/**
 * The study's fraction plot draws each method against its own layer-matched random controls: with ranking
 * 'global' activation's and IG's controls differ, and each method's dots sit beside its own points, in its
 * colour, at its own controls' values (read back from the SVG through the panel's y scale).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONTROLS_NOTE, fractionPlot } from '../cli/report/plots.js';
import { COLORS } from '../cli/report/svg.js';
import type { AblationRow } from '../kn/study.js';

/** A row of the grid; random rows carry the seed and the method they are matched to. */
function row(method: string, ranking: 'layer' | 'global', fraction: number, accuracy: number, matched: string | null = null, seed: number | null = null): AblationRow {
  return { module: 'ffn_in', method, ranking, replacement: 'zero', fraction, seed, matched, kept: 10, accuracy, macro_f1: accuracy / 2 };
}

// (method, ranking) -> [its value, its controls' values] at fraction 0.05 and 0.2.
const GRID: [string, 'layer' | 'global', number, number[]][] = [
  ['activation', 'global', 0.5, [0.1, 0.15, 0.2]],
  ['ig', 'global', 0.9, [0.6, 0.65, 0.7]],
  ['activation', 'layer', 0.4, [0.3, 0.35, 0.4]],
  ['ig', 'layer', 0.8, [0.3, 0.35, 0.4]],
];
const rows = GRID.flatMap(([method, ranking, value, controls]) => [0.05, 0.2].flatMap((f) => [
  row(method, ranking, f, value), ...controls.map((v, seed) => row('random', ranking, f, v + f, method, seed)),
]));

test('fraction plot: each method\'s controls are its own, beside its points, in its colour', () => {
  const svg = fractionPlot(rows, 'accuracy', 0.95, 'provenance');
  assert.ok(svg.includes('layer-matched per method') && CONTROLS_NOTE.includes('layer-matched per method'), 'the caption says how controls are matched');
  // One panel: y(v) = 238 - 180 v (margin top 58, panel height 180).
  const value = (cy: number) => (238 - cy) / 180;
  const points = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="2.8" fill="(#\w+)"\/>/g)].map((m) => ({ cx: Number(m[1]), fill: m[3]! }));
  assert.is(points.length, GRID.length * 2, 'a point per (method, ranking, fraction)');
  const groups = [...svg.matchAll(/<g class="random-controls"><title>(\w+)&apos;s layer-matched random controls \(ranking (\w+), ([\d.]+)% kept\)[^<]*<\/title>(.*?)<\/g>/g)];
  assert.is(groups.length, GRID.length * 2, 'a column of controls per (method, ranking, fraction)');
  for (const g of groups) {
    const [, method, ranking, pct, inner] = g as unknown as [string, string, string, string, string];
    const f = Number(pct) / 100;
    const dots = [...inner.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="1.8" fill="none" stroke="(#\w+)"/g)];
    const color = method === 'ig' ? COLORS.ig : COLORS.activation;
    const want = GRID.find(([m, r]) => m === method && r === ranking)![3].map((v) => v + f);
    assert.equal(dots.map((d) => Math.round(value(Number(d[2])) * 1e3) / 1e3).sort(), want.map((v) => Math.round(v * 1e3) / 1e3).sort(), `${method} ${ranking} ${pct}%: its own controls`);
    for (const d of dots) assert.is(d[3], color, `${method}'s controls in its colour`);
    // The nearest point left of the column is the method's own.
    const cx = Number(dots[0]![1]);
    const left = points.filter((p) => p.cx < cx).sort((a, b) => b.cx - a.cx)[0]!;
    assert.is(left.fill, color, `${method} ${ranking} ${pct}%: the point beside the controls is ${method}'s`);
  }
  // Activation's global controls (0.1-0.2 + f) never appear as IG's, and the other way round.
  const igGlobal = groups.filter((g) => g[1] === 'ig' && g[2] === 'global').flatMap((g) => [...g[4]!.matchAll(/cy="([\d.]+)"/g)].map((m) => value(Number(m[1]))));
  assert.ok(igGlobal.every((v) => v > 0.6), `IG's global controls are only its own: ${igGlobal.join(', ')}`);
});

test.run();
