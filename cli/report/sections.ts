/**
 * The report's statistical sections as HTML: the smoke-test banner, the method section (every choice
 * the numbers depend on, stated), verdicts, the ablation tests, module zeroing and mass, the key
 * contrasts, class edits with their random controls and specificity, and the null models.
 */
import type { ClassEditRow, SpecificityRow } from '../../kn/class_edits.js';
import type { Density } from '../../kn/density.js';
import type { ActivationDensity, ZeroingContrast } from '../../kn/basis_free.js';
import type { NullResult, StudyResult } from '../../kn/study.js';
import { ALPHA, type AblationTest, SMOKE_TEST_RECORDS } from '../../kn/tests.js';
import { type Explanations, type NeuronCard, unitsName } from '../../kn/explain.js';
import { logoFileName } from '../neurons_explain.js';
import { cardFileName } from './card_page.js';
import { esc } from './svg.js';
import { table } from './table.js';

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;
const signed = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%` : '-');
/** An absolute change of a probability, in percentage points. */
const pp = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} pp` : '-');
const fp = (p: number): string => (!Number.isFinite(p) ? '-' : p < 0.001 ? p.toExponential(1) : p.toFixed(3));

/** How far (accuracy, absolute) the study's unablated accuracy may fall below the model's validation accuracy before the report says so. */
export const REGIME_GAP = 0.05;

/** A red banner when the test sample is too small to carry verdicts, or no verdict is attainable. */
export function banner(r: StudyResult, meta: Record<string, unknown>): string {
  const out: string[] = [];
  if (r.tested.length < SMOKE_TEST_RECORDS) {
    out.push(`Smoke test: ${r.tested.length} test records (fewer than ${SMOKE_TEST_RECORDS}). This run checks that the pipeline works; do not cite its verdicts. Run <code>--preset full</code> for results.`);
  }
  if (r.attainable_p >= ALPHA) {
    out.push(`With ${(meta.random_seeds as unknown[]).length} random selections per cell and ${(meta.fractions as unknown[]).length * (meta.rankings as unknown[]).length} cells per Holm family, the smallest attainable adjusted p-value is ${fp(r.attainable_p)}: no ablation test can reach significance at ${ALPHA} in this run.`);
  }
  const v = meta.model_validation as { accuracy: number; records: number | null } | null | undefined;
  if (v && v.accuracy - r.unablated.accuracy > REGIME_GAP) {
    out.push(`Regime: the study reads the first ${String(meta.max_length)} residues of each record; the model was validated on ${esc(String(meta.model_reading ?? 'its fine-tuning crop'))}, with accuracy ${v.accuracy.toFixed(3)} on the validation split${v.records ? ` (${v.records} records)` : ''}. Here, unablated, it scores ${r.unablated.accuracy.toFixed(3)} on ${meta.test_per_class == null ? 'the whole test split' : `a class-balanced sample of ${String(meta.test_per_class)} test records per class (balanced accuracy, not comparable one to one)`}: more than ${Math.round(REGIME_GAP * 100)} points lower, so the neurons studied are those of the model read outside its regime. <code>--preset full</code> (or <code>--max-len</code>) reads it as validated.`);
  }
  return out.map((s) => `<p class="banner">${s}</p>`).join('\n');
}

/** Every choice behind the numbers, as a list. */
export function methodSection(meta: Record<string, unknown>): string {
  const items = [
    `Model ${esc(String(meta.model))} (${esc(String(meta.architecture))}); task ${esc(String(meta.task))}; test records: ${String(meta.test_records)} from the ${esc(String(meta.test_split))} (${meta.test_per_class === null ? 'all of it' : `${String(meta.test_per_class)} per class, sample seed ${String(meta.sample_seed)}`}); first ${String(meta.max_length)} residues of every sequence${meta.model_reading ? ` (the model's reading: ${esc(String(meta.model_reading))})` : ''}.`,
    `Scored examples: ${String(meta.scored_records)} training records (${String(meta.examples_per_class ?? 'all')} per class); IG on ${String(meta.ig_records)} of them (target: ${esc(String(meta.ig_target))} class${meta.ig_target === 'correct' ? ', correctly classified examples only' : ''}).`,
    `Activation method: ranks neurons by ${esc(String(meta.activation_ranking))} over residues (zeroing hurts by magnitude, so the signed mean is only an option).`,
    `Integrated gradients: m = ${String(meta.steps)} ${esc(String(meta.rule))} nodes, zero baseline, positions scaled: ${esc(String(meta.positions))}${meta.positions === 'cls' ? ' (only &lt;cls&gt;: Dai et al.\'s single-position scaling)' : ' (jointly)'}; each example's attributions divided by its largest |attribution| before averaging: ${esc(String(meta.ig_normalise))}; overall score = mean of the class means.`,
    `Query and key: ${meta.qk_units === 'pair' ? 'scored, ranked and counted per rotary pair (d, d + Dh/2). Under joint scaling from a zero baseline the IG of query unit d equals that of key unit d per rotary pair by construction (attention logits are bilinear), and the split inside a pair is not a property of the function, so per-unit query-versus-key comparisons would be artefacts' : 'per unit (right under single-position scaling; under joint scaling query and key are tied per rotary pair by construction)'}.`,
    meta.refined ? `Refined knowledge neurons (Dai et al.): per example keep neurons with attribution >= ${String((meta.refined as { t: number }).t)} x that example's maximum, then those kept in >= ${String((meta.refined as { p: number }).p)} of a class's examples; ranked by the largest such share ('ig-refined').` : 'Refined knowledge neurons: not run (--refined T P, on in --preset full).',
    `Ablation tests: keep the top ${(meta.fractions as number[]).map(pct).join(', ')} of one module type (ranking: ${(meta.rankings as string[]).join(', ')}), replace the rest by ${esc(String(meta.replacement))}; control: ${(meta.random_seeds as unknown[]).length} random selections with the same number of neurons in every layer (layer-matched). Effect = method minus the random mean; p = (1 + #random >= method) / (1 + ${(meta.random_seeds as unknown[]).length}), one-sided; 95% interval: paired percentile bootstrap over test records (${String(meta.resamples)} resamples); Holm within each (module, method, metric) family; verdicts on ${esc(String(meta.primary_metric))} at alpha ${ALPHA}.`,
    `Density: global top ${pct(Number(meta.density_top_fraction))} of neurons by IG; key versus each other testable module type by paired bootstrap over scored examples (${String(meta.bootstrap_resamples)} resamples, within classes), one-sided, Holm over the testable ones (${meta.positions === 'cls' ? 'all five' : 'query is left out: under joint scaling its attributions equal key\'s per rotary pair by construction'}); basis-free checks, tested the same way: each module type's signed attribution mass per neuron (its share of f(x) - f(0) over its neuron count; bootstrap over scored examples) and its accuracy drop when the whole module type is zeroed (paired bootstrap over test records; query untested: zeroing all queries equals zeroing all keys); per-unit shares and |mass| depend on the unit basis for every module but ffn_in. Density by activation only where the units compare: attn_out against ffn_out (both write the residual stream); query, key and value activations trade scale with each other (q by c, k by 1/c) without changing the model, so key density by activation is untestable by construction.`,
    `Class edits: each class's top ${pct(Number(meta.class_edit_fraction))} IG neurons of a module type ${(meta.class_edit_kinds as string[] | undefined)?.length === 1 ? 'x0 (suppress; amplification in --preset full or with --class-edits both)' : 'x0 (suppress) or x2 (amplify)'}, against ${(meta.class_edit_seeds as unknown[]).length} layer-matched random sets of the same size.`,
    `Nulls: ${(meta.nulls as { name: string; description: string }[]).map((n) => `${esc(n.name)} (${esc(n.description)})`).join('; ') || 'none'}; each runs the same scoring and tests.`,
  ];
  return `<ul class="method">${items.map((i) => `<li>${i}</li>`).join('\n')}</ul>`;
}

/** The ablation tests as a table. */
export function testsTable(tests: readonly AblationTest[], caption: string): string {
  return table(caption, ['module', 'method', 'ranking', 'kept', 'metric', 'method value', 'random mean', 'effect', '95% CI', 'p', 'Holm p', 'significant'],
    tests.map((t) => [t.module, t.method, t.ranking, pct(t.fraction), t.metric, f3(t.value), f3(t.random_mean), f3(t.effect), `${f3(t.ci_low)} to ${f3(t.ci_high)}`, fp(t.p_value), fp(t.p_adjusted), t.significant ? 'yes' : 'no']));
}

/** Zeroing and mass per module type. */
export function moduleTable(r: StudyResult, caption: string): string {
  return table(caption, ['module', 'accuracy zeroed', 'drop', 'macro-F1 zeroed', 'drop', 'IG mass (signed sum)', 'IG |mass|', 'share of |mass|', 'mean |IG| per neuron'],
    r.zeroing.map((z) => {
      const m = r.density.mass.find((x) => x.module === z.module)!;
      return [z.module, f3(z.accuracy), f3(z.accuracy_drop), f3(z.macro_f1), f3(z.macro_f1_drop), m.signed.toExponential(2), m.abs.toExponential(2), pct(m.share_of_total), m.per_neuron.toExponential(2)];
    }));
}

const QUANTITY_NAMES: Record<Density['keyDensity']['contrasts'][number]['quantity'], string> = {
  share: 'share in top set', per_neuron: 'mean |IG| per neuron (basis-dependent)', mass: 'signed IG mass per neuron (basis-free)',
};

/** Key's whole-module zeroing drop minus each other module type's (accuracy, paired over test records). */
export function zeroingContrastTable(rows: readonly ZeroingContrast[], caption: string): string {
  return table(caption, ['key minus', 'accuracy drop difference', '95% CI', 'p', 'Holm p', 'significant'],
    rows.map((c) => [c.testable ? c.other : `${c.other} (zeroing all queries equals zeroing all keys: not tested)`, signed(c.difference), `${signed(c.ci_low)} to ${signed(c.ci_high)}`, fp(c.p_value), fp(c.p_adjusted), c.significant ? 'yes' : 'no']));
}

/** Density by activation among the module types whose activations share units. */
export function activationDensityTable(a: ActivationDensity, caption: string): string {
  const [first, second] = a.modules;
  return `${table(caption, ['module', 'in top set', 'share of its neurons', '95% CI'],
    a.shares.map((x) => [x.module, String(x.count), pct(x.share), `${pct(x.share_lo)} to ${pct(x.share_hi)}`]))}
<p>${esc(`${first} minus ${second}: ${signed(a.difference)} (95% CI ${signed(a.ci_low)} to ${signed(a.ci_high)}; two-sided bootstrap p ${fp(a.p_value)}). ${a.note}`)}</p>`;
}

/** Spearman rank agreement of the main IG target's overall scores with each other target's. */
export function agreementTable(rows: StudyResult['agreement'], caption: string): string {
  if (!rows.length) return '<p>IG target agreement was not computed in this run (<code>--target-agreement</code>, on in the full preset).</p>';
  const modules = rows[0]!.modules.map((m) => m.module);
  return table(caption, ['targets', 'examples', 'overall', ...modules],
    rows.map((a) => [`${a.targets[0]} vs ${a.targets[1]}`, String(a.examples), a.overall.toFixed(3), ...a.modules.map((m) => m.spearman.toFixed(3))]));
}

/** Key minus each other module type. */
export function contrastTable(d: Density, caption: string): string {
  return table(caption, ['quantity', 'key minus', 'difference', '95% CI', 'p', 'Holm p', 'significant'],
    d.keyDensity.contrasts.map((c) => [QUANTITY_NAMES[c.quantity], c.testable ? c.other : `${c.other} (tied by construction: not tested)`, c.quantity === 'share' ? signed(c.difference) : c.difference.toExponential(2),
      c.quantity === 'share' ? `${signed(c.ci_low)} to ${signed(c.ci_high)}` : `${c.ci_low.toExponential(2)} to ${c.ci_high.toExponential(2)}`, fp(c.p_value), fp(c.p_adjusted), c.significant ? 'yes' : 'no']));
}

/** Share of each module type in the top set at several top fractions. */
export function sensitivityTable(d: Density, caption: string): string {
  const fractions = [...new Set(d.sensitivity.map((s) => s.top_fraction))];
  const modules = [...new Set(d.sensitivity.map((s) => s.module))];
  return table(caption, ['module', ...fractions.map((f) => `top ${pct(f)}`)],
    modules.map((m) => [m, ...fractions.map((f) => {
      const s = d.sensitivity.find((x) => x.module === m && x.top_fraction === f)!;
      return `${pct(s.share)} (${pct(s.share_lo)}-${pct(s.share_hi)})`;
    })]));
}

/** Class edits with their random controls. */
export function classEditTable(rows: readonly ClassEditRow[], caption: string): string {
  const seeds = rows[0]?.random_own_changes.length ?? 0;
  const note = seeds ? ` With ${seeds} control seeds no p-value is below ${fp(1 / (seeds + 1))} (Holm over a module's ${new Set(rows.map((r) => r.class)).size} classes multiplies it): ${1 / (seeds + 1) * new Set(rows.map((r) => r.class)).size < ALPHA ? 'significance is attainable' : 'no class edit can be called significant in this run; --class-edit-seeds raises the resolution'}.` : ' No random controls were run.';
  return table(caption + note, ['module', 'class', 'edit', 'neurons', 'own p(class) before', 'after', 'change', 'random change (mean)', 'p vs random', 'Holm p', 'others p(class) change', 'others p(true) change'],
    rows.map((r) => [r.module, r.class_name, r.edit, String(r.neurons), f3(r.own_before), f3(r.own_after), signed(r.own_change), signed(r.random_own_change), fp(r.p_value), fp(r.p_adjusted), signed(r.others_change), signed(r.others_true_change)]));
}

/** The specificity matrices of suppression, one table per module type. */
export function specificityTables(rows: readonly SpecificityRow[], classNames: readonly string[], caption: string): string {
  const modules = [...new Set(rows.map((r) => r.module))];
  return modules.map((m) => table(`${m}: ${caption}`, ['suppressed class', ...classNames.map((c) => c.split(' ')[0]!)],
    rows.filter((r) => r.module === m).map((r) => [r.class_name, ...r.changes.map(signed)]))).join('\n');
}

/** The nulls: how many tests each calls significant, and their verdict lines. */
export function nullsSection(nulls: readonly NullResult[], metric: string, attainable: number): string {
  if (!nulls.length) return '<p>No null models were run (--nulls none).</p>';
  // Every test the real model gets: ablation tests, each testable key-density contrast (share, mass, per neuron) and the zeroing contrasts.
  const contrasts = (n: NullResult) => n.verdicts.key_density.contrasts.filter((c) => c.testable);
  const zeroing = (n: NullResult) => n.basisFree.zeroing.filter((c) => c.testable);
  const rows = nulls.map((n) => {
    const primary = n.tests.filter((t) => t.metric === metric);
    const sig = primary.filter((t) => t.significant).length;
    const count = (all: number, hits: readonly string[]) => `${hits.length} of ${all}${hits.length ? ` (${hits.join(', ')})` : ''}`;
    const kd = contrasts(n);
    const zc = zeroing(n);
    return [n.name, f3(n.unablated.accuracy), f3(n.unablated.macro_f1), `${sig} of ${primary.length}`, n.verdicts.key_density.significant ? 'yes' : 'no',
      count(kd.length, kd.filter((c) => c.significant).map((c) => `${c.quantity} vs ${c.other}`)),
      count(zc.length, zc.filter((c) => c.significant).map((c) => c.other)), n.description];
  });
  const silent = nulls.every((n) => n.tests.every((t) => !t.significant) && contrasts(n).every((c) => !c.significant) && zeroing(n).every((c) => !c.significant));
  const testable = attainable < ALPHA;
  const verdict = !testable
    ? `Not testable in this run: no ablation test can reach significance (smallest attainable adjusted p ${fp(attainable)}), so the nulls' silence says nothing; run --preset full.`
    : silent
      ? 'The instrument stays silent on every null model: no ablation test, key-density contrast or zeroing contrast is significant where nothing was learned.'
      : 'Warning: the instrument calls something significant on a null model (see the rows above): a verdict it also makes on the real model may reflect the architecture or the procedure, not learned knowledge.';
  // Density contrasts can be tested even where the ablation grid cannot reach significance.
  const densityHits = nulls.filter((n) => contrasts(n).some((c) => c.significant) || zeroing(n).some((c) => c.significant)).map((n) => n.name);
  const densityNote = !testable && densityHits.length
    ? ` The density and zeroing contrasts are testable in this run, and some are significant on ${densityHits.join(', ')}: where the real model shows the same contrast, it reflects the architecture or the pretraining, not the learned classes.`
    : '';
  // Each null's own tests and key-density statement, as the real model's are shown (collapsed).
  const details = nulls.map((n) => `<details class="null-tests"><summary>${esc(n.name)}: its ablation tests and key-density statement</summary>
<p class="statement">${esc(n.verdicts.key_density.statement)}</p>
${testsTable(n.tests, `${n.name}: ablation tests against layer-matched random selections (${n.description}).`)}
${zeroingContrastTable(n.basisFree.zeroing, `${n.name}: whole module types zeroed, key's accuracy drop minus each other type's.`)}
</details>`).join('\n');
  return `${table(`Null models: the same scoring and tests (significant: Holm-adjusted p < ${ALPHA} and the paired bootstrap interval above 0, on ${metric}).`, ['null', 'accuracy', 'macro-F1', `tests significant (${metric})`, 'key density verdict', 'key-density contrasts significant', 'zeroing contrasts significant', 'what it is'], rows)}
<p class="statement">${esc(verdict + densityNote)}</p>
${details}`;
}

/**
 * The top IG neurons of each class and module type, one row per neuron card: its consensus linked to
 * the card's page (cards/card_*.html) beside a link to its logo SVG, the strongest class and EC
 * sub-class enrichment, any position or length detector call, and zeroing it alone against a random
 * neuron of the same module and layer. Query and key rows are rotary pairs, shown as "pair (d, d+Dh/2)".
 */
export function topNeuronsTable(x: Explanations, caption: string): string {
  const best = (c: NeuronCard, level: string) => c.enrichment.filter((r) => r.level === level)[0];
  const enr = (r: ReturnType<typeof best>) => (r ? `${r.label} (${r.in_top}/${r.top_total}, q ${fp(r.q_value)})` : '-');
  const rows = x.neurons.map((c) => {
    const z = c.zero_effect;
    return [
      c.classes.join(', '), c.module, String(c.layer), c.units.length === 2 ? unitsName(c) : String(c.index), c.score.toExponential(2),
      { html: `<a href="${esc(`cards/${cardFileName(c)}`)}"><code>${esc(c.consensus)}</code></a> (<a href="${esc(`cards/${logoFileName(c)}`)}">logo</a>)` },
      enr(best(c, 'class')), enr(best(c, 'subclass')), c.detector.kind ?? '-',
      z ? `${pp(z.change)} vs ${pp(z.random.change)}` : '-',
    ];
  });
  return table(caption, ['top for', 'module', 'layer', 'neuron', 'score', 'card (logo consensus)', 'class enrichment', 'EC sub-class enrichment', 'detector', 'zeroed: mean p(class) change vs a random neuron (percentage points)'], rows);
}
