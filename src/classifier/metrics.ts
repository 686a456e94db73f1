/** Classification metrics reported by training and written to metrics.json. */

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface EvalMetrics {
  examples: number;
  accuracy: number;
  macroF1: number;
  /** confusion[true][predicted]. */
  confusion: number[][];
  perClass: ClassMetrics[];
  /** Expected calibration error of the confidences (calibrate.ts), when probabilities were scored. */
  ece?: number;
}

export function evaluate(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: number,
): EvalMetrics {
  if (truth.length !== predicted.length) throw new RangeError('truth and predicted differ in length');
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i] as number;
    const p = predicted[i] as number;
    (confusion[t] as number[])[p] = ((confusion[t] as number[])[p] as number) + 1;
    if (t === p) correct++;
  }
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < classes; c++) {
    const tp = (confusion[c] as number[])[c] as number;
    let fp = 0;
    let fn = 0;
    for (let k = 0; k < classes; k++) {
      if (k === c) continue;
      fp += (confusion[k] as number[])[c] as number;
      fn += (confusion[c] as number[])[k] as number;
    }
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perClass.push({ precision, recall, f1, support: tp + fn });
  }
  const macroF1 = perClass.reduce((s, m) => s + m.f1, 0) / classes;
  return {
    examples: truth.length,
    accuracy: truth.length ? correct / truth.length : 0,
    macroF1,
    confusion,
    perClass,
  };
}

/** Fixed-width text table of a confusion matrix, rows = truth. */
export function formatConfusion(m: EvalMetrics, labels: readonly string[]): string {
  const w = Math.max(8, ...labels.map((l) => l.length)) + 1;
  const head = 'true\\pred'.padEnd(w) + labels.map((l) => l.padStart(w)).join('');
  const rows = m.confusion.map(
    (row, i) => (labels[i] ?? String(i)).padEnd(w) + row.map((v) => String(v).padStart(w)).join(''),
  );
  return [head, ...rows].join('\n');
}
