/**
 * Writes the knowledge-neuron study's report folder (Node), every file atomically:
 *   results.json   meta, unablated metrics, rows [{module, method, fraction, seed, accuracy, macro_f1, ...}],
 *                  tests, verdicts {beats_random, key_density}, nulls [{name, tests, ...}], density {top_fraction,
 *                  cells [{module, layer, share, ...}], modules, mass, sensitivity, key_density, zeroing_contrasts,
 *                  activation}, density_modules, key_statement, class_edits, completeness
 *   results.csv    the rows; density.csv and class_edits.csv likewise
 *   accuracy.svg, macro_f1.svg, density.svg    figures (plots.ts)
 *   report.html    figures and tables (html.ts)
 *   scores/activation.safetensors, scores/ig.safetensors    the neuron scores, for `esm-kn neurons`
 *   cards/         the neuron cards (cli/neurons_explain.ts): motifs.json, motifs.csv, a logo SVG and a
 *                  card page per neuron, each page linking back to report.html
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { saveScores } from '../../kn/scores_io.js';
import type { NullResult, StudyResult } from '../../kn/study.js';
import type { BaselineRow } from '../../train/baseline_report.js';
import type { Explanations } from '../../kn/explain.js';
import { logoFileName, writeExplanations } from '../neurons_explain.js';
import { cardFileName } from './card_page.js';
import { reportHtml } from './html.js';
import { densityHeatmap, fractionPlot } from './plots.js';

/** RFC 4180 CSV from objects sharing keys (the first row's key order). */
export function toCsv(rows: readonly Readonly<Record<string, unknown>>[]): string {
  if (!rows.length) return '';
  const keys = Object.keys(rows[0]!);
  const cell = (v: unknown): string => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${keys.join(',')}\n${rows.map((r) => keys.map((k) => cell(r[k])).join(',')).join('\n')}\n`;
}

const utf8 = (s: string): Uint8Array[] => [new TextEncoder().encode(s)];

/** JSON without NaN or Infinity (written as null, which JSON can hold). */
function json(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** A one-line provenance caption from the study's meta. */
export function provenanceLine(meta: Record<string, unknown>): string {
  const seeds = (meta.random_seeds as number[] | undefined)?.join(', ') ?? '-';
  return `Model ${String(meta.model)}; task ${String(meta.task)}; test split ${String(meta.test_split)} (${String(meta.test_records)} records); ` +
    `scores from ${String(meta.scored_records)} training examples (${String(meta.examples_per_class ?? 'all')} per class, seed ${String(meta.sample_seed)}); ` +
    `IG m=${String(meta.steps)} ${String(meta.rule)}, baseline zero, positions ${String(meta.positions)}; random seeds ${seeds}; max ${String(meta.max_length)} residues.`;
}

/** Writes the report into `dir` (created); returns the files written. */
export async function writeReport(dir: string, r: StudyResult, meta: Record<string, unknown>, nulls: readonly NullResult[] = [], baselines: readonly BaselineRow[] = [], cards: Explanations | null = null): Promise<string[]> {
  mkdirSync(join(dir, 'scores'), { recursive: true });
  const caption = provenanceLine(meta);
  const figures = {
    accuracy: fractionPlot(r.rows, 'accuracy', r.unablated.accuracy, caption),
    macroF1: fractionPlot(r.rows, 'macro_f1', r.unablated.macro_f1, caption),
    density: densityHeatmap(r.density.cells, r.density.topFraction, caption),
  };
  const density = r.density.cells.map((c) => ({ ...c, model: meta.model, scored_records: meta.scored_records, steps: meta.steps, rule: meta.rule, bootstrap: r.density.resamples, seed: r.density.seed }));
  const edits = r.classEdits.map(({ random_own_changes: _omit, ...c }) => ({ ...c, model: meta.model, split: meta.test_split, test_records: meta.test_records, steps: meta.steps }));
  // Every ablation row carries what produced it.
  const stamp = { model: meta.model, split: meta.test_split, test_records: meta.test_records, steps: meta.steps, rule: meta.rule, examples_per_class: meta.examples_per_class, sample_seed: meta.sample_seed };
  const rows = r.rows.map((x) => ({ ...x, ...stamp }));
  const tests = r.tests.map(({ random_values: _omit, ...t }) => ({ ...t, ...stamp, random_seeds: (meta.random_seeds as unknown[]).length }));
  const results = {
    meta,
    unablated: r.unablated,
    baselines: baselines.map(({ metrics: _m, seconds: _s, ...b }) => b),
    rows,
    tests: r.tests,
    verdicts: r.verdicts,
    attainable_p: r.attainable_p,
    zeroing: r.zeroing,
    density: { top_fraction: r.density.topFraction, cells: density, modules: r.density.modules, mass: r.density.mass, sensitivity: r.density.sensitivity, key_density: r.density.keyDensity, zeroing_contrasts: r.basisFree.zeroing, activation: r.basisFree.activation },
    density_top_fraction: r.density.topFraction,
    density_modules: r.density.modules,
    // The tested statement (the pre-2026-12 criterion, key's bootstrap lower bound against the other modules' points, is gone).
    key_statement: r.density.keyDensity.statement,
    class_edits: r.classEdits.map((c) => ({ ...c, model: meta.model, split: meta.test_split, test_records: meta.test_records, steps: meta.steps })),
    class_edit_specificity: r.specificity,
    refined: r.refined,
    target_agreement: r.agreement,
    completeness: r.completeness,
    nulls: nulls.map((n) => ({ name: n.name, description: n.description, unablated: n.unablated, tests: n.tests, verdicts: n.verdicts, zeroing: n.zeroing, mass: n.mass, basis_free: n.basisFree })),
  };
  const files: [string, string][] = [
    ['results.json', json(results)],
    ['results.csv', toCsv(rows as unknown as Record<string, unknown>[])],
    ['tests.csv', toCsv(tests as unknown as Record<string, unknown>[])],
    ['density.csv', toCsv(density)],
    ['class_edits.csv', toCsv(edits as unknown as Record<string, unknown>[])],
    ['accuracy.svg', figures.accuracy],
    ['macro_f1.svg', figures.macroF1],
    ['density.svg', figures.density],
  ];
  for (const [name, content] of files) await writeFileAtomic(join(dir, name), utf8(content));
  if (cards) await writeExplanations(join(dir, 'cards'), cards, { report: '../report.html', provenance: `${caption} Cards read on ${String(cards.meta.records)} test records.` });
  await saveScores(join(dir, 'scores', 'activation.safetensors'), r.activation);
  await saveScores(join(dir, 'scores', 'ig.safetensors'), r.ig);
  // The page last: when it exists, everything it refers to does.
  await writeFileAtomic(join(dir, 'report.html'), utf8(reportHtml(r, figures, caption, meta, nulls, baselines, cards)));
  return [...files.map(([n]) => n), ...(cards ? ['cards/motifs.json', 'cards/motifs.csv', ...cards.neurons.flatMap((c) => [`cards/${logoFileName(c)}`, `cards/${cardFileName(c)}`])] : []),
    'scores/activation.safetensors', 'scores/ig.safetensors', 'report.html'];
}
