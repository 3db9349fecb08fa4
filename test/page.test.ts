/**
 * The page (web/) in Debian's chromium on SwiftShader: it loads the embedded default model with no
 * console errors, classifies a sequence with the probabilities the float64 reference model computes in
 * Node for the same checkpoint and sequence, draws a non-blank attribution track (a screenshot decoded
 * here), lists the top neurons and the preserve/ablate effects, and shows a neuron's card (SVG logo,
 * windows inside the sequence) when a row of the neuron table is clicked, for one record and for
 * several (one window per record, enrichment by predicted class); bad model files, bad FASTA, a model
 * without a head and a browser without WebGPU each show a visible one-line message, and a picked folder
 * loads. Build first (node scripts/build.mjs).
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCheckpoint } from '../model/checkpoint/node.js';
import { NEURON_MODULES } from '../model/esm.js';
import { neuronUnits } from '../kn/pairs.js';
import { refClassifierProbs } from '../kn/ref/ig.js';
import { encodeSequence } from '../model/tokenizer.js';
import { modelReading, windowStarts } from '../model/classifier.js';
import { type BrowserSession, openBrowser } from './lib/browser.js';
import { fairEsmFiles } from './lib/checkpoint_fixtures.js';
import { decodePng, imageStats } from './lib/png.js';

const EXAMPLE = readFileSync('web/example.fasta', 'utf8').split('\n').filter((l) => l && !l.startsWith('>'));
/** The example's first 60 residues: short, so SwiftShader runs the whole analysis in seconds. */
const SEQUENCE = EXAMPLE.join('').slice(0, 60);

let session: BrowserSession;

test.before(async () => {
  session = await openBrowser();
});

test.after(async () => {
  await session?.close();
});

type Page = Awaited<ReturnType<BrowserSession['open']>>['page'];

async function openReady(): Promise<{ page: Page; errors: string[] }> {
  const opened = await session.open('/index.html');
  await opened.page.waitForSelector('body[data-state="ready"], body[data-state="no-gpu"]', { timeout: 180_000 });
  return opened;
}

/** The visible text of a message element, '' when hidden. */
async function message(page: Page, id: string): Promise<string> {
  const loc = page.locator(`#${id}`);
  return (await loc.isVisible()) ? (await loc.textContent()) ?? '' : '';
}

test('the page classifies a sequence, draws its attribution track and lists neurons', async () => {
  const { page, errors } = await openReady();
  assert.match(await page.locator('#gpu-status').textContent() ?? '', /WebGPU adapter: .*256 invocations per workgroup/);
  assert.match(await page.locator('#model-status').textContent() ?? '', /esm-kn models\/default .*classes: EC1/);
  await page.fill('#sequence', `>short\n${SEQUENCE}\n`);
  await page.click('details summary');
  await page.fill('#residue-steps', '4');
  await page.fill('#neuron-steps', '2');
  await page.fill('#top-k', '12');
  const t0 = Date.now();
  await page.click('#run');
  await page.waitForSelector('body[data-state="done"]', { timeout: 180_000 });
  const seconds = (Date.now() - t0) / 1000;
  assert.is(await message(page, 'run-error'), '', 'no run error');
  console.log(`  page run (60 residues, m=4 track, m=2 neurons): ${seconds.toFixed(1)} s; ${await page.locator('#timings').textContent()}`);

  // Probabilities against the float64 reference model in Node for the same checkpoint and sequence.
  const shown = await page.locator('#probabilities .prob-value').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.p)));
  const ck = await loadCheckpoint('experiments/models/default');
  const head = { pooling: ck.head!.pooling, numClasses: ck.head!.labels.length, params: new Map([...ck.head!.params].map(([n, t]) => [n, t.data])) };
  const tokens = encodeSequence(SEQUENCE);
  const want = Array.from(refClassifierProbs(ck.config, ck.params, head, tokens, 1, tokens.length));
  assert.is(shown.length, want.length);
  assert.ok(Math.abs(shown.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'probabilities sum to 1');
  for (let c = 0; c < want.length; c++) assert.ok(Math.abs(shown[c]! - want[c]!) < 1e-4, `class ${c}: page ${shown[c]} vs Node ${want[c]}`);
  const best = want.indexOf(Math.max(...want));
  assert.match(await page.locator('#prediction').textContent() ?? '', new RegExp(`^short: ${ck.head!.labels[best]!} \\(`));
  assert.not.ok(await page.locator('#reading').isVisible(), 'a sequence within the model\'s window: its reading is the analysis itself');

  // The track: a screenshot with ink in several colours.
  const stats = imageStats(decodePng(await page.locator('#track').screenshot()));
  assert.ok(stats.inked > 0.05 && stats.colours > 20 && stats.variance > 100, `track looks blank: ${JSON.stringify(stats)}`);
  assert.match(await page.locator('#completeness').textContent() ?? '', /gap [-0-9.e+]+/);

  const rows = await page.locator('table.neurons tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent ?? '')));
  assert.is(rows.length, 12);
  for (const [, module, layer, index, score] of rows) {
    assert.ok((NEURON_MODULES as readonly string[]).includes(module!), `module ${module}`);
    assert.ok(Number(layer) >= 0 && Number(layer) < 4 && Number(index) >= 0, `layer ${layer} index ${index}`);
    assert.ok(Number.isFinite(Number(score)), `score ${score}`);
  }
  assert.ok(Number(rows[0]![4]) >= Number(rows[11]![4]), 'sorted by score');
  assert.is(await page.locator('table.effects tbody tr').count(), 1 + NEURON_MODULES.length);

  // A row's card: one sequence, so its windows are the sequence's 10 most active residues (the software default).
  const [, module, layer, index] = rows[1]!;
  const card = await openCard(page, 1, cardKeyOf(module!, layer!, index!, ck.config.headDim));
  assert.match(card.hint, /single sequence the windows are its 10 most active residues/);
  assert.is(card.windows.length, 10);
  for (const w of card.windows) {
    assert.ok(Number.isInteger(w.position) && w.position >= 1 && w.position <= SEQUENCE.length, `position ${w.position} inside the sequence`);
    assert.is(w.centre, SEQUENCE[w.position - 1], `window centred on residue ${w.position}`);
  }
  assert.is(new Set(card.windows.map((w) => w.position)).size, 10, 'distinct residues');
  assert.is(card.enrichmentRows, 0, 'no enrichment from one record');
  assert.match(card.zero, /over the 1 record predicted .* zeroing (neuron \d+|pair \(\d+, \d+\)) of the same module and layer/);
  assert.equal(errors, [], 'no console errors');
  await page.close();
});

test('a sequence longer than the analysed residues is also shown as the model reads it (window-averaged)', async () => {
  const { page, errors } = await openReady();
  const ck = await loadCheckpoint('experiments/models/default');
  const reading = modelReading(ck.meta);
  assert.ok(reading?.window, 'the default model stores a window reading');
  const whole = EXAMPLE.join('');
  assert.ok(whole.length > reading!.window!.size, 'the example is longer than one window');
  assert.is(await page.inputValue('#max-length'), String(reading!.window!.size), 'the analysis defaults to the model\'s window');
  await page.fill('#sequence', `>whole\n${whole}\n`);
  await page.click('details summary');
  await page.fill('#max-length', '40');
  await page.fill('#residue-steps', '2');
  await page.fill('#neuron-steps', '1');
  await page.fill('#top-k', '3');
  await page.click('#run');
  await page.waitForSelector('body[data-state="done"]', { timeout: 180_000 });
  assert.is(await message(page, 'run-error'), '', 'no run error');
  assert.ok(await page.locator('#reading').isVisible(), 'the reading is shown');
  const starts = windowStarts(whole.length, reading!.window!);
  assert.match(await page.locator('#reading-caption').textContent() ?? '', new RegExp(`first 40 residues.*\\(${whole.length} residues\\).*256-residue windows at stride 128 \\(${starts.length} passes\\)`));
  // Float64 reference: the softmax of the windows' mean logits, i.e. of their mean log-probabilities.
  const head = { pooling: ck.head!.pooling, numClasses: ck.head!.labels.length, params: new Map([...ck.head!.params].map(([n, t]) => [n, t.data])) };
  const C = head.numClasses;
  const meanLog = new Float64Array(C);
  for (const s of starts) {
    const tokens = encodeSequence(whole.slice(s, s + reading!.window!.size));
    const p = refClassifierProbs(ck.config, ck.params, head, tokens, 1, tokens.length);
    for (let c = 0; c < C; c++) meanLog[c]! += Math.log(p[c]!) / starts.length;
  }
  const m = Math.max(...meanLog);
  const z = meanLog.reduce((a, v) => a + Math.exp(v - m), 0);
  const want = Array.from(meanLog, (v) => Math.exp(v - m) / z);
  const shown = await page.locator('#reading-probabilities .prob-value').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.p)));
  assert.is(shown.length, C);
  for (let c = 0; c < C; c++) assert.ok(Math.abs(shown[c]! - want[c]!) < 1e-4, `class ${c}: page ${shown[c]} vs float64 ${want[c]}`);
  assert.equal(errors, [], 'no console errors');
  await page.close();
});

/** The data-neuron key of a table row's card: a query/key row's card is its rotary pair's, named by the first unit. */
function cardKeyOf(module: string, layer: string, index: string, headDim: number): string {
  return `${module}:${layer}:${neuronUnits(module as (typeof NEURON_MODULES)[number], Number(index), headDim)[0]}`;
}

/** What a neuron card shows, read from the page. */
interface CardSeen {
  hint: string;
  windows: { position: number; record: string; centre: string }[];
  enrichmentRows: number;
  zero: string;
}

/** Clicks the card button of table row `row` and waits for the card of neuron `key` with its SVG logo. */
async function openCard(page: Page, row: number, key: string): Promise<CardSeen> {
  await page.locator('table.neurons tbody tr').nth(row).getByRole('button').click();
  await page.waitForSelector(`#neuron-card[data-neuron="${key}"] .logo svg`, { timeout: 180_000 });
  assert.is(await message(page, 'card-error'), '', 'no card error');
  const svg = await page.locator('#neuron-card .logo svg').evaluate((e) => e.outerHTML);
  assert.match(svg, /<title>.*top windows<\/title>/);
  assert.match(svg, />bits<\/text>/);
  const windows = await page.locator('#neuron-card table.card-windows tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    position: Number((tr as HTMLElement).dataset.position),
    record: (tr as HTMLElement).dataset.record ?? '',
    centre: tr.querySelector('td.window b')?.textContent ?? '',
  })));
  return {
    hint: (await page.locator('#neuron-card .card .hint').first().textContent()) ?? '',
    windows,
    enrichmentRows: await page.locator('#neuron-card table.card-enrichment tbody tr').count(),
    zero: (await page.locator('#neuron-card .card-zero').textContent()) ?? '',
  };
}

test('with several records a card takes one window per record and tests the predicted classes', async () => {
  const { page, errors } = await openReady();
  const records = { a: EXAMPLE.join('').slice(0, 40), b: EXAMPLE.join('').slice(40, 90), c: EXAMPLE.join('').slice(90, 125) };
  await page.fill('#sequence', Object.entries(records).map(([id, s]) => `>${id}\n${s}\n`).join(''));
  await page.click('details summary');
  await page.fill('#residue-steps', '2');
  await page.fill('#neuron-steps', '2');
  await page.fill('#top-k', '3');
  await page.click('#run');
  await page.waitForSelector('body[data-state="done"]', { timeout: 180_000 });
  assert.is(await message(page, 'run-error'), '', 'no run error');
  const [, module, layer, index] = await page.locator('table.neurons tbody tr').first().evaluate((tr) => Array.from(tr.children, (td) => td.textContent ?? ''));
  const headDim = (await loadCheckpoint('experiments/models/default')).config.headDim;
  const card = await openCard(page, 0, cardKeyOf(module!, layer!, index!, headDim));
  assert.match(card.hint, /Computed on the page's 3 records.*One window per record/);
  assert.is(card.windows.length, 3);
  assert.equal(card.windows.map((w) => w.record).sort(), ['a', 'b', 'c']);
  for (const w of card.windows) {
    const seq = records[w.record as keyof typeof records];
    assert.ok(w.position >= 1 && w.position <= seq.length, `${w.record}: position ${w.position} inside its ${seq.length} residues`);
    assert.is(w.centre, seq[w.position - 1]);
  }
  assert.ok(card.enrichmentRows >= 1, 'enrichment rows by predicted class');
  assert.match(await page.locator('#neuron-card table.card-enrichment tbody tr td:nth-child(3)').first().textContent() ?? '', / of 3$/);
  assert.match(card.zero, /Zeroing this (neuron|pair \(both units\)) alone/);
  assert.equal(errors, [], 'no console errors');
  await page.close();
});

test('bad files, bad FASTA and a model without a head show a visible message; a picked folder loads', async () => {
  const { page, errors } = await openReady();
  const json = readFileSync('experiments/models/default/esm-kn.json');
  const weights = readFileSync('experiments/models/default/model.safetensors');
  const cases: { files: { name: string; mimeType: string; buffer: Buffer }[]; want: RegExp }[] = [
    { files: [{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('just some notes\n') }], want: /notes\.txt: .*not a PyTorch checkpoint/ },
    {
      files: [{ name: 'esm-kn.json', mimeType: 'application/json', buffer: json }, { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: weights.subarray(0, 5000) }],
      want: /model\.safetensors: .*(truncated|exceed)/,
    },
    { files: [{ name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: weights }], want: /needs the esm-kn\.json or config\.json beside it/ },
    { files: [{ name: 'esm-kn.json', mimeType: 'application/json', buffer: Buffer.from('{"format": "esm-kn", ') }, { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: weights }], want: /esm-kn\.json: invalid JSON/ },
    {
      files: [...fairEsmFiles()].map(([name, bytes]) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) })),
      want: /tiny\.pt: a fair-esm model \(2 layers, dim 32\) with no classification head/,
    },
  ];
  for (const c of cases) {
    const loads = Number(await page.evaluate(() => document.body.dataset.modelLoads));
    await page.setInputFiles('#model-files', c.files);
    await page.waitForFunction((n) => Number(document.body.dataset.modelLoads) > n, loads, { timeout: 60_000 });
    const text = await message(page, 'model-error');
    assert.match(text, c.want, text);
    assert.not.match(text, /\n/, 'one line');
    assert.match(await page.locator('#model-status').textContent() ?? '', /Still using: esm-kn models\/default/);
  }
  // A picked folder (webkitdirectory) loads like the default: the entries' relative paths are mapped.
  const loads = Number(await page.evaluate(() => document.body.dataset.modelLoads));
  await page.setInputFiles('#model-folder', 'experiments/models/default');
  await page.waitForFunction((n) => Number(document.body.dataset.modelLoads) > n, loads, { timeout: 60_000 });
  assert.is(await message(page, 'model-error'), '');
  assert.match(await page.locator('#model-status').textContent() ?? '', /^Model: esm-kn default \(4 layers, dim 96/);
  await page.fill('#sequence', '>bad\nMKTAYIAKQR1ZZ\n');
  assert.match(await message(page, 'input-error'), /record 'bad': unknown character '1' at residue 11/);
  await page.setInputFiles('#fasta-file', { name: 'in.fasta', mimeType: 'text/plain', buffer: Buffer.from('MKT\n>x\nAAA\n') });
  await page.waitForFunction(() => !document.getElementById('input-error')!.hidden && /in\.fasta/.test(document.getElementById('input-error')!.textContent ?? ''));
  assert.match(await message(page, 'input-error'), /^in\.fasta: line 1: sequence data before the first '>' header/);
  assert.equal(errors, [], 'no console errors');
  await page.close();
});

test('a browser without WebGPU is told so plainly', async () => {
  const page = await session.browser.newPage();
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  await page.goto(`${session.server.url}/index.html`);
  await page.waitForSelector('body[data-state="no-gpu"]', { timeout: 30_000 });
  assert.match(await message(page, 'gpu-error'), /This browser has no WebGPU/);
  assert.ok(await page.locator('#run').isDisabled(), 'Run is disabled');
  await page.close();
});

test.run();
