/**
 * Neuron cards: windows padded at sequence ends, enrichment by Fisher and Benjamini-Hochberg on hand
 * cases, position profiles and length correlation on synthetic values, the SVG logo, a card's HTML page
 * (well-formed, every label escaped, the profile chart's bars), and on the planted
 * motif model the card of the HE unit: HExxH on top of its logo, windows at the planted residues.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type NeuronCard, chooseNeurons, explainNeurons, jaccardMatrix } from '../kn/explain.js';
import { cardFileName, cardPageHtml } from '../cli/report/card_page.js';
import { neuronLayout } from '../kn/layout.js';
import { sequenceLogo } from '../kn/logo.js';
import { logoSvg } from '../kn/logo_svg.js';
import { type EnrichmentRow, NeuronAccumulator, PROFILE_BINS, adjustEnrichment, detectorCall, ecSubclasses, enrichmentTests, regionOf, sequenceWindow } from '../kn/neuron_card.js';
import { benjaminiHochberg } from '../kn/stats.js';
import type { NeuronScores } from '../kn/scores.js';
import { gpu } from './lib/gpu.js';
import { disposeTiny, uploadTiny } from './lib/kn_fixtures.js';
import { assertWellFormedXml, tableRows } from './lib/markup.js';
import { MOTIF_UNIT, motifClassifier, plantedRecords } from './lib/motif_model.js';

const close = (a: number, b: number, what: string, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** One level of one neuron's tests, adjusted as a family of their own. */
const enrichment = (level: string, labels: readonly (readonly string[])[], top: readonly number[]): EnrichmentRow[] => adjustEnrichment([enrichmentTests(level, labels, top)])[0]!;

test('sequenceWindow: +-half residues, padded with - past either end', () => {
  assert.is(sequenceWindow('ACDEFGHIK', 4, 2), 'DEFGH');
  assert.is(sequenceWindow('ACDEFG', 0, 3), '---ACDE');
  assert.is(sequenceWindow('ACDEFG', 5, 3), 'DEFG---');
  assert.is(sequenceWindow('AC', 1, 3), '--AC---', 'both ends');
  assert.is(sequenceWindow('MKV', 1), '------MKV------', 'default half 7: 15 columns');
  assert.throws(() => sequenceWindow('MKV', 3), /center 3 outside \[0, 3\)/);
});

test('ecSubclasses: second EC level, distinct, incomplete numbers skipped', () => {
  assert.equal(ecSubclasses('2.7.11.1;2.4.1.1;2.7.1.2'), ['2.7', '2.4']);
  assert.equal(ecSubclasses('3.-.-.-'), []);
  assert.equal(ecSubclasses(undefined), []);
});

test('enrichment: one-sided Fisher per label and BH q-values on hand cases (one list as its own family)', () => {
  // Fisher's tea-tasting table [[3, 1], [1, 3]]: P(X >= 3) = (16 + 1) / 70 (Fisher 1935).
  const tea = [['milk'], ['milk'], ['milk'], ['milk'], ['tea'], ['tea'], ['tea'], ['tea']];
  const rows = enrichment('class', tea, [0, 1, 2, 4]);
  const milk = rows.find((r) => r.label === 'milk')!;
  close(milk.p_value, 17 / 70, 'milk p');
  assert.equal([milk.in_top, milk.top_total, milk.in_set, milk.set_total], [3, 4, 4, 8]);
  close(milk.odds_ratio, 9, 'sample odds ratio ad/bc');
  const tea2 = rows.find((r) => r.label === 'tea')!;
  close(tea2.p_value, 69 / 70, 'tea p = P(X >= 1)');
  // BH over 2: q(1) = min(2 p(1), q(2)), q(2) = p(2).
  close(milk.q_value, Math.min(2 * (17 / 70), 69 / 70), 'milk q');
  close(tea2.q_value, 69 / 70, 'tea q');
  // All 4 top records in a label held by 5 of 10: P(X = 4) = C(5,4) C(5,0) / C(10,4) = 5 / 210.
  const ten = Array.from({ length: 10 }, (_, i) => [i < 5 ? 'a' : 'b']);
  const [a, b] = enrichment('subclass', ten, [0, 1, 2, 3]);
  assert.is(a!.label, 'a', 'sorted by p');
  close(a!.p_value, 5 / 210, 'p');
  close(a!.q_value, 10 / 210, 'q = 2 p / 1');
  assert.is(a!.odds_ratio, Infinity);
  assert.is(b!.p_value, 1);
  // Records with several labels count once per label; records with none count in no label.
  const multi = enrichment('subclass', [['2.7', '2.4'], ['2.7'], [], []], [0, 1]);
  assert.equal(multi.map((r) => [r.label, r.in_top, r.in_set]), [['2.7', 2, 2], ['2.4', 1, 1]]);
  close(multi[0]!.p_value, 1 / 6, 'P(both 2.7 records in a top 2 of 4)');
});

test('enrichment q-values: one BH family over every card\'s tests, each p-value the card\'s own', () => {
  // Card A: the tea-tasting table (p 17/70 and 69/70); card B: all 4 top records in a label held by 5 of 10 (p 5/210 and 1).
  const tea = [['milk'], ['milk'], ['milk'], ['milk'], ['tea'], ['tea'], ['tea'], ['tea']];
  const ten = Array.from({ length: 10 }, (_, i) => [i < 5 ? 'a' : 'b']);
  const cardA = enrichmentTests('class', tea, [0, 1, 2, 4]);
  const cardB = enrichmentTests('subclass', ten, [0, 1, 2, 3]);
  const [a, b] = adjustEnrichment([cardA, cardB]) as [EnrichmentRow[], EnrichmentRow[]];
  assert.equal(a.map((r) => [r.label, r.p_value]), cardA.map((t) => [t.label, t.p_value]), 'card A keeps its rows, order and p-values');
  assert.equal(b.map((r) => [r.label, r.p_value]), cardB.map((t) => [t.label, t.p_value]), 'card B likewise');
  // BH over the pooled 4: sorted 5/210, 17/70, 69/70, 1 -> q = 4 (5/210) / 1, 4 (17/70) / 2, min(4 (69/70) / 3, 1), 1.
  close(b[0]!.q_value, 20 / 210, 'B\'s label a: pooled q (within card B alone it would be 10/210)');
  close(a[0]!.q_value, 34 / 70, 'A\'s milk');
  close(a[1]!.q_value, 1, 'A\'s tea');
  close(b[1]!.q_value, 1, 'B\'s label b');
  const pooled = benjaminiHochberg([...cardA, ...cardB].map((t) => t.p_value));
  assert.equal([...a, ...b].map((r) => r.q_value), pooled, 'equal to BH over the pooled list');
  assert.is.not(b[0]!.q_value, enrichment('subclass', ten, [0, 1, 2, 3])[0]!.q_value, 'not BH per card');
  assert.equal(adjustEnrichment([]), []);
});

test('position profile: regions, relative bins and an N-terminal detector', () => {
  const acc = new NeuronAccumulator(5);
  for (let r = 0; r < 10; r++) {
    const len = 40 + 10 * r;
    acc.add(r, len, Float32Array.from({ length: len }, (_, i) => (i < 5 ? 1 : 0)));
  }
  const p = acc.profile();
  close(p.regions.n_term!, 1 / 6, 'n_term mean: 5 of the first 30 residues fire');
  assert.is(p.regions.core, 0);
  assert.is(p.regions.c_term, 0);
  // 850 residues; in the 40- and 50-residue records the N-terminal span takes the overlap (10 and 20 left to c_term).
  assert.equal(p.residues, { n_term: 300, core: 280, c_term: 10 + 20 + 8 * 30 });
  assert.equal(p.top_windows, { n_term: 5, core: 0, c_term: 0 });
  assert.equal(acc.topWindows().map((w) => [w.record, w.position]), [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]], 'ties: default tie-break the record, then the first residue');
  assert.equal(acc.cutoffTies(), { tied: 10, kept: 5 });
  const blind = new NeuronAccumulator(3, (r) => (r * 7) % 10);
  for (let r = 0; r < 10; r++) blind.add(r, 50, new Float32Array(50).fill(1));
  assert.equal(blind.topWindows().map((w) => w.record), [0, 3, 6], 'a given tie-break orders exact ties');
  assert.is(p.bins.length, PROFILE_BINS);
  assert.ok(p.bins[0]! > 0 && p.bins.slice(2).every((b) => b === 0), `bins ${p.bins}`);
  const len = acc.lengthCorrelation();
  close(len.spearman!, -1, 'per-record mean 5/length falls with length');
  assert.is(detectorCall(p, len).kind, 'n-terminal', 'terminal before length');
  assert.is(regionOf(29, 100), 'n_term');
  assert.is(regionOf(70, 100), 'c_term');
  assert.is(regionOf(50, 100), 'core');
});

test('position profile: a flat per-record value that grows with length is a length detector; bins follow position', () => {
  const acc = new NeuronAccumulator(3);
  const ramp = new NeuronAccumulator(3);
  for (let r = 0; r < 12; r++) {
    const len = 80 + 7 * r;
    acc.add(r, len, new Float32Array(len).fill(len / 100));
    ramp.add(r, len, Float32Array.from({ length: len }, (_, i) => i / len));
  }
  const len = acc.lengthCorrelation();
  close(len.spearman!, 1, 'rho');
  const call = detectorCall(acc.profile(), len);
  assert.is(call.kind, 'length', call.reason);
  const bins = ramp.profile().bins as number[];
  assert.ok(bins.every((b, i) => i === 0 || b > bins[i - 1]!), `bins rise with relative position: ${bins}`);
  assert.is(detectorCall(ramp.profile(), ramp.lengthCorrelation()).kind, 'c-terminal', 'a ramp peaks at the last residue and is highest there');
});

test('several windows per record: a single sequence gives its best residues, ties to the earlier one', () => {
  const acc = new NeuronAccumulator(4, undefined, 3);
  acc.add(0, 8, Float32Array.from([0, 5, 1, 5, 2, 0, 9, 0]));
  assert.equal(acc.topWindows().map((w) => [w.record, w.position, w.activation]), [[0, 6, 9], [0, 1, 5], [0, 3, 5]]);
  acc.add(1, 4, Float32Array.from([7, 0, 6, 8]));
  assert.equal(acc.topWindows().map((w) => [w.record, w.position]), [[0, 6], [1, 3], [1, 0], [1, 2]], 'keep bounds the windows over all records');
  assert.equal(acc.cutoffTies(), { tied: 1, kept: 1 });
  assert.is(acc.profile().top_windows.n_term, 4);
  assert.throws(() => new NeuronAccumulator(4, undefined, 0), /perRecord 0/);
});

test('logoSvg: standalone SVG with a bits axis, one label per column and the tallest letter drawn', () => {
  const logo = sequenceLogo(['AHEKL', 'CHEKM', 'DHEKN', 'FHEKP']);
  const svg = logoSvg(logo, { title: 'ffn_in 0 5 <HE>' });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.includes('<title>ffn_in 0 5 &lt;HE&gt;</title>'), 'escaped title');
  assert.ok(svg.includes('>bits</text>'));
  for (const label of ['-2', '-1', '0', '+1', '+2']) assert.ok(svg.includes(`>${label}</text>`), `column label ${label}`);
  assert.ok(/fill="#255c99">H<\/text>/.test(svg), 'H drawn in the basic colour');
  assert.ok(!svg.includes('NaN'));
});

test('card page: well-formed HTML, labels escaped, windows centre-marked, a bar per profile bin, a pair named as such', () => {
  const windows = ['AAAHEKLAA', '--MHEKMAA'];
  const bins = [0.5, -0.25, null, 1, 1, 1, 1, 1, 1, 2];
  const card: NeuronCard = {
    module: 'key', layer: 1, index: 3, units: [3, 7], class: 'A<B & "C"', classes: ['A<B & "C"', "D'E"], score: 0.0123,
    windows: windows.map((w, i) => ({ record: `r<${i}>&`, position: 5 + i, window: w, activation: 1 - i / 4, class: 'A<B & "C"' })),
    logo: sequenceLogo(windows), consensus: 'xxxHEKxxx',
    enrichment: [
      { level: 'class', label: 'A<B & "C"', in_top: 2, top_total: 2, in_set: 3, set_total: 9, odds_ratio: Infinity, p_value: 1 / 12, q_value: 1 / 6 },
      { level: 'subclass', label: '1.1', in_top: 1, top_total: 2, in_set: 5, set_total: 9, odds_ratio: Number.NaN, p_value: 0.75, q_value: 0.75 },
    ],
    position_profile: { span: 30, regions: { n_term: 0.5, core: 1, c_term: null }, residues: { n_term: 30, core: 12, c_term: 0 }, bins, top_windows: { n_term: 2, core: 0, c_term: 0 } },
    length_correlation: { spearman: null, records: 2 }, detector: { kind: null, reason: 'no length or terminal preference' }, cutoff_ties: { tied: 3, kept: 1 },
    zero_effect: { records: 3, p_before: 0.5, p_after: 0.4, change: -0.1, random: { index: 1, units: [1, 5], p_after: 0.49, change: -0.01 } },
  };
  assert.is(cardFileName(card), 'card_key_1_3.html');
  const html = cardPageHtml(card, { logoFile: 'logo_key_1_3.svg', attribution: 'x < y & z', provenance: 'model <m>' });
  assert.is(assertWellFormedXml(html, 'card page'), 'html');
  assert.ok(html.includes('<h1>key, layer 1, pair (3, 7) <small>(A&lt;B &amp; &quot;C&quot;)</small></h1>'), 'identity, escaped class');
  assert.ok(html.includes('rotary pair (3, 7)') && html.includes('D&apos;E'), 'units and every class');
  assert.ok(html.includes('Per-residue attribution: x &lt; y &amp; z.') && html.includes('model &lt;m&gt;'), 'attribution and provenance, escaped');
  assert.not.ok(html.includes('report.html'), 'no report link without a report');
  assert.ok(html.includes('<code>--MH<mark>E</mark>KMAA</code>'), 'window centre marked');
  assert.equal(tableRows(html, 'The 2 top windows').map((r) => r.slice(1, 5)), [['r<0>&', 'A<B & "C"', '5', 'AAAHEKLAA'], ['r<1>&', 'A<B & "C"', '6', '--MHEKMAA']]);
  assert.ok(html.includes('3 records tie exactly at the cut-off'), 'cut-off ties');
  assert.equal(tableRows(html, 'Enrichment').map((r) => r.slice(0, 2).concat(r.slice(4))), [['class', 'A<B & "C"', 'inf', '0.0833', '0.167'], ['subclass', '1.1', '-', '0.750', '0.750']]);
  // The profile chart: one bar per non-empty bin (with its tooltip), the empty one marked; negative bars in the second colour.
  const profile = html.slice(html.indexOf('mean activation by tenth of the sequence'));
  assert.is((profile.match(/<rect x=/g) ?? []).length, bins.filter((b) => b !== null).length);
  assert.ok(profile.includes('>none</text>') && profile.includes('10-20% of the sequence: mean activation -0.250'));
  assert.ok(html.includes('undefined (constant values or too few records; 2 records)') && html.includes('Detector call: none (no length or terminal preference).'));
  assert.equal(tableRows(html, 'Mean probability of'), [['this pair (3, 7)', '0.5000', '0.4000', '-10.00 pp'], ['random control: pair (1, 5)', '0.5000', '0.4900', '-1.00 pp']]);
  assert.ok(cardPageHtml(card, { logoFile: 'l.svg', attribution: 'a', provenance: 'p', report: '../report.html' }).includes('<a href="../report.html">report</a>'));
  assert.ok(cardPageHtml({ ...card, zero_effect: null, enrichment: [] }, { logoFile: 'l.svg', attribution: 'a', provenance: 'p' }).includes('Zeroing was not measured'));
  assert.not.ok(html.includes('NaN'));
});

/** Scores on the motif model's layout: `value` for the planted unit on records of class 1, else 0. */
function plantedScores(labels: readonly number[], names: readonly string[]): NeuronScores {
  const layout = neuronLayout(motifClassifier().config);
  const N = layout.total;
  const values = new Float32Array(labels.length * N);
  labels.forEach((l, e) => {
    if (l === 1) values[e * N + layout.starts.ffn_in + MOTIF_UNIT] = 1;
  });
  return { method: 'ig', layout, classNames: names, examples: labels.map((label, i) => ({ id: `M${i}`, label, residues: 1 })), values, meta: {} };
}

test('explain on the planted model: HExxH tops the HE unit\'s logo, its windows sit at the planted residues, and zeroing it moves its class', async () => {
  await gpu();
  const host = motifClassifier();
  const u = uploadTiny(host);
  try {
    const planted = plantedRecords(30, 3, 1, 5);
    const records = planted.map((p) => p.record);
    const names = ['c0', 'c1', 'c2'];
    const scores = plantedScores(records.map((r) => r.label), names);
    const chosen = chooseNeurons(scores, host.config.headDim, 1, ['ffn_in']);
    assert.equal(chosen.topSets, [['ffn_in:0:0'], [`ffn_in:0:${MOTIF_UNIT}`], ['ffn_in:0:0']], 'ties pick the lowest index');
    assert.equal(jaccardMatrix(chosen.topSets), [[1, 0, 1], [0, 1, 0], [1, 0, 1]]);
    const ex = await explainNeurons(u.model, u.head, records, scores, { top: 1, modules: ['ffn_in'], windows: 10, batching: { maxLength: 1022, batchSize: 8 } });
    assert.is(ex.neurons.length, 2, 'a neuron top for two classes gets one card');
    const card = ex.neurons.find((c) => c.index === MOTIF_UNIT)!;
    assert.is(card.class, 'c1');
    assert.equal(ex.neurons.find((c) => c.index === 0)!.classes, ['c0', 'c2']);
    // Windows: the ten class-1 records, each centred on its planted H (1-based residue at + 1).
    const at = new Map(planted.map((p) => [p.record.id, p.at]));
    assert.is(card.windows.length, 10);
    for (const w of card.windows) {
      assert.is(w.position, at.get(w.record)! + 1, `${w.record}: planted at ${at.get(w.record)}`);
      assert.is(w.window[7], 'H');
      assert.is(w.window.slice(7, 9), 'HE');
      assert.is(w.window[11], 'H');
      assert.ok(w.activation > 0.9, `${w.record}: activation ${w.activation}`);
    }
    // Logo: the three most informative columns are the motif's H, E and H.
    const ranked = card.logo.columns.map((c, p) => [c.ic, p] as const).sort((x, y) => y[0] - x[0]).slice(0, 3).map(([, p]) => p).sort((x, y) => x - y);
    assert.equal(ranked, [7, 8, 11]);
    assert.equal([7, 8, 11].map((p) => card.logo.columns[p]!.letters[0]!.letter), ['H', 'E', 'H']);
    assert.is(card.consensus.slice(7, 12).toUpperCase().replace(/[^HE]/g, 'x'), 'HExxH');
    // Enrichment: all top windows come from class c1 (10 of 30 records).
    const c1 = card.enrichment.find((r) => r.level === 'class' && r.label === 'c1')!;
    assert.equal([c1.in_top, c1.top_total, c1.in_set, c1.set_total], [10, 10, 10, 30]);
    assert.ok(c1.q_value < 1e-6, `q ${c1.q_value}`);
    // Sub-classes from the ec field: class c1 is EC 2.1 and 2.2 in turn, both wholly in the top; 1.x and 3.x never.
    const sub = new Map(card.enrichment.filter((r) => r.level === 'subclass').map((r) => [r.label, r]));
    assert.equal([...sub.keys()].sort(), ['1.1', '1.2', '2.1', '2.2', '3.1', '3.2']);
    assert.equal([sub.get('2.1')!.in_top, sub.get('2.1')!.in_set, sub.get('2.2')!.in_top, sub.get('2.2')!.in_set], [5, 5, 5, 5]);
    // P(all 5 of 2.1 in a top 10 of 30) = C(25, 5) / C(30, 10) = 0.0018; its q is over both cards' 18 tests (about 0.011).
    close(sub.get('2.1')!.p_value, 53130 / 30045015, '2.1 p', 1e-9);
    assert.ok(sub.get('2.1')!.q_value < 0.02 && sub.get('1.1')!.p_value === 1, `enriched and absent sub-classes: q ${sub.get('2.1')!.q_value}`);
    // q-values: one family over both cards' tests of both levels.
    const all = ex.neurons.flatMap((c) => c.enrichment);
    assert.equal(all.map((r) => r.q_value), benjaminiHochberg(all.map((r) => r.p_value)), 'BH over every card\'s tests of the run');
    assert.is(ex.meta.enrichment_tests, all.length);
    // Zeroing: the unit feeds fc2, the random partner has zero weights and activation 0.
    const z = card.zero_effect!;
    assert.is(z.records, 10);
    assert.ok(Math.abs(z.change) > 1e-4, `zeroing the HE unit changes p(c1): ${z.change}`);
    assert.is.not(z.random.index, MOTIF_UNIT);
    assert.is(z.random.change, 0, 'zeroing a silent unit changes nothing');
    // The silent unit ties on all 30 records: its 10 windows are a class-blind draw, and say so.
    const silent = ex.neurons.find((c) => c.index === 0)!;
    assert.equal(silent.cutoff_ties, { tied: 30, kept: 10 });
    assert.ok(new Set(silent.windows.map((w) => w.class)).size > 1, 'tie-break by hashed id, not by the set order (grouped by class)');
    assert.is(card.cutoff_ties.kept, card.cutoff_ties.tied, 'the HE unit loses no tied record (identical motifs give identical values)');
    assert.equal(ex.clusters.filter((g) => g.members.includes(`ffn_in:0:${MOTIF_UNIT}`)), [], 'no other neuron shares the motif');
  } finally {
    disposeTiny(u);
  }
});

test.run();
