/**
 * `esm-kn neurons score|select|ablate|edit|density|explain`: the knowledge-neuron study one step at a time.
 * score writes a safetensors file of per-example neuron scores; select turns one into a JSON file of
 * kept neurons; ablate measures a model with those selections; edit suppresses and amplifies each
 * class's top neurons; density reports where the global top neurons sit; explain (cli/neurons_explain.ts)
 * writes a card per top neuron. `esm-kn experiment` runs
 * them all and writes a report.
 */
import { readFileSync } from 'node:fs';
import { initEngine } from '../engine/index.js';
import { NEURON_MODULES, type NeuronModule } from '../model/esm.js';
import { writeFileAtomic } from '../io/atomic.js';
import { FormatError } from '../io/errors.js';
import type { SplitPart } from '../data/split.js';
import { disposeClassifier } from '../model/classifier.js';
import { weightsSha256 } from '../model/weights_hash.node.js';
import { type Replacement, REPLACEMENTS, ablationEdit, editedMetrics } from '../kn/ablate.js';
import { activationScores } from '../kn/activation.js';
import { classEdits } from '../kn/class_edits.js';
import { neuronDensity } from '../kn/density.js';
import { stratifiedSample } from '../kn/examples.js';
import type { IgPositions } from '../kn/ig.js';
import { igScores } from '../kn/ig_scores.js';
import { neuronAt, neuronLayout, parseModules, sameLayout } from '../kn/layout.js';
import { QUADRATURE_RULES, type QuadratureRule } from '../kn/quadrature.js';
import { SCORE_METHODS, type ScoreMethod, overallScores, summariseCompleteness } from '../kn/scores.js';
import { loadScores, saveScores } from '../kn/scores_io.js';
import { mergeShards, shardInfo } from '../kn/shards.js';
import { type Ranking, type Selection, keepFromLists, keptPerLayer, selectRandom, selectTop, topIndices } from '../kn/select.js';
import { type StudySetup, loadStudySetup } from './study_setup.js';
import { type Parsed, UsageError, evalBatching, intOption, oneOf, parseArgs } from './args.js';
import { countOrAll, fractionList, percent, rankingList, taskOption } from './experiment.js';
import { progressBar } from './progress.js';
import { EXPLAIN_USAGE, explainCommand } from './neurons_explain.js';
import { checkShardNotEmpty, shardItems, shardOption } from './records.js';

/** Usage text (esm-kn --help). */
export const NEURONS_USAGE = `esm-kn neurons score MODEL --out FILE.safetensors [--method ig|activation|abs-activation]
                 [--split train|valid|test] [--examples 64|all] [--steps 20] [--rule riemann|gauss-legendre]
                 [--internal-batch N] [--positions all|residues] [--baseline zero|mean] [--modules ...] [--shard K/N]
esm-kn neurons merge SHARD.safetensors... --out FILE.safetensors
esm-kn neurons select SCORES --out FILE.json [--fractions 1 5 10 20 50] [--rankings layer global] [--seeds 3]
esm-kn neurons ablate MODEL SELECTION [--replacement zero|mean --means ACTIVATION_SCORES] [--json] [--out FILE.json]
esm-kn neurons edit MODEL SCORES [--top 1] [--json]
esm-kn neurons density SCORES [--top 1] [--bootstrap 200] [--json]
${EXPLAIN_USAGE}
  Data options of score, ablate and edit: [--data default] [--task T] [--split-seed N] [--test-examples N|all]
  [--seed 0] [--max-len 1022] [--batch-size N] [--quiet]; --batch-size N sequences per batch; by default up to 64
  sequences and 4,096 tokens, padding included. score uses --examples records per class of the
  training split (default 64); ablate and edit the test split (--split, --test-examples per class, default all).
  --modules limits score, select and edit to some of: ${NEURON_MODULES.join(', ')}.
  score --shard K/N scores every N-th example from the K-th and writes that shard's rows; merge joins a
  complete set of shards (any order) into exactly the unsharded scores. Shards match by the model's
  weights (a SHA-256 score stores as model_sha256), not its path; shards of older versions without it
  are matched by path, with a note.`;

const DATA = {
  data: { kind: 'value' }, task: { kind: 'value' }, 'split-seed': { kind: 'value' }, split: { kind: 'value' }, 'test-examples': { kind: 'value' },
  seed: { kind: 'value' }, 'max-len': { kind: 'value' }, 'batch-size': { kind: 'value' }, quiet: { kind: 'flag' }, modules: { kind: 'list' },
} as const;

function modulesOf(p: Parsed, cmd: string): NeuronModule[] {
  try {
    return p.lists.has('modules') ? parseModules(p.lists.get('modules')!) : [...NEURON_MODULES];
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message}`);
  }
}

function positional(p: Parsed, n: number, names: string, cmd: string): string[] {
  if (p.positional.length !== n) throw new UsageError(`${cmd}: needs ${names}\n${NEURONS_USAGE}`);
  return p.positional;
}

/** Loads the model and the records of the chosen split part, sampled per class. */
async function setupRecords(p: Parsed, modelArg: string, part: SplitPart, perClass: number | null, cmd: string) {
  const setup = await loadStudySetup(modelArg, p.values.get('data') ?? 'default', taskOption(p, cmd), p.values.has('split-seed') ? intOption(p, 'split-seed', 0, 0, cmd) : undefined);
  const split = oneOf<SplitPart>(p, 'split', ['train', 'valid', 'test'], part, cmd);
  const records = stratifiedSample(setup.split.parts[split], setup.classNames.length, perClass, intOption(p, 'seed', 0, 0, cmd));
  if (!records.length) {
    disposeClassifier(setup.clf);
    throw new FormatError(setup.split.dataset.file, `the ${split} split of task ${setup.task} is empty`);
  }
  const maxLength = Math.min(1022, intOption(p, 'max-len', 1022, 1, cmd));
  const batching = evalBatching(p, maxLength, cmd);
  return { setup, split, records, batching };
}

function provenance(setup: StudySetup, split: string): Record<string, unknown> {
  return { model: setup.modelName, model_path: setup.clf.checkpoint.path, task: setup.task, data_sha256: setup.split.dataset.sha256, split, split_source: setup.splitSource };
}

async function score(argv: readonly string[]): Promise<void> {
  const cmd = 'neurons score';
  const p = parseArgs(argv, {
    ...DATA, out: { kind: 'value' }, method: { kind: 'value' }, examples: { kind: 'value' }, steps: { kind: 'value' }, rule: { kind: 'value' },
    'internal-batch': { kind: 'value' }, positions: { kind: 'value' }, baseline: { kind: 'value' }, shard: { kind: 'value' },
  }, cmd);
  const [modelArg] = positional(p, 1, 'MODEL', cmd);
  const out = p.values.get('out');
  if (!out) throw new UsageError(`${cmd}: --out FILE.safetensors is required`);
  const method = oneOf<ScoreMethod>(p, 'method', SCORE_METHODS, 'ig', cmd);
  const rule = oneOf<QuadratureRule>(p, 'rule', QUADRATURE_RULES, 'riemann', cmd);
  const positions = oneOf<IgPositions>(p, 'positions', ['all', 'residues'], 'all', cmd);
  const baseline = oneOf(p, 'baseline', ['zero', 'mean'], 'zero', cmd);
  const steps = intOption(p, 'steps', 20, 1, cmd);
  const modules = modulesOf(p, cmd);
  const quiet = p.flags.has('quiet');
  const shard = shardOption(p, cmd);
  await initEngine();
  const { setup, split, records: all, batching } = await setupRecords(p, modelArg!, 'train', countOrAll(p, 'examples', 64, cmd), cmd);
  try {
    // A shard scores its share of the examples; a mean baseline still averages over all of them.
    const records = shardItems(all, shard);
    checkShardNotEmpty(setup.split.dataset.file, shard, records.length, all.length);
    const meta = {
      ...provenance(setup, split), model_sha256: weightsSha256(setup.clf.checkpoint.params, setup.clf.checkpoint.head?.params),
      examples_per_class: countOrAll(p, 'examples', 64, cmd), seed: intOption(p, 'seed', 0, 0, cmd),
      ...(shard ? { shard: shardInfo(all.map((r) => r.id), shard.index, shard.count) } : {}),
    };
    const { clf, classNames } = setup;
    const means = method === 'ig' && baseline === 'mean'
      ? overallScores(await activationScores(clf.model, all, classNames, { maxLength: batching.maxLength, batchSize: batching.batchSize, tokenBudget: batching.tokenBudget, onProgress: progressBar('mean activations', quiet), meta }))
      : undefined;
    const s = method === 'ig'
      ? await igScores(clf.model, clf.head, records, classNames, {
        steps, rule, positions, modules, baseline: means, maxLength: batching.maxLength, onProgress: progressBar('integrated gradients', quiet), meta,
        internalBatch: p.values.has('internal-batch') ? intOption(p, 'internal-batch', 1, 1, cmd) : undefined,
      })
      : await activationScores(clf.model, records, classNames, { abs: method === 'abs-activation', maxLength: batching.maxLength, batchSize: batching.batchSize, tokenBudget: batching.tokenBudget, onProgress: progressBar('activations', quiet), meta });
    await saveScores(out, s);
    const of = shard ? ` (shard ${shard.index}/${shard.count} of ${all.length})` : '';
    console.log(`${method} scores of ${s.layout.total} neurons on ${records.length} ${split} records${of} of task ${setup.task} written to ${out}`);
    const c = summariseCompleteness(s);
    if (c) {
      console.log(`completeness: mean |sum of attributions - (f(x) - f(baseline))| ${c.meanAbsGap.toExponential(2)} (max ${c.maxAbsGap.toExponential(2)}) over ${c.pairs} pairs; mean |f(x) - f(baseline)| ${c.meanAbsDelta.toExponential(2)}`);
      console.log(`  by module: ${Object.entries(c.byModule).map(([m, v]) => `${m} ${v.meanAbsGap.toExponential(1)}`).join(', ')}`);
    }
    const overall = overallScores(s);
    for (const i of topIndices(overall, 10)) {
      const n = neuronAt(s.layout, i);
      console.log(`  ${n.module} layer ${n.layer} neuron ${n.index}: ${overall[i]!.toExponential(3)}`);
    }
  } finally {
    disposeClassifier(setup.clf);
  }
}

async function select(argv: readonly string[]): Promise<void> {
  const cmd = 'neurons select';
  const p = parseArgs(argv, { out: { kind: 'value' }, fractions: { kind: 'list' }, rankings: { kind: 'list' }, seeds: { kind: 'value' }, modules: { kind: 'list' } }, cmd);
  const [scoresPath] = positional(p, 1, 'SCORES', cmd);
  const out = p.values.get('out');
  if (!out) throw new UsageError(`${cmd}: --out FILE.json is required`);
  const s = await loadScores(scoresPath!);
  const overall = overallScores(s);
  const rankings = rankingList(p, ['layer'], cmd);
  const seeds = intOption(p, 'seeds', 3, 0, cmd);
  const selections: Selection[] = [];
  for (const module of modulesOf(p, cmd)) {
    for (const ranking of rankings) {
      for (const fraction of fractionList(p, cmd)) {
        selections.push(selectTop(s.layout, module, overall, s.method, fraction, ranking));
        for (let seed = 0; seed < seeds; seed++) selections.push(selectRandom(s.layout, module, fraction, ranking, seed));
      }
    }
  }
  const json = {
    format: 'esm-kn-neuron-selection', version: 1, scores: scoresPath, method: s.method, scores_meta: s.meta,
    layout: { num_layers: s.layout.numLayers, widths: s.layout.widths },
    selections: selections.map((x) => ({ module: x.module, method: x.method, ranking: x.ranking, fraction: x.fraction, seed: x.seed, kept: keptPerLayer(s.layout, x) })),
  };
  await writeFileAtomic(out, [new TextEncoder().encode(`${JSON.stringify(json)}\n`)]);
  console.log(`${selections.length} selections (${s.method} and ${seeds} random seeds) written to ${out}`);
}

interface StoredSelection { module: NeuronModule; method: string; ranking: Ranking; fraction: number; seed: number | null; kept: number[][] }

async function ablate(argv: readonly string[]): Promise<void> {
  const cmd = 'neurons ablate';
  const p = parseArgs(argv, { ...DATA, replacement: { kind: 'value' }, means: { kind: 'value' }, json: { kind: 'flag' }, out: { kind: 'value' } }, cmd);
  const [modelArg, selectionPath] = positional(p, 2, 'MODEL SELECTION', cmd);
  const replacement = oneOf<Replacement>(p, 'replacement', REPLACEMENTS, 'zero', cmd);
  if (replacement === 'mean' && !p.values.has('means')) throw new UsageError(`${cmd}: --replacement mean needs --means ACTIVATION_SCORES (from neurons score --method activation)`);
  let stored: { selections?: StoredSelection[]; format?: string };
  try {
    stored = JSON.parse(readFileSync(selectionPath!, 'utf8')) as typeof stored;
  } catch (e) {
    throw new FormatError(selectionPath!, `cannot read a selection file: ${(e as Error).message}`);
  }
  if (stored.format !== 'esm-kn-neuron-selection' || !Array.isArray(stored.selections)) throw new FormatError(selectionPath!, 'is not an esm-kn neuron selection (from esm-kn neurons select)');
  const means = p.values.has('means') ? await loadScores(p.values.get('means')!) : null;
  await initEngine();
  const { setup, split, records, batching } = await setupRecords(p, modelArg!, 'test', countOrAll(p, 'test-examples', null, cmd), cmd);
  try {
    const layout = neuronLayout(setup.clf.config);
    if (means && !sameLayout(means.layout, layout)) throw new FormatError(p.values.get('means')!, 'was computed on a model of another shape');
    const meanRow = means ? overallScores(means) : undefined;
    const { clf, classNames } = setup;
    const base = await editedMetrics(clf.model, clf.head, layout, records, classNames, batching, []);
    const rows: Record<string, unknown>[] = [{ module: null, method: 'unablated', ranking: null, fraction: 1, seed: null, accuracy: base.accuracy, macro_f1: base.macro_f1 }];
    const tick = progressBar('ablations', p.flags.has('quiet'), 'evals');
    for (const [i, x] of stored.selections.entries()) {
      let keep: Uint8Array;
      try {
        const [module] = parseModules([String(x.module)]);
        if (!Array.isArray(x.kept)) throw new Error('no "kept" lists');
        keep = keepFromLists(layout, module!, x.kept);
      } catch (e) {
        throw new FormatError(selectionPath!, `selection ${i}: ${(e as Error).message}`);
      }
      const r = await editedMetrics(clf.model, clf.head, layout, records, classNames, batching, [ablationEdit(layout, { ...x, keep }, replacement, meanRow)]);
      rows.push({ module: x.module, method: x.method, ranking: x.ranking, fraction: x.fraction, seed: x.seed, replacement, accuracy: r.accuracy, macro_f1: r.macro_f1 });
      tick(rows.length - 1, stored.selections.length);
    }
    const result = { ...provenance(setup, split), test_records: records.length, selection: selectionPath, rows };
    if (p.values.has('out')) await writeFileAtomic(p.values.get('out')!, [new TextEncoder().encode(`${JSON.stringify(result, null, 2)}\n`)]);
    if (p.flags.has('json')) console.log(JSON.stringify(result));
    else for (const r of rows) console.log(`${String(r.module ?? '-').padEnd(8)} ${String(r.method).padEnd(10)} ${String(r.ranking ?? '-').padEnd(6)} ${(100 * (r.fraction as number)).toFixed(1).padStart(5)}% seed ${String(r.seed ?? '-').padEnd(3)} accuracy ${(r.accuracy as number).toFixed(4)} macro-F1 ${(r.macro_f1 as number).toFixed(4)}`);
  } finally {
    disposeClassifier(setup.clf);
  }
}

async function edit(argv: readonly string[]): Promise<void> {
  const cmd = 'neurons edit';
  const p = parseArgs(argv, { ...DATA, top: { kind: 'value' }, 'control-seeds': { kind: 'value' }, json: { kind: 'flag' } }, cmd);
  const [modelArg, scoresPath] = positional(p, 2, 'MODEL SCORES', cmd);
  const controls = intOption(p, 'control-seeds', 5, 0, cmd);
  const scores = await loadScores(scoresPath!);
  await initEngine();
  const { setup, split, records, batching } = await setupRecords(p, modelArg!, 'test', countOrAll(p, 'test-examples', null, cmd), cmd);
  try {
    if (!sameLayout(scores.layout, neuronLayout(setup.clf.config))) throw new FormatError(scoresPath!, 'was computed on a model of another shape');
    const { rows, specificity } = await classEdits(setup.clf.model, setup.clf.head, records, scores, {
      modules: modulesOf(p, cmd), fraction: percent(p, 'top', 1, cmd), batching, controlSeeds: Array.from({ length: controls }, (_, i) => i),
      onProgress: progressBar('class edits', p.flags.has('quiet'), 'evals'),
    });
    if (p.flags.has('json')) console.log(JSON.stringify({ ...provenance(setup, split), test_records: records.length, scores: scoresPath, rows, specificity }));
    else for (const r of rows) console.log(`${r.module.padEnd(8)} ${r.class_name.padEnd(22)} ${r.edit.padEnd(8)} ${String(r.neurons).padStart(4)} neurons: own p ${r.own_before.toFixed(3)} -> ${r.own_after.toFixed(3)} (${(100 * r.own_change).toFixed(1)}%; random ${(100 * r.random_own_change).toFixed(1)}%, p ${r.p_value.toFixed(3)}), others' p(true) ${(100 * r.others_true_change).toFixed(1)}%`);
  } finally {
    disposeClassifier(setup.clf);
  }
}

async function density(argv: readonly string[]): Promise<void> {
  const cmd = 'neurons density';
  const p = parseArgs(argv, { top: { kind: 'value' }, bootstrap: { kind: 'value' }, seed: { kind: 'value' }, json: { kind: 'flag' } }, cmd);
  const [scoresPath] = positional(p, 1, 'SCORES', cmd);
  const d = neuronDensity(await loadScores(scoresPath!), percent(p, 'top', 1, cmd), intOption(p, 'bootstrap', 200, 0, cmd), intOption(p, 'seed', 0, 0, cmd));
  if (p.flags.has('json')) {
    console.log(JSON.stringify({ scores: scoresPath, ...d }));
    return;
  }
  for (const m of d.modules) console.log(`${m.module.padEnd(8)} ${String(m.count).padStart(5)} of the top ${d.topCount}: enrichment ${m.enrichment.toFixed(2)}x (95% CI ${m.enrichment_lo.toFixed(2)}-${m.enrichment_hi.toFixed(2)})`);
  console.log(d.keyStatement);
}

async function merge(argv: readonly string[]): Promise<void> {
  const cmd = 'neurons merge';
  const p = parseArgs(argv, { out: { kind: 'value' } }, cmd);
  if (!p.positional.length) throw new UsageError(`${cmd}: needs the shard files (from neurons score --shard K/N)\n${NEURONS_USAGE}`);
  const out = p.values.get('out');
  if (!out) throw new UsageError(`${cmd}: --out FILE.safetensors is required`);
  const shards = [];
  for (const file of p.positional) shards.push({ file, scores: await loadScores(file) });
  const merged = mergeShards(shards, { onNote: (note) => console.error(`${cmd}: note: ${note}`) });
  await saveScores(out, merged);
  console.log(`${merged.method} scores of ${merged.examples.length} examples from ${shards.length} shards written to ${out}`);
}

const SUBCOMMANDS: Record<string, (argv: readonly string[]) => Promise<void>> = { score, merge, select, ablate, edit, density, explain: explainCommand };

/** Runs `esm-kn neurons SUBCOMMAND ...`. */
export async function neuronsCommand(argv: readonly string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const run = sub ? SUBCOMMANDS[sub] : undefined;
  if (!run) throw new UsageError(`neurons: ${sub ? `unknown subcommand '${sub}'` : 'needs a subcommand'} (${Object.keys(SUBCOMMANDS).join(', ')})\n${NEURONS_USAGE}`);
  await run(rest);
}
