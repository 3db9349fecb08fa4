/**
 * report.html for the knowledge-neuron study: one self-contained page (inline SVG figures, tables,
 * provenance) that says for every number which model, split, seeds and m produced it.
 */
import type { Density } from '../../kn/density.js';
import type { AblationRow, NullResult, StudyResult } from '../../kn/study.js';
import type { BaselineRow } from '../../train/baseline_report.js';
import type { Explanations } from '../../kn/explain.js';
import { esc } from './svg.js';
import { table } from './table.js';
import { banner, classEditTable, topNeuronsTable, contrastTable, agreementTable, zeroingContrastTable, activationDensityTable, methodSection, moduleTable, nullsSection, sensitivityTable, specificityTables, testsTable } from './sections.js';

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;

/** The ablation grid as rows: score-based selections as they are, random ones as mean (min-max) over seeds. */
function ablationTable(rows: readonly AblationRow[], caption: string): string {
  const keyOf = (r: AblationRow) => `${r.module}|${r.method}|${r.matched ?? ''}|${r.ranking}|${r.fraction}`;
  const groups = new Map<string, AblationRow[]>();
  for (const r of rows) groups.set(keyOf(r), [...(groups.get(keyOf(r)) ?? []), r]);
  const cells = [...groups.values()].map((g) => {
    const r = g[0]!;
    const stat = (m: 'accuracy' | 'macro_f1') => {
      const v = g.map((x) => x[m]);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return g.length > 1 ? `${f3(mean)} (${f3(Math.min(...v))}-${f3(Math.max(...v))})` : f3(mean);
    };
    const seeds = g.map((x) => x.seed).filter((s) => s !== null);
    return [r.module, r.matched ? `random (matched to ${r.matched})` : r.method, r.ranking, pct(r.fraction), String(r.kept), stat('accuracy'), stat('macro_f1'), seeds.length ? `${seeds.length} seeds` : '-'];
  });
  return table(caption, ['module', 'method', 'ranking', 'kept', 'neurons', 'accuracy', 'macro-F1', 'seeds'], cells);
}

function densityTables(d: Density, caption: string): string {
  const mods = d.modules.map((m) => [m.module, String(m.count), pct(m.share), `${pct(m.share_lo)}-${pct(m.share_hi)}`, `${m.enrichment.toFixed(2)}x`, `${m.enrichment_lo.toFixed(2)}-${m.enrichment_hi.toFixed(2)}x`]);
  return table(caption, ['module', 'top neurons', 'share of module', '95% CI', 'enrichment', '95% CI'], mods);
}

/** One sentence: how many cells beat random, on which metric, and what the nulls did. */
export function verdictSummary(r: StudyResult, nulls: readonly NullResult[]): string {
  const v = r.verdicts.beats_random;
  const yes = v.filter((x) => x.significant);
  const metric = v[0]?.metric ?? 'accuracy';
  const named = yes.map((x) => `${x.module} by ${x.method} at ${pct(x.fraction)}`).join('; ');
  const nullCalls = nulls.reduce((a, n) => a + n.verdicts.beats_random.filter((x) => x.significant).length, 0);
  return `${yes.length} of ${v.length} cells beat layer-matched random selections on ${metric}${yes.length ? `: ${named}` : ''}. ` +
    (nulls.length ? `On the ${nulls.length} null models: ${nullCalls} of ${nulls.length * v.length}.` : 'No null models were run.');
}

/** The page. `provenance` is the caption stamped on every table; `meta` is listed in full at the end. */
export function reportHtml(r: StudyResult, figures: { accuracy: string; macroF1: string; density: string }, provenance: string, meta: Record<string, unknown>, nulls: readonly NullResult[] = [], baselines: readonly BaselineRow[] = [], cards: Explanations | null = null): string {
  const stripXml = (svg: string) => svg.replace(/^<\?xml[^>]*>\s*/, '');
  const c = r.completeness;
  const completeness = c
    ? `<p>Integrated-gradients completeness over ${c.pairs} (example, module, layer) pairs: mean |sum of attributions - (f(x) - f(baseline))| = ${c.meanAbsGap.toExponential(2)} (max ${c.maxAbsGap.toExponential(2)}), against a mean |f(x) - f(baseline)| of ${c.meanAbsDelta.toExponential(2)}. A large gap means the path from the baseline is too sharp for m steps (more steps, or another rule, shrink it).</p>` +
      table(`Completeness by module type. ${provenance}`, ['module', 'mean |gap|', 'mean |f(x) - f(baseline)|'],
        Object.entries(c.byModule).map(([m, v]) => [m, v.meanAbsGap.toExponential(2), v.meanAbsDelta.toExponential(2)]))
    : '';
  const metaRows = Object.entries(meta).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Knowledge neurons: ${esc(String(meta.model ?? ''))}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; overflow-x: auto; }
.statement { font-size: 15px; padding: 0.6em 1em; background: #f6f6ee; border-left: 4px solid #c90; }
.banner { font-size: 15px; padding: 0.6em 1em; background: #fde8e8; border-left: 4px solid #c00; }
.verdict { margin: 0.3em 0; }
ul.method li { margin: 0.3em 0; }
</style></head><body>
<h1>Knowledge neurons in ${esc(String(meta.model ?? 'the model'))}</h1>
<p>${esc(provenance)}</p>
${banner(r, meta)}
${table(`The unablated model beside baselines that learn no representation, on the same ${r.tested.length} test records and crop (trained on the task's training split). ${provenance}`, ['method', 'accuracy', 'macro-F1'],
    [['model (unablated)', f3(r.unablated.accuracy), f3(r.unablated.macro_f1)], ...baselines.map((b) => [b.name, f3(b.accuracy), f3(b.macro_f1)])])}
<h2>Verdicts</h2>
<p class="statement">${esc(verdictSummary(r, nulls))}</p>
${r.verdicts.beats_random.map((v) => `<p class="verdict">${esc(v.statement)}</p>`).join('\n')}
<p class="statement">${esc(r.verdicts.key_density.statement)}</p>
<h2>Method</h2>
${methodSection(meta)}
${agreementTable(r.agreement, `Rank agreement (Spearman) of every neuron's overall IG score under the main target with the score under each other target, over all neurons and per module type: how much the choice of target moves the ranking. ${provenance}`)}
<h2>Keeping only the top neurons of one module type</h2>
<figure>${stripXml(figures.accuracy)}</figure>
<figure>${stripXml(figures.macroF1)}</figure>
${testsTable(r.tests, `Ablation tests against layer-matched random selections. ${provenance}`)}
${ablationTable(r.rows, `Ablations: every neuron of the module type outside the kept set replaced by ${r.rows[0]?.replacement ?? 'zero'}. ${provenance}`)}
<h2>Where the knowledge neurons are</h2>
<p class="statement">${esc(r.verdicts.key_density.statement)}</p>
<figure>${stripXml(figures.density)}</figure>
${densityTables(r.density, `Share of each module type's neurons in the global top ${pct(r.density.topFraction)} (${r.density.topCount} neurons) by integrated gradients; 95% percentile bootstrap over examples (${r.density.resamples} resamples, seed ${r.density.seed}). ${provenance}`)}
${contrastTable(r.density, `Key minus each other module type. ${provenance}`)}
${sensitivityTable(r.density, `Share of each module type's neurons in the global top set, by top fraction (95% bootstrap intervals). ${provenance}`)}
${zeroingContrastTable(r.basisFree.zeroing, `Whole module types zeroed (basis-free): key's accuracy drop minus each other type's, paired bootstrap over the ${r.tested.length} test records (${r.density.resamples} resamples), one-sided ("zeroing key hurts more"), Holm over the testable ones. ${provenance}`)}
${activationDensityTable(r.basisFree.activation, `Density by activation where the units compare: share of each residual-stream writer's neurons in their joint top ${pct(r.basisFree.activation.top_fraction)} (${r.basisFree.activation.top_count} neurons) by mean |activation|; 95% percentile bootstrap over scored examples (${r.basisFree.activation.resamples} resamples). ${provenance}`)}
${moduleTable(r, `Each whole module type zeroed (test metrics; basis-free) and its IG attribution mass (the signed sum is basis-free; |mass|, its share and the mean per neuron depend on the unit basis). ${provenance}`)}
${completeness}
<h2>What the top neurons respond to</h2>
${cards ? topNeuronsTable(cards, `Top integrated-gradient neurons of each class and module type (${cards.neurons.length} cards, read on ${String(cards.meta.records ?? '')} test records): each card's logo of its top windows (+-7 residues), enrichment of its top windows' classes and EC sub-classes against the set (one-sided Fisher per card; BH q over every card's tests of both levels together), position or length detector (${cards.meta.window ? 'over every residue of each record, read window by window as the model reads it' : `over the residues read: the first ${String(meta.max_length)} of each record, so "C-terminal" means the end of that crop for longer records`}), and the change of its class's probability when it alone is zeroed against a random neuron of the same layer. Query and key cards are rotary pairs (d, d+Dh/2), whose split into units is not a property of the model: windows ranked by the pair's norm, zeroed as a pair against a random pair. Each row links its card page (cards/card_*.html: windows, enrichment, position profile, zeroing); all cards: cards/motifs.json. ${provenance}`) : '<p>No neuron cards in this run (--explain-top 0).</p>'}
<h2>Suppressing and amplifying a class's top neurons (Dai et al.)</h2>
${classEditTable(r.classEdits, `Each class's top neurons of a module type (by its integrated gradients) set to 0 (suppress) or doubled (amplify); change = relative change of the mean probability; p: one-sided empirical p against layer-matched random neurons of the same count. ${provenance}`)}
${specificityTables(r.specificity, meta.classes as string[], `relative change of each class's mean probability on its own examples when the row's class's top neurons are suppressed. ${provenance}`)}
<h2>Null models</h2>
${nullsSection(nulls, String(meta.primary_metric), r.attainable_p)}
<h2>Provenance</h2>
${table('How these numbers were produced', ['field', 'value'], metaRows)}
</body></html>
`;
}
