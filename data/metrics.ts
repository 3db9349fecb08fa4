/**
 * Classification metrics: accuracy, macro-F1, per-class precision/recall/F1/support and the
 * confusion matrix, as JSON-ready numbers and as a terminal table. Pure code.
 *
 * Conventions (scikit-learn's with zero_division=0): a ratio with a zero denominator is 0, so a class
 * that is never predicted has precision 0 and F1 0. Macro-F1 is the mean F1 over the classes present
 * in the truth or the predictions; a class absent from both has no defined F1 and is left out (listed
 * in macro_f1_excluded), since counting it as 0 or 1 would move the mean for no reason.
 */

/** Metrics of one class. */
export interface ClassMetrics {
  /** Class index. */
  class: number;
  name: string;
  precision: number;
  recall: number;
  f1: number;
  /** Examples whose true class this is. */
  support: number;
}

/** All metrics; this is also the JSON shape written to result files. */
export interface Metrics {
  accuracy: number;
  macro_f1: number;
  per_class: ClassMetrics[];
  /** [C, C] counts, confusion[true][pred]. */
  confusion: number[][];
  /** Class indices left out of macro_f1: absent from both truth and predictions. */
  macro_f1_excluded: number[];
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** Metrics of predictions against the truth; both hold class indices into classNames. */
export function computeMetrics(truth: ArrayLike<number>, pred: ArrayLike<number>, classNames: readonly string[]): Metrics {
  const C = classNames.length;
  if (truth.length !== pred.length) throw new Error(`metrics: ${truth.length} true labels but ${pred.length} predictions`);
  if (truth.length === 0) throw new Error('metrics: no examples');
  const confusion = classNames.map(() => new Array<number>(C).fill(0)); // [C, C]
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = pred[i]!;
    if (!(Number.isInteger(t) && t >= 0 && t < C && Number.isInteger(p) && p >= 0 && p < C)) {
      throw new Error(`metrics: example ${i} has true class ${t} and prediction ${p}, expected integers in [0, ${C})`);
    }
    confusion[t]![p]!++;
  }
  let correct = 0;
  const perClass = classNames.map((name, c): ClassMetrics => {
    const tp = confusion[c]![c]!;
    correct += tp;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    return { class: c, name, precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
  const present = perClass.filter((m) => m.support > 0 || confusion.some((row) => row[m.class]! > 0));
  return {
    accuracy: correct / truth.length,
    macro_f1: present.reduce((a, m) => a + m.f1, 0) / present.length,
    per_class: perClass,
    confusion,
    macro_f1_excluded: perClass.filter((m) => !present.includes(m)).map((m) => m.class),
  };
}

/** Predicted class indices: the argmax of each row of [N, C] logits (first maximum on ties). */
export function argmaxRows(logits: ArrayLike<number>, C: number): Int32Array {
  if (C < 1 || logits.length % C !== 0) throw new Error(`argmaxRows: ${logits.length} values are not rows of ${C} classes`);
  const out = new Int32Array(logits.length / C);
  for (let n = 0; n < out.length; n++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[n * C + c]! > logits[n * C + best]!) best = c;
    out[n] = best;
  }
  return out;
}

/** The metrics as a terminal table: summary line, per-class rows, confusion matrix (rows true, columns predicted). */
export function formatMetrics(m: Metrics): string {
  const n = m.confusion.flat().reduce((a, b) => a + b, 0);
  const C = m.per_class.length;
  const excluded = m.macro_f1_excluded.map((c) => m.per_class[c]!.name);
  const lines = [
    `accuracy ${m.accuracy.toFixed(4)}   macro-F1 ${m.macro_f1.toFixed(4)} over ${C - excluded.length} of ${C} classes   (${n} examples)`,
  ];
  if (excluded.length) lines.push(`macro-F1 leaves out classes absent from truth and predictions: ${excluded.join(', ')}`);
  const nameWidth = Math.max(5, ...m.per_class.map((c) => `${c.class} ${c.name}`.length));
  const num = (x: number, skip: boolean): string => (skip ? '-' : x.toFixed(3)).padStart(9);
  lines.push(`${'class'.padEnd(nameWidth)} ${'precision'.padStart(9)} ${'recall'.padStart(9)} ${'f1'.padStart(9)} ${'support'.padStart(8)}`);
  for (const c of m.per_class) {
    const skip = m.macro_f1_excluded.includes(c.class);
    lines.push(`${`${c.class} ${c.name}`.padEnd(nameWidth)} ${num(c.precision, skip)} ${num(c.recall, skip)} ${num(c.f1, skip)} ${String(c.support).padStart(8)}`);
  }
  const cell = Math.max(4, ...m.confusion.flat().map((x) => String(x).length)) + 1;
  lines.push('', 'confusion (rows: true class, columns: predicted class)');
  lines.push(' '.repeat(nameWidth) + m.per_class.map((c) => String(c.class).padStart(cell)).join(''));
  m.confusion.forEach((row, t) => lines.push(`${t} ${m.per_class[t]!.name}`.padEnd(nameWidth) + row.map((x) => String(x).padStart(cell)).join('')));
  return lines.join('\n');
}
