/**
 * Learning curves (cli/report/curves.ts, `esm-kn curves`, and DIR/learning_curves.svg from a training
 * run): one marker per evaluation at its scaled step and value, the best step ringed, a one-point
 * history drawn, well-formed XML with escaped labels, runs read from last/, best/ or a checkpoint
 * folder, and bad inputs as one-line errors with a non-zero exit.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CurveRun, learningCurvesSvg } from '../cli/report/curves.js';
import type { EvalRecord } from '../train/state.js';
import { chainStages } from '../cli/curves.js';
import { cli, errorLines } from './lib/cli.js';
import { compositionFasta, tempDir, writeText } from './lib/train_fixtures.js';

const dir = tempDir('curves');

const FT: EvalRecord[] = [
  { step: 100, epoch: 0.5, train_loss: 2.0, macro_f1: 0.2, accuracy: 0.3, loss: 1.8 },
  { step: 200, epoch: 1.0, train_loss: 1.5, macro_f1: 0.5, accuracy: 0.6, loss: 1.4 },
  { step: 300, epoch: 1.5, train_loss: 1.2, macro_f1: 0.4, accuracy: 0.55, loss: 1.6 },
];
const PT: EvalRecord[] = [{ step: 1000, epoch: 1.004, train_loss: 2.75, loss: 2.70, perplexity: 14.9 }];

const num = (s: string, name: string): number => Number(new RegExp(`\\b${name}="([^"]+)"`).exec(s)![1]);

interface PanelMarks {
  frame: { x: number; y: number; w: number; h: number };
  points: { cx: number; cy: number }[];
  best: { cx: number; cy: number }[];
  bestLines: number[];
  /** Value to y, from the outermost labelled grid lines. */
  yOf: (v: number) => number;
  reference: number | null;
}

/** The marks of panel `key` in an SVG document. */
function panel(svg: string, key: string): PanelMarks {
  const g = new RegExp(`<g id="panel-${key}">(.*?)</g>`, 's').exec(svg)?.[1];
  assert.ok(g, `panel ${key}`);
  const rect = /<rect class="frame"[^>]*>/.exec(g!)![0];
  const circles = (cls: string) => [...g!.matchAll(new RegExp(`<circle class="${cls}"[^>]*>`, 'g'))].map((m) => ({ cx: num(m[0], 'cx'), cy: num(m[0], 'cy') }));
  const grid = [...g!.matchAll(/<line class="ygrid"[^>]*>/g)].map((m) => num(m[0], 'y1'));
  const labels = [...g!.matchAll(/<text[^>]*class="ytick"[^>]*>([^<]*)<\/text>/g)].map((m) => Number(m[1]));
  assert.is(grid.length, labels.length);
  assert.ok(grid.length >= 2, `${key}: at least two labelled grid lines`);
  const [v0, v1, p0, p1] = [labels[0]!, labels[labels.length - 1]!, grid[0]!, grid[grid.length - 1]!];
  const ref = /<line class="reference"[^>]*>/.exec(g!)?.[0];
  return {
    frame: { x: num(rect, 'x'), y: num(rect, 'y'), w: num(rect, 'width'), h: num(rect, 'height') },
    points: circles('point'),
    best: circles('best'),
    bestLines: [...g!.matchAll(/<line class="best-line"[^>]*>/g)].map((m) => num(m[0], 'x1')),
    yOf: (v) => p0 + ((v - v0) * (p1 - p0)) / (v1 - v0),
    reference: ref ? num(ref, 'y1') : null,
  };
}

/** Well-formed XML (a small check): balanced tags, quoted attributes, no bare & or < in text. */
function assertWellFormed(svg: string): void {
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  let at = 0;
  for (const m of body.matchAll(/<[^>]*>/g)) {
    const between = body.slice(at, m.index);
    assert.not.match(between, /<|&(?!(amp|lt|gt|quot|apos);)/, `text before ${m[0].slice(0, 40)}`);
    at = m.index! + m[0].length;
    const tag = m[0];
    assert.not.match(tag.slice(1).replace(/"[^"]*"/g, '""'), /[<&]/, `attributes of ${tag.slice(0, 40)}`);
    if (tag.startsWith('</')) assert.is(stack.pop(), tag.slice(2, -1), 'closing tag');
    else if (!tag.endsWith('/>')) stack.push(/^<([\w-]+)/.exec(tag)![1]!);
  }
  assert.equal(stack, [], 'unclosed tags');
  assert.is(body.slice(at).trim(), '');
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 0.02, `${what}: ${a} vs ${b}`);

test('finetune curves: four panels, a marker per evaluation at its scaled step and value, the best step ringed', () => {
  const run: CurveRun = { label: 'probe <a> & "b"', kind: 'finetune', history: FT, bestStep: 200 };
  const svg = learningCurvesSvg([run], { title: 'T & t' });
  assertWellFormed(svg);
  assert.ok(svg.includes('probe &lt;a&gt; &amp; &quot;b&quot; (best: step 200)'), 'escaped legend label');
  for (const key of ['train_loss', 'loss', 'macro_f1', 'accuracy']) {
    const p = panel(svg, key);
    assert.is(p.points.length, FT.length, `${key}: one marker per evaluation`);
    FT.forEach((h, i) => {
      // Steps run from 0 at the left edge to the last evaluated step at the right.
      close(p.points[i]!.cx, p.frame.x + (h.step / 300) * p.frame.w, `${key} x of step ${h.step}`);
      close(p.points[i]!.cy, p.yOf(h[key]!), `${key} y of step ${h.step}`);
      assert.ok(p.points[i]!.cy >= p.frame.y && p.points[i]!.cy <= p.frame.y + p.frame.h, `${key} inside the frame`);
    });
    assert.equal(p.best, [p.points[1]!], `${key}: the best step's marker is ringed`);
    assert.equal(p.bestLines, [p.points[1]!.cx]);
  }
  // Two points numerically: macro-F1 at step 200 sits two thirds across, and higher than at step 100.
  const f1 = panel(svg, 'macro_f1');
  close(f1.points[1]!.cx, f1.frame.x + (2 / 3) * f1.frame.w, 'step 200');
  assert.ok(f1.points[1]!.cy < f1.points[0]!.cy);
  assert.not.ok(svg.includes('panel-perplexity'));
});

test('pretrain curves of a one-point history, two runs and a reference perplexity', () => {
  const second: EvalRecord[] = [...PT, { step: 2000, epoch: 2.008, train_loss: 2.69, loss: 2.69, perplexity: 14.7 }];
  const svg = learningCurvesSvg([
    { label: 'one', kind: 'pretrain', history: PT, bestStep: 1000 },
    { label: 'two', kind: 'pretrain', history: second, bestStep: null },
  ], { referencePerplexity: { value: 18.25, label: 'unigram' } });
  assertWellFormed(svg);
  for (const key of ['train_loss', 'loss', 'perplexity']) {
    const p = panel(svg, key);
    assert.is(p.points.length, 3);
    close(p.points[0]!.cx, p.frame.x + p.frame.w / 2, `${key}: run one's step 1000 of 2000`);
    close(p.points[2]!.cx, p.frame.x + p.frame.w, `${key}: run two's last step`);
    close(p.points[0]!.cy, p.yOf(PT[0]![key]!), key);
    assert.is(p.best.length, 1, 'only run one has a best step');
  }
  const ppl = panel(svg, 'perplexity');
  close(ppl.reference!, ppl.yOf(18.25), 'reference line');
  assert.ok(ppl.reference! >= ppl.frame.y, 'the axis holds the reference');
  assert.is(panel(svg, 'loss').reference, null);
  assert.ok(svg.includes('#0072B2') && svg.includes('#D55E00'), 'a colour per run');
  // A single run with a single evaluation draws too.
  const single = learningCurvesSvg([{ label: 'one', kind: 'pretrain', history: PT, bestStep: 1000 }]);
  assertWellFormed(single);
  close(panel(single, 'perplexity').points[0]!.cx, panel(single, 'perplexity').frame.x + 320, 'one point at the right edge');
  assert.throws(() => learningCurvesSvg([{ label: 'a', kind: 'pretrain', history: PT, bestStep: null }, { label: 'b', kind: 'finetune', history: FT, bestStep: null }]), /cannot share panels/);
  assert.throws(() => learningCurvesSvg([{ label: 'a', kind: 'pretrain', history: [], bestStep: null }]), /no evaluations/);
});

/** A run folder with esm-kn.json files only (the command reads nothing else). */
function fakeRun(name: string, files: Record<string, unknown>): string {
  const root = join(dir, name);
  for (const [path, json] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), JSON.stringify(json));
  }
  mkdirSync(root, { recursive: true });
  return root;
}

const lastJson = (command: string, history: EvalRecord[], best: number | null) => ({ format: 'esm-kn', training: { command, state: { history, best: best === null ? null : { score: 0, step: best } } } });
const ftA = fakeRun('ft-a', { 'last/esm-kn.json': lastJson('finetune', FT, 200) });
// last/ saved at step 100, best/ at step 200 later: the later history (best/'s) is drawn.
const ftB = fakeRun('ft-b', {
  'last/esm-kn.json': lastJson('finetune', FT.slice(0, 1), 100),
  'best/esm-kn.json': { format: 'esm-kn', metrics: { step: 200 }, history: FT.slice(0, 2), provenance: { command: 'finetune' } },
});
const pt = fakeRun('pt', { 'last/esm-kn.json': lastJson('pretrain', PT, 1000) });

test('esm-kn curves: two finetune runs with labels; last/ or best/, whichever is later; a checkpoint folder', () => {
  const out = join(dir, 'ft.svg');
  const r = cli('curves', ftA, ftB, '--out', out, '--label', 'A', 'B', '--title', 'two runs');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*ft\.svg \(2 finetune runs, 5 evaluations\)/);
  const svg = readFileSync(out, 'utf8');
  assertWellFormed(svg);
  assert.ok(svg.includes('>A (best: step 200)<') && svg.includes('>B (best: step 200)<'));
  assert.is(panel(svg, 'macro_f1').points.length, 5);
  assert.is(panel(svg, 'macro_f1').best.length, 2);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  // The committed backbone keeps its history in its own esm-kn.json.
  const backbone = cli('curves', 'experiments/backbones/pretrain-4x96', '--out', join(dir, 'backbone.svg'), '--reference-perplexity', '18.25', '--reference-label', 'unigram');
  assert.is(backbone.status, 0, backbone.stderr);
  const b = readFileSync(join(dir, 'backbone.svg'), 'utf8');
  assert.is(panel(b, 'perplexity').points.length, 4);
  assert.ok(b.includes('>pretrain-4x96 (best: step 4000)<'));
  assert.ok(b.includes('unigram 18.25'));
});

test('curves --stages: each run continues from the last evaluated step and epoch of the one before', () => {
  const a: CurveRun = { label: 'A', kind: 'finetune', history: FT, bestStep: 200 };
  const b: CurveRun = { label: 'B', kind: 'finetune', history: FT.slice(0, 2), bestStep: 200 };
  const [a2, b2] = chainStages([a, b]);
  assert.equal(a2!.history, FT, 'the first stage is unchanged');
  assert.equal(b2!.history.map((h) => [h.step, h.epoch]), [[400, 2.0], [500, 2.5]], 'shifted by 300 steps and 1.5 epochs');
  assert.is(b2!.bestStep, 500);
  assert.equal(b2!.history[0]!.macro_f1, FT[0]!.macro_f1, 'values kept');
  assert.is(b.history[0]!.step, 100, 'input left alone');
  const out = join(dir, 'stages.svg');
  const r = cli('curves', ftA, ftB, '--stages', '--out', out);
  assert.is(r.status, 0, r.stderr);
  const f1 = panel(readFileSync(out, 'utf8'), 'macro_f1');
  const xs = f1.points.map((q) => q.cx).sort((u, v) => u - v);
  // Steps 100, 200, 300 (ft-a) and 400, 500 (ft-b after it) on an axis to 500.
  [100, 200, 300, 400, 500].forEach((step, i) => close(xs[i]!, f1.frame.x + (320 * step) / 500, `step ${step}`));
  close(f1.bestLines.sort((u, v) => u - v)[1]!, f1.frame.x + 320, "ft-b's best at step 500");
});

test('esm-kn curves: bad inputs are one-line errors with a non-zero exit', () => {
  const plain = fakeRun('plain', {});
  const model = fakeRun('model', { 'esm-kn.json': { format: 'esm-kn', config: {} } });
  const fresh = fakeRun('fresh', { 'last/esm-kn.json': lastJson('finetune', [], null) });
  const file = writeText(dir, 'file.txt', 'x');
  const svg = join(dir, 'x.svg');
  const cases: [string[], RegExp, number][] = [
    [[join(dir, 'nothere'), '--out', svg], /nothere: no such run folder/, 1],
    [[file, '--out', svg], /file\.txt: is a file, not a run folder/, 1],
    [[plain, '--out', svg], /plain: no last\/esm-kn\.json, best\/esm-kn\.json or esm-kn\.json: not a run folder/, 1],
    [[model, '--out', svg], /model\/esm-kn\.json: has no training history/, 1],
    [[fresh, '--out', svg], /fresh\/last\/esm-kn\.json: has an empty training history: no evaluation yet/, 1],
    [[ftA, pt, '--out', svg], /cannot draw finetune and pretrain runs together/, 2],
    [[ftA, ftB, '--out', svg, '--label', 'A'], /--label gives 1 names for 2 runs/, 2],
    [[ftA], /--out FILE\.svg is required/, 2],
    [['--out', svg], /needs at least one RUN folder/, 2],
    [[ftA, '--out', svg, '--reference-perplexity', '18'], /--reference-perplexity is for pretrain runs/, 2],
    [[pt, '--out', svg, '--reference-perplexity', '-1'], /--reference-perplexity must be a positive number/, 2],
    [[pt, '--out', join(dir, 'no', 'x.svg')], /x\.svg: cannot be written \(ENOENT: no folder/, 1],
  ];
  for (const [args, message, status] of cases) {
    const r = cli('curves', ...args);
    const lines = errorLines(r.stderr);
    assert.is(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0]!, message);
  }
  assert.not.ok(existsSync(svg), 'nothing written');
});

test('a finetune run writes DIR/learning_curves.svg after every evaluation', () => {
  const data = writeText(dir, 'composition.fasta', compositionFasta(60, 3));
  const out = join(dir, 'run');
  const r = cli('finetune', '--layers', '1', '--dim', '16', '--heads', '2', '--data', data, '--max-len', '20', '--max-steps', '2', '--eval-every', '1', '--quiet', '--out', out);
  assert.is(r.status, 0, r.stderr);
  const svg = readFileSync(join(out, 'learning_curves.svg'), 'utf8');
  assertWellFormed(svg);
  for (const key of ['train_loss', 'loss', 'macro_f1', 'accuracy']) assert.is(panel(svg, key).points.length, 2, key);
  assert.is(panel(svg, 'macro_f1').best.length, 1);
  assert.ok(svg.includes('esm-kn finetune run: learning curves'));
  assert.equal(readdirSync(out).sort(), ['best', 'last', 'learning_curves.svg']);
});

test.run();
