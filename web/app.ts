/**
 * The page: checks WebGPU, loads a classifier (the embedded default or picked files in any of the three
 * checkpoint forms), takes a sequence (pasted, uploaded or the example) and runs web/analysis.ts with
 * visible progress; a row of the top-neuron table shows that neuron's card (web/card.ts) on the run's
 * records. Every failure ends as a one-line message in the section it belongs to; nothing is
 * left uncaught. body[data-state] says where the page is ('starting', 'no-gpu', 'ready', 'running',
 * 'done'), which the page tests wait on; #neuron-card[data-neuron] names the card shown.
 */
import { loadCheckpointFiles } from '../model/checkpoint/load.js';
import type { CheckpointFiles } from '../model/checkpoint/load.js';
import { type NeuronRow, type RunOptions, analyse } from './analysis.js';
import { type CardOptions, pageNeuronCard } from './card.js';
import { type Classifier, disposeClassifier, describeReading, modelReading, uploadClassifier } from '../model/classifier.js';
import { fetchCheckpointFiles, pickedCheckpointFiles } from './model_files.js';
import { type InputRecord, parseSequenceInput } from './sequence_input.js';
import { byId, el, oneLine, showMessage } from './ui/dom.js';
import { isSoftwareAdapter } from '../engine/index.js';
import { checkWebGpu, describeDevice } from './ui/gpu_check.js';
import { drawResidueTrack } from './ui/residue_track.js';
import { cardKey, cardView, neuronName } from './ui/neuron_card.js';
import { neuronUnits } from '../kn/pairs.js';
import { effectsTable, neuronTable, probabilityChart } from './ui/results.js';

const DEFAULT_MODEL = 'models/default';

let classifier: Classifier | null = null;
let gpuReady = false;
let busy = false;

/** What the last run analysed, for the cards of its table: the records, which one, its class and the settings. */
interface LastRun {
  readonly clf: Classifier;
  readonly records: readonly InputRecord[];
  readonly analysed: number;
  readonly predicted: number;
  readonly maxLength: number;
}
let lastRun: LastRun | null = null;

const setState = (s: string) => {
  document.body.dataset.state = s;
};

function updateRunButton(): void {
  byId<HTMLButtonElement>('run').disabled = busy || !gpuReady || !classifier;
}

/** Runs `fn` as the only GPU job (engine scopes must not interleave), showing failures in `errorBox`. */
async function exclusive(errorBox: HTMLElement, fn: () => Promise<void>): Promise<void> {
  if (busy) return;
  busy = true;
  updateRunButton();
  for (const id of ['use-default', 'model-files', 'model-folder']) byId<HTMLInputElement>(id).disabled = true;
  showMessage(errorBox, null);
  try {
    await fn();
  } catch (e) {
    showMessage(errorBox, oneLine(e));
  } finally {
    busy = false;
    for (const id of ['use-default', 'model-files', 'model-folder']) byId<HTMLInputElement>(id).disabled = !gpuReady;
    updateRunButton();
  }
}

async function loadModel(describe: string, files: () => Promise<CheckpointFiles>): Promise<void> {
  const status = byId('model-status');
  await exclusive(byId('model-error'), async () => {
    status.textContent = `Loading ${describe}…`;
    try {
      const ckpt = await loadCheckpointFiles(await files());
      const next = uploadClassifier(ckpt);
      if (classifier) disposeClassifier(classifier);
      classifier = next;
      const c = next.config;
      const reading = modelReading(ckpt.meta);
      // The analysis reads what the model was validated on: its window (or crop) length.
      if (reading) byId<HTMLInputElement>('max-length').value = String(Math.min(reading.window?.size ?? reading.maxLength, 1022));
      status.textContent = `Model: ${next.source} (${c.numLayers} layers, dim ${c.embedDim}, ${c.attentionHeads} heads, ` +
        `${next.head.pooling} pooling); classes: ${next.labels.join(', ')}.` +
        (reading ? ` It reads a sequence as ${describeReading(reading)}.` : '');
    } catch (e) {
      status.textContent = classifier ? `Still using: ${classifier.source}.` : 'No model loaded.';
      throw e;
    }
  });
  // Counts finished load attempts (success or not), for tests that pick files one after another.
  document.body.dataset.modelLoads = String(Number(document.body.dataset.modelLoads ?? 0) + 1);
}

function pickedModel(input: HTMLInputElement): void {
  const list = Array.from(input.files ?? []);
  input.value = '';
  if (!list.length) return;
  const name = list.length === 1 ? list[0]!.name : `${list.length} files`;
  void loadModel(name, async () => pickedCheckpointFiles(list.map((f) => ({ blob: f, name: f.name, relativePath: f.webkitRelativePath }))));
}

// Sequence input -----------------------------------------------------------------------------------

let inputName = 'pasted text';

function currentRecords(): InputRecord[] {
  return parseSequenceInput(byId<HTMLTextAreaElement>('sequence').value, inputName);
}

function refreshRecords(): void {
  const select = byId<HTMLSelectElement>('record');
  const box = byId('input-error');
  try {
    const records = currentRecords();
    showMessage(box, null);
    select.replaceChildren(...records.map((r, i) => el('option', { value: String(i) }, `${r.label} (${r.sequence.length} residues)`)));
    byId('record-label').hidden = records.length < 2;
  } catch (e) {
    select.replaceChildren();
    byId('record-label').hidden = true;
    if (byId<HTMLTextAreaElement>('sequence').value.trim()) showMessage(box, oneLine(e));
    else showMessage(box, null);
  }
}

async function exampleSequence(): Promise<void> {
  try {
    const res = await fetch('example.fasta');
    if (!res.ok) throw new Error(`example.fasta: cannot fetch (HTTP ${res.status})`);
    byId<HTMLTextAreaElement>('sequence').value = await res.text();
    inputName = 'example.fasta';
    refreshRecords();
  } catch (e) {
    showMessage(byId('input-error'), oneLine(e));
  }
}

async function uploadedFasta(input: HTMLInputElement): Promise<void> {
  const file = input.files?.[0];
  input.value = '';
  if (!file) return;
  try {
    if (file.size > 64 * 2 ** 20) throw new Error(`${file.name}: ${Math.round(file.size / 2 ** 20)} MiB is too large for a FASTA file here`);
    byId<HTMLTextAreaElement>('sequence').value = await file.text();
    inputName = file.name;
    refreshRecords();
  } catch (e) {
    showMessage(byId('input-error'), oneLine(e));
  }
}

// Running ------------------------------------------------------------------------------------------

function intSetting(id: string, min: number, max: number): number {
  const input = byId<HTMLInputElement>(id);
  const v = Number(input.value);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`setting '${input.parentElement?.textContent?.trim()}' must be a whole number in [${min}, ${max}], got '${input.value}'`);
  return v;
}

function runOptions(): RunOptions {
  return {
    residueSteps: intSetting('residue-steps', 1, 256),
    neuronSteps: intSetting('neuron-steps', 1, 256),
    maxLength: intSetting('max-length', 1, 1022),
    topK: intSetting('top-k', 1, 200),
    fraction: intSetting('fraction', 1, 100) / 100,
    reading: classifier ? modelReading(classifier.checkpoint.meta) : null,
  };
}

async function run(): Promise<void> {
  const clf = classifier;
  if (!clf) return;
  const progress = byId<HTMLProgressElement>('progress');
  const status = byId('run-status');
  await exclusive(byId('run-error'), async () => {
    let records: InputRecord[];
    try {
      records = currentRecords();
    } catch (e) {
      showMessage(byId('input-error'), oneLine(e));
      return;
    }
    const picked = Number(byId<HTMLSelectElement>('record').value) || 0;
    const index = picked < records.length ? picked : 0;
    const rec = records[index]!;
    const opts = runOptions();
    cardOptions(opts.maxLength); // settings checked before the run, not at the first click
    lastRun = null;
    byId('neuron-card').hidden = true;
    setState('running');
    progress.hidden = false;
    const t0 = performance.now();
    try {
      const result = await analyse(clf, rec.sequence, opts, (stage, done, total) => {
        progress.value = total ? done / total : 0;
        status.textContent = `${stage}${total > 1 ? ` ${done}/${total}` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
      });
      lastRun = { clf, records, analysed: index, predicted: result.predicted, maxLength: opts.maxLength };
      render(clf, rec, result, opts);
      status.textContent = `Done in ${((performance.now() - t0) / 1000).toFixed(1)} s.`;
    } catch (e) {
      status.textContent = 'Failed.';
      throw e;
    } finally {
      progress.hidden = true;
      setState('done');
    }
  });
}

function cardOptions(maxLength: number): CardOptions {
  return { windows: intSetting('card-windows', 1, 100), maxRecords: intSetting('card-records', 1, 1000), maxLength };
}

/** Computes and shows the card of a neuron of the last run's table (one GPU job at a time). */
async function showCard(row: NeuronRow, tr: HTMLTableRowElement): Promise<void> {
  const run = lastRun;
  if (!run || busy) return;
  const box = byId('neuron-card');
  const status = byId('card-status');
  await exclusive(byId('card-error'), async () => {
    box.hidden = false;
    delete box.dataset.neuron;
    byId('card-body').replaceChildren();
    status.textContent = '';
    for (const other of Array.from(tr.parentElement?.children ?? [])) other.classList.toggle('picked', other === tr);
    if (run.clf !== classifier) throw new Error('another model was loaded since this table was computed: run again for its cards');
    const opts = cardOptions(run.maxLength);
    // A query/key row's card is its rotary pair's.
    const name = neuronName({ ...row, units: neuronUnits(row.module, row.index, run.clf.config.headDim) });
    setState('running');
    const t0 = performance.now();
    try {
      const pc = await pageNeuronCard(run.clf, run.records, run.analysed, row, run.predicted, opts, (stage, done, total) => {
        status.textContent = `Card of ${name}: ${stage}${total > 1 ? ` ${done}/${total}` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
      });
      byId('card-body').replaceChildren(cardView(pc));
      box.dataset.neuron = cardKey(pc);
      status.textContent = `Card of ${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s.`;
    } catch (e) {
      status.textContent = `Card of ${name}: failed.`;
      throw e;
    } finally {
      setState('done');
    }
  });
}

function render(clf: Classifier, rec: InputRecord, r: Awaited<ReturnType<typeof analyse>>, opts: RunOptions): void {
  const labels = clf.labels;
  const cls = labels[r.predicted]!;
  byId('results').hidden = false;
  byId('prediction').textContent = `${rec.label}: ${cls} (${(100 * r.probs[r.predicted]!).toFixed(1)}%)`;
  byId('probabilities').replaceChildren(probabilityChart(labels, r.probs, r.predicted));
  const rd = r.reading;
  byId('reading').hidden = !rd;
  if (rd) {
    byId('reading-caption').textContent = `Above: the first ${r.sequence.length} residues in one pass (what the attributions below explain). ` +
      `The whole sequence (${rec.sequence.length} residues) as the model reads it, ${rd.describe} (${rd.passes} pass${rd.passes === 1 ? '' : 'es'}): ` +
      `${labels[rd.predicted]!} (${(100 * rd.probs[rd.predicted]!).toFixed(1)}%).`;
    byId('reading-probabilities').replaceChildren(probabilityChart(labels, rd.probs, rd.predicted));
  }
  const crop = r.cropped ? ` Only the first ${r.sequence.length} of ${rec.sequence.length} residues were analysed.` : '';
  byId('track-caption').textContent = `Integrated gradients of P(${cls}) with respect to each residue's input embedding, baseline zero ` +
    `(the <cls> and <eos> tokens keep theirs), ${opts.residueSteps} Riemann steps, summed over the model dimension. ` +
    `Red raises the probability, blue lowers it.${crop}`;
  const scale = drawResidueTrack(byId<HTMLCanvasElement>('track'), r.sequence, r.residue.attributions);
  const res = r.residue;
  byId('completeness').textContent = `Largest |attribution| ${scale.toExponential(2)}. Completeness: attributions sum to ` +
    `${(res.fx - res.fb + res.gap).toFixed(4)}; P(x) - P(baseline) = ${res.fx.toFixed(4)} - ${res.fb.toFixed(4)} = ${(res.fx - res.fb).toFixed(4)}; ` +
    `gap ${res.gap.toExponential(2)}. More steps shrink a gap that comes from curvature, but not one from a step: LayerNorm rescales the shrunken ` +
    'residue embeddings, and the default model\'s probability jumps in steps while they are still about 2% of their size, where no gradient sees it.';
  byId('neurons-caption').textContent = `Integrated gradients of P(${cls}) for every neuron (the outputs of query, key, value, attention-output, ` +
    `FFN-in after GELU and FFN-out in every layer), scaling each module's whole output from zero, ${opts.neuronSteps} Riemann steps; the ${r.neurons.length} highest. ` +
    'Click a row (or its card button) for what that neuron responds to in the sequences given above.';
  byId('neurons').replaceChildren(neuronTable(r.neurons, (row, tr) => void showCard(row, tr)));
  byId('effects-caption').textContent = `For each module type: its top ${Math.round(opts.fraction * 100)}% neurons per layer by that score, ` +
    `preserved (every other neuron of the type zeroed) or ablated (those neurons zeroed). Probabilities of all classes as small bars.`;
  byId('effects').replaceChildren(effectsTable(labels, r.probs, r.predicted, r.effects));
  byId('timings').textContent = `Timings: ${Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}.`;
}

// Start --------------------------------------------------------------------------------------------

async function boot(): Promise<void> {
  setState('starting');
  // Anything that still escapes is shown, never a blank page.
  addEventListener('error', (ev) => showMessage(byId('run-error'), oneLine(ev.error ?? ev.message)));
  addEventListener('unhandledrejection', (ev) => {
    ev.preventDefault();
    showMessage(byId('run-error'), oneLine(ev.reason));
  });
  byId('use-default').addEventListener('click', () => void loadModel('the embedded default model', () => fetchCheckpointFiles(DEFAULT_MODEL)));
  byId<HTMLInputElement>('model-files').addEventListener('change', (ev) => pickedModel(ev.target as HTMLInputElement));
  byId<HTMLInputElement>('model-folder').addEventListener('change', (ev) => pickedModel(ev.target as HTMLInputElement));
  byId('sequence').addEventListener('input', () => {
    inputName = 'pasted text';
    refreshRecords();
  });
  byId<HTMLInputElement>('fasta-file').addEventListener('change', (ev) => void uploadedFasta(ev.target as HTMLInputElement));
  byId('example').addEventListener('click', () => void exampleSequence());
  byId('run').addEventListener('click', () => void run());
  for (const id of ['use-default', 'model-files', 'model-folder']) byId<HTMLInputElement>(id).disabled = true;

  const gpu = await checkWebGpu();
  if (!gpu.ok) {
    byId('gpu-status').textContent = 'No WebGPU: the model cannot run in this browser.';
    showMessage(byId('gpu-error'), gpu.message);
    setState('no-gpu');
    return;
  }
  gpuReady = true;
  // Software adapters (SwiftShader, lavapipe): the page caps steps and length.
  const soft = isSoftwareAdapter(gpu.info);
  byId('gpu-status').textContent = `WebGPU adapter: ${describeDevice(gpu.info)}.`;
  byId('settings-hint').textContent = soft
    ? 'A software adapter runs everything on the CPU, so the defaults are small: 16 steps for the track, 4 for the neurons (one batched pass per layer and module), the first 200 residues (or the model\'s window when it has one), neuron cards of 10 windows over at most 16 records. More steps take proportionally longer.'
    : 'A hardware adapter: larger step counts and longer sequences stay quick.';
  if (!soft) {
    byId<HTMLInputElement>('residue-steps').value = '32';
    byId<HTMLInputElement>('neuron-steps').value = '20';
    byId<HTMLInputElement>('max-length').value = '1022'; // until a model with a reading sets its window
    byId<HTMLInputElement>('card-windows').value = '20';
    byId<HTMLInputElement>('card-records').value = '256';
  }
  await loadModel('the embedded default model', () => fetchCheckpointFiles(DEFAULT_MODEL));
  setState('ready');
}

void boot();
