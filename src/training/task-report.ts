/**
 * What the evaluation report shows per task, computed from the test rows' predictions, and its
 * HTML figures: precision-recall and calibration curves (binary), a confusion matrix with the class
 * labels (row-normalized N×N for multiclass), residuals and predicted-vs-actual (regression),
 * feature importance, and the model beside a trivial baseline. The JSON report keeps the exact
 * values; the HTML rounds them for reading.
 */
import { html, joinHtml, type SafeHtml } from '../reports/html';
import type { TaskType } from './feature-matrix';
import { formatMetric, scoreSweep, type MetricName, type Metrics } from './metrics';
import { argmaxRows, computeTaskMetrics } from './task-metrics';

const n2 = (v: number): string => (Math.round(v * 100) / 100).toString();
const W = 360;
const H = 300;
const L = 52;
const R = 14;
const T = 16;
const B = 42;

export interface PrPoint {
  recall: number;
  precision: number;
  threshold: number;
}

export interface CalibrationBin {
  /** Mean predicted probability of the bin's rows. */
  predicted: number;
  /** Observed positive rate of the bin's rows. */
  observed: number;
  count: number;
}

export interface TaskReportData {
  task: TaskType;
  classes?: string[];
  threshold?: number;
  /** Binary: positive rate of the training rows; multiclass: class shares; regression: training mean. */
  baseRate?: number | Record<string, number>;
  /** The trivial model's metrics (base rate / class priors / training mean predicted for every row). */
  baselineMetrics: Metrics;
  prCurve?: PrPoint[];
  calibration?: CalibrationBin[];
  /** Counts, rows = actual class, columns = predicted class. */
  confusion?: number[][];
  /** Regression: up to 500 test rows. */
  residuals?: Array<{ actual: number; predicted: number }>;
  importance: { kind: 'gain' | 'standardized-coefficient'; features: Array<{ name: string; value: number }> };
}

function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, k) => points[Math.round(k * step)] as T);
}

export function precisionRecallCurve(y: ArrayLike<number>, p: ArrayLike<number>, maxPoints = 300): PrPoint[] {
  const n = y.length;
  let positives = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) positives++;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number));
  const points: PrPoint[] = [];
  for (const { threshold, tp, fp } of scoreSweep(y, p, order)) {
    points.push({ recall: positives === 0 ? 0 : tp / positives, precision: tp / (tp + fp), threshold });
  }
  return thin(points, maxPoints);
}

/** Ten equal-width probability bins (empty bins left out), as scikit-learn's calibration_curve. */
export function calibrationCurve(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): CalibrationBin[] {
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  const count = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.floor((p[i] as number) * bins));
    sumP[b] = (sumP[b] as number) + (p[i] as number);
    sumY[b] = (sumY[b] as number) + (y[i] as number);
    count[b] = (count[b] as number) + 1;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) if ((count[b] as number) > 0) out.push({ predicted: (sumP[b] as number) / (count[b] as number), observed: (sumY[b] as number) / (count[b] as number), count: count[b] as number });
  return out;
}

export interface BuildReportInput {
  task: TaskType;
  classes?: string[];
  threshold?: number;
  metrics: readonly MetricName[];
  /** Test rows: encoded target and the model's output (see predictOutput). */
  y: Float64Array;
  out: Float64Array;
  /** Training rows' encoded target (base rate, baseline). */
  trainY: Float64Array;
  featureNames: readonly string[];
  importance: { kind: 'gain' | 'standardized-coefficient'; values: readonly number[] };
}

export function buildTaskReport(input: BuildReportInput): TaskReportData {
  const { task, y, out, trainY } = input;
  const n = y.length;
  const features = input.featureNames.map((name, j) => ({ name, value: input.importance.values[j] ?? 0 }));
  features.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const importance = { kind: input.importance.kind, features: features.slice(0, 30) };
  if (task === 'regression') {
    const mean = trainY.reduce((a, b) => a + b, 0) / Math.max(trainY.length, 1);
    const base = new Float64Array(n).fill(mean);
    const residuals = thin(Array.from(y, (actual, i) => ({ actual, predicted: out[i] as number })), 500);
    return { task, baseRate: mean, baselineMetrics: computeTaskMetrics({ task, y, pred: base }, input.metrics), residuals, importance };
  }
  const classes = input.classes ?? [];
  const k = classes.length;
  const priors = new Float64Array(k);
  for (let i = 0; i < trainY.length; i++) priors[trainY[i] as number] = (priors[trainY[i] as number] as number) + 1 / trainY.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  if (task === 'binary') {
    const t = input.threshold ?? 0.5;
    for (let i = 0; i < n; i++) (confusion[y[i] as number] as number[])[(out[i] as number) >= t ? 1 : 0]! += 1;
    const base = new Float64Array(n).fill(priors[1] as number);
    return {
      task,
      classes,
      threshold: t,
      baseRate: priors[1],
      baselineMetrics: computeTaskMetrics({ task, y, pred: base, threshold: t }, input.metrics),
      prCurve: precisionRecallCurve(y, out),
      calibration: calibrationCurve(y, out),
      confusion,
      importance,
    };
  }
  const predicted = argmaxRows(out, n, k);
  for (let i = 0; i < n; i++) (confusion[y[i] as number] as number[])[predicted[i] as number]! += 1;
  const base = new Float64Array(n * k);
  for (let i = 0; i < n; i++) base.set(priors, i * k);
  return {
    task,
    classes,
    baseRate: Object.fromEntries(classes.map((c, j) => [c, priors[j] as number])),
    baselineMetrics: computeTaskMetrics({ task, y, pred: base, numClasses: k }, input.metrics),
    confusion,
    importance,
  };
}

// ---------------------------------------------------------------------------------------------
// HTML

function frame(id: string, title: string, xLabel: string, yLabel: string, xs: [number, number], ys: [number, number], body: (x: (v: number) => number, y: (v: number) => number) => SafeHtml): SafeHtml {
  const x = (v: number) => L + ((v - xs[0]) / (xs[1] - xs[0] || 1)) * (W - L - R);
  const y = (v: number) => H - B - ((v - ys[0]) / (ys[1] - ys[0] || 1)) * (H - T - B);
  const ticks = (lo: number, hi: number) => [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
  const parts = [html`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" class="frame"/>`];
  for (const t of ticks(...xs)) parts.push(html`<text x="${n2(x(t))}" y="${H - B + 16}" text-anchor="middle">${formatMetric(Number(t.toPrecision(3)))}</text>`);
  for (const t of ticks(...ys)) parts.push(html`<line x1="${L - 4}" y1="${n2(y(t))}" x2="${W - R}" y2="${n2(y(t))}" class="grid"/><text x="${L - 7}" y="${n2(y(t))}" text-anchor="end" dominant-baseline="middle">${formatMetric(Number(t.toPrecision(3)))}</text>`);
  parts.push(html`<text x="${n2((L + W - R) / 2)}" y="${H - 6}" text-anchor="middle" class="label">${xLabel}</text>`);
  parts.push(html`<text x="12" y="${n2((T + H - B) / 2)}" text-anchor="middle" class="label" transform="rotate(-90 12 ${n2((T + H - B) / 2)})">${yLabel}</text>`);
  parts.push(body(x, y));
  return html`<svg id="${id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${title}"><title>${title}</title>${parts}</svg>`;
}

function figure(caption: string, inner: SafeHtml): SafeHtml {
  return html`<figure><figcaption>${caption}</figcaption>${inner}</figure>`;
}

function confusionHtml(m: number[][], classes: readonly string[], normalize: boolean, threshold?: number): SafeHtml {
  const k = classes.length;
  const cell = Math.max(28, Math.min(80, Math.floor(320 / Math.max(k, 1))));
  const x0 = 110;
  const y0 = 40;
  const rowSums = m.map((r) => r.reduce((a, b) => a + b, 0));
  const parts: SafeHtml[] = [html`<text x="${x0 + (k * cell) / 2}" y="14" text-anchor="middle" class="label">Predicted</text>`];
  classes.forEach((c, j) => {
    parts.push(html`<text x="${x0 + j * cell + cell / 2}" y="${y0 - 8}" text-anchor="middle" class="small">${c}</text>`);
    parts.push(html`<text x="${x0 - 8}" y="${y0 + j * cell + cell / 2}" text-anchor="end" dominant-baseline="middle" class="small">${c}</text>`);
  });
  m.forEach((row, a) =>
    row.forEach((count, p) => {
      const share = (rowSums[a] as number) === 0 ? 0 : count / (rowSums[a] as number);
      const fill = a === p ? `rgba(37,99,235,${n2(0.1 + 0.8 * share)})` : `rgba(220,38,38,${n2(0.1 + 0.8 * share)})`;
      const cx = x0 + p * cell;
      const cy = y0 + a * cell;
      const text = normalize ? formatMetric(share) : String(count);
      parts.push(html`<rect x="${cx}" y="${cy}" width="${cell}" height="${cell}" fill="${fill}" class="cell"><title>${`actual ${classes[a]}, predicted ${classes[p]}: ${count} (${formatMetric(100 * share)}% of actual ${classes[a]})`}</title></rect>`);
      parts.push(html`<text x="${cx + cell / 2}" y="${cy + cell / 2}" text-anchor="middle" dominant-baseline="middle" class="small">${text}</text>`);
    }),
  );
  const h = y0 + k * cell + 10;
  const w = x0 + k * cell + 10;
  const title = `Confusion matrix${normalize ? ' (row-normalized: share of each actual class)' : ''}${threshold !== undefined ? ` at threshold ${formatMetric(threshold)}` : ''}`;
  return html`<svg id="confusion-matrix" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${title}"><title>${title}</title><text x="16" y="${y0 + (k * cell) / 2}" class="label" transform="rotate(-90 16 ${y0 + (k * cell) / 2})" text-anchor="middle">Actual</text>${parts}</svg>`;
}

function importanceHtml(imp: TaskReportData['importance']): SafeHtml {
  const shown = imp.features.slice(0, 15);
  const max = Math.max(...shown.map((f) => Math.abs(f.value)), 1e-300);
  const rows = shown.map((f) => {
    const w = Math.round((Math.abs(f.value) / max) * 200);
    return html`<tr><th scope="row">${f.name}</th><td>${formatMetric(f.value)}</td><td><span style="display:inline-block;height:10px;width:${w}px;background:${f.value < 0 ? '#ea580c' : '#2563eb'}"></span></td></tr>`;
  });
  const what = imp.kind === 'gain' ? 'total split gain' : 'standardized coefficient (signed; multiclass: norm over classes)';
  return html`<table class="metrics importance"><thead><tr><th>Feature</th><th>${what}</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderTaskSections(data: TaskReportData, metrics: Metrics): SafeHtml {
  const figs: SafeHtml[] = [];
  if (data.task === 'binary') {
    if (data.prCurve) {
      const pts = data.prCurve;
      figs.push(figure('Precision–recall curve', frame('pr-curve', `Precision-recall curve (average precision ${metrics.pr_auc === undefined ? '—' : formatMetric(metrics.pr_auc)})`, 'Recall', 'Precision', [0, 1], [0, 1], (x, y) =>
        html`<line x1="${n2(x(0))}" y1="${n2(y(typeof data.baseRate === 'number' ? data.baseRate : 0))}" x2="${n2(x(1))}" y2="${n2(y(typeof data.baseRate === 'number' ? data.baseRate : 0))}" class="chance"/>${pts.length > 0 && html`<polyline points="${pts.map((p) => `${n2(x(p.recall))},${n2(y(p.precision))}`).join(' ')}" class="curve roc"/>`}`)));
    }
    if (data.calibration) {
      const bins = data.calibration;
      figs.push(figure('Calibration', frame('calibration-curve', 'Calibration: observed positive rate by predicted probability (10 bins)', 'Mean predicted probability', 'Observed positive rate', [0, 1], [0, 1], (x, y) =>
        html`<line x1="${n2(x(0))}" y1="${n2(y(0))}" x2="${n2(x(1))}" y2="${n2(y(1))}" class="chance"/>${bins.length > 0 && html`<polyline points="${bins.map((b) => `${n2(x(b.predicted))},${n2(y(b.observed))}`).join(' ')}" class="curve val"/>`}\
${bins.map((b) => html`<circle cx="${n2(x(b.predicted))}" cy="${n2(y(b.observed))}" r="3" fill="#ea580c"><title>${`${b.count} rows: predicted ${formatMetric(b.predicted)}, observed ${formatMetric(b.observed)}`}</title></circle>`)}`)));
    }
  }
  if (data.confusion && data.classes) figs.push(figure(data.task === 'multiclass' ? 'Confusion matrix (normalized)' : 'Confusion matrix', confusionHtml(data.confusion, data.classes, data.task === 'multiclass', data.threshold)));
  if (data.residuals) {
    const pts = data.residuals;
    const lo = Math.min(...pts.map((p) => Math.min(p.actual, p.predicted)));
    const hi = Math.max(...pts.map((p) => Math.max(p.actual, p.predicted)));
    figs.push(figure('Predicted vs actual', frame('predicted-vs-actual', 'Predicted vs actual (test rows)', 'Actual', 'Predicted', [lo, hi], [lo, hi], (x, y) =>
      html`<line x1="${n2(x(lo))}" y1="${n2(y(lo))}" x2="${n2(x(hi))}" y2="${n2(y(hi))}" class="chance"/>${pts.map((p) => html`<circle cx="${n2(x(p.actual))}" cy="${n2(y(p.predicted))}" r="2" fill="#2563eb" fill-opacity="0.5"/>`)}`)));
    const res = pts.map((p) => p.actual - p.predicted);
    const rmax = Math.max(...res.map(Math.abs), 1e-12);
    const plo = Math.min(...pts.map((p) => p.predicted));
    const phi = Math.max(...pts.map((p) => p.predicted));
    figs.push(figure('Residuals', frame('residual-plot', 'Residuals (actual − predicted) by predicted value', 'Predicted', 'Residual', [plo, phi], [-rmax, rmax], (x, y) =>
      html`<line x1="${n2(x(plo))}" y1="${n2(y(0))}" x2="${n2(x(phi))}" y2="${n2(y(0))}" class="chance"/>${pts.map((p, i) => html`<circle cx="${n2(x(p.predicted))}" cy="${n2(y(res[i] as number))}" r="2" fill="#ea580c" fill-opacity="0.5"/>`)}`)));
  }
  const names = Object.keys(metrics) as MetricName[];
  const baselineRows = names.map((m) => html`<tr><th scope="row">${m}</th><td>${formatMetric(metrics[m] as number)}</td><td>${data.baselineMetrics[m] === undefined ? '—' : formatMetric(data.baselineMetrics[m])}</td></tr>`);
  const baseline = data.task === 'regression' ? `training mean ${formatMetric(data.baseRate as number)} for every row` : data.task === 'binary' ? `base rate ${formatMetric(data.baseRate as number)} as the probability of every row` : 'the training class shares as every row\'s probabilities';
  return html`<h2>Model vs trivial baseline</h2><p class="sub">Baseline: ${baseline}.</p><table class="metrics baseline"><thead><tr><th>Metric</th><th>Model</th><th>Baseline</th></tr></thead><tbody>${baselineRows}</tbody></table>
<div class="plots">${joinHtml(figs, '\n')}</div>
<h2>Feature importance</h2>${importanceHtml(data.importance)}`;
}
