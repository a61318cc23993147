/**
 * The evaluation report: one self-contained HTML page (inline CSS and SVG, no scripts, nothing
 * fetched) with the metrics against their thresholds and the champion, the ROC curve, the
 * confusion matrix and the training curve.
 */
import { html, joinHtml, type SafeHtml } from '../reports/html';
import { renderPage } from '../reports/page';
import type { EpochMetrics } from './trainer-contract';
import {
  checkThresholds,
  formatMetric,
  lowerIsBetter,
  type ChampionComparison,
  type ConfusionMatrix,
  type MetricName,
  type Metrics,
  type RocPoint,
} from './metrics';

export interface EvaluationReportInput {
  /** Model name. */
  model: string;
  version?: string | number;
  trainer?: string;
  metrics: Metrics;
  thresholds?: Partial<Record<MetricName, number>>;
  /** Binary only (omitted for other tasks). */
  rocCurve?: readonly RocPoint[];
  confusion?: ConfusionMatrix;
  /** Task-specific figures and tables (task-report.ts), already HTML. */
  sections?: SafeHtml;
  /** Facts shown under the title: task, dataset version, split sizes, threshold. */
  facts?: Readonly<Record<string, string>>;
  /** Training curve, one entry per epoch. */
  history: readonly EpochMetrics[];
  champion?: { version?: string | number; metrics: Metrics; comparison?: ChampionComparison };
  /** Shown in the header; default: now. */
  generatedAt?: Date | string;
}


/** Coordinates in SVG user units, 2 decimals. */
const n2 = (v: number): string => (Math.round(v * 100) / 100).toString();

const PLOT = { width: 360, height: 300, left: 48, right: 14, top: 16, bottom: 42 };

function axes(opts: { xLabel: string; yLabel: string; xTicks: number[]; yTicks: number[]; x: (v: number) => number; y: (v: number) => number; fmt?: (v: number) => string }): SafeHtml {
  const { left, top, width, height, right, bottom } = PLOT;
  const fmt = opts.fmt ?? formatMetric;
  const parts: SafeHtml[] = [];
  parts.push(html`<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" class="frame"/>`);
  for (const t of opts.xTicks) {
    const x = n2(opts.x(t));
    parts.push(html`<line x1="${x}" y1="${height - bottom}" x2="${x}" y2="${height - bottom + 4}" class="tick"/>`);
    parts.push(html`<text x="${x}" y="${height - bottom + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of opts.yTicks) {
    const y = n2(opts.y(t));
    parts.push(html`<line x1="${left - 4}" y1="${y}" x2="${width - right}" y2="${y}" class="grid"/>`);
    parts.push(html`<text x="${left - 7}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  parts.push(html`<text x="${n2((left + width - right) / 2)}" y="${height - 6}" text-anchor="middle" class="label">${opts.xLabel}</text>`);
  parts.push(
    html`<text x="12" y="${n2((top + height - bottom) / 2)}" text-anchor="middle" class="label" transform="rotate(-90 12 ${n2((top + height - bottom) / 2)})">${opts.yLabel}</text>`,
  );
  return joinHtml(parts);
}

function svg(id: string, title: string, body: SafeHtml): SafeHtml {
  return html`<svg id="${id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${PLOT.width} ${PLOT.height}" width="${PLOT.width}" height="${PLOT.height}" role="img" aria-label="${title}"><title>${title}</title>${body}</svg>`;
}

/** At most `max` points, evenly spaced, first and last kept. */
function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, k) => points[Math.round(k * step)] as T);
}

export function rocSvg(points: readonly RocPoint[], aucValue?: number): SafeHtml {
  const { left, right, top, bottom, width, height } = PLOT;
  const x = (v: number) => left + v * (width - left - right);
  const y = (v: number) => height - bottom - v * (height - top - bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const pts = thin(points, 500)
    .map((p) => `${n2(x(p.fpr))},${n2(y(p.tpr))}`)
    .join(' ');
  const title = aucValue === undefined ? 'ROC curve' : `ROC curve (AUC ${formatMetric(aucValue)})`;
  const body = html`${axes({ xLabel: 'False positive rate', yLabel: 'True positive rate', xTicks: ticks, yTicks: ticks, x, y })}\
<line x1="${n2(x(0))}" y1="${n2(y(0))}" x2="${n2(x(1))}" y2="${n2(y(1))}" class="chance"/>\
${points.length > 0 && html`<polyline points="${pts}" class="curve roc"/>`}`;
  return svg('roc-curve', title, body);
}

export function confusionSvg(m: ConfusionMatrix): SafeHtml {
  const total = m.tp + m.fp + m.tn + m.fn;
  const max = Math.max(m.tp, m.fp, m.tn, m.fn, 1);
  const cell = 100;
  const x0 = 110;
  const y0 = 40;
  // rows: actual 1, actual 0; columns: predicted 1, predicted 0
  const cells: Array<[number, number, number, string]> = [
    [0, 0, m.tp, 'true positives'],
    [1, 0, m.fn, 'false negatives'],
    [0, 1, m.fp, 'false positives'],
    [1, 1, m.tn, 'true negatives'],
  ];
  const parts: SafeHtml[] = [];
  parts.push(html`<text x="${x0 + cell}" y="16" text-anchor="middle" class="label">Predicted</text>`);
  parts.push(html`<text x="${x0 + cell / 2}" y="${y0 - 8}" text-anchor="middle">1</text><text x="${x0 + cell * 1.5}" y="${y0 - 8}" text-anchor="middle">0</text>`);
  parts.push(html`<text x="20" y="${y0 + cell}" text-anchor="middle" class="label" transform="rotate(-90 20 ${y0 + cell})">Actual</text>`);
  parts.push(html`<text x="${x0 - 10}" y="${y0 + cell / 2}" text-anchor="end" dominant-baseline="middle">1</text><text x="${x0 - 10}" y="${y0 + cell * 1.5}" text-anchor="end" dominant-baseline="middle">0</text>`);
  for (const [col, row, count, label] of cells) {
    const correct = col === row;
    const alpha = 0.12 + 0.75 * (count / max);
    const fill = correct ? `rgba(37,99,235,${n2(alpha)})` : `rgba(220,38,38,${n2(alpha)})`;
    const cx = x0 + col * cell;
    const cy = y0 + row * cell;
    const pct = total === 0 ? '' : `${formatMetric((100 * count) / total)}%`;
    parts.push(html`<rect x="${cx}" y="${cy}" width="${cell}" height="${cell}" fill="${fill}" class="cell"><title>${`${label}: ${count}`}</title></rect>`);
    parts.push(html`<text x="${cx + cell / 2}" y="${cy + cell / 2 - 6}" text-anchor="middle" class="count">${count}</text>`);
    parts.push(html`<text x="${cx + cell / 2}" y="${cy + cell / 2 + 14}" text-anchor="middle" class="small">${pct}</text>`);
  }
  return svg('confusion-matrix', `Confusion matrix (threshold 0.5, ${total} rows)`, joinHtml(parts));
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw);
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

export function trainingCurveSvg(history: readonly EpochMetrics[]): SafeHtml {
  const { left, right, top, bottom, width, height } = PLOT;
  const series: Array<{ name: string; cls: string; points: Array<[number, number]> }> = [
    { name: 'training loss', cls: 'train', points: history.filter((h) => Number.isFinite(h.loss)).map((h): [number, number] => [h.epoch, h.loss]) },
    {
      name: 'validation loss',
      cls: 'val',
      points: history.filter((h) => h.valLoss !== undefined && Number.isFinite(h.valLoss)).map((h): [number, number] => [h.epoch, h.valLoss as number]),
    },
  ].filter((s) => s.points.length > 0);
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) {
    return svg('training-curve', 'Training loss', html`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no training history</text>`);
  }
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs, xMin + 1);
  const yMin = Math.min(0, ...ys);
  const yMax = Math.max(...ys) * 1.05 || 1;
  const x = (v: number) => left + ((v - xMin) / (xMax - xMin)) * (width - left - right);
  const y = (v: number) => height - bottom - ((v - yMin) / (yMax - yMin)) * (height - top - bottom);
  const xTicks = niceTicks(xMin, xMax).filter((t) => Number.isInteger(t));
  const parts = [axes({ xLabel: 'Epoch', yLabel: 'Log loss', xTicks, yTicks: niceTicks(yMin, yMax), x, y, fmt: (v) => String(v) })];
  series.forEach((s, i) => {
    const pts = thin(s.points, 1000)
      .map(([ex, ey]) => `${n2(x(ex))},${n2(y(ey))}`)
      .join(' ');
    parts.push(html`<polyline points="${pts}" class="curve ${s.cls}"/>`);
    const ly = top + 12 + i * 16;
    parts.push(html`<line x1="${width - right - 120}" y1="${ly}" x2="${width - right - 100}" y2="${ly}" class="curve ${s.cls}"/>`);
    parts.push(html`<text x="${width - right - 95}" y="${ly}" dominant-baseline="middle" class="small">${s.name}</text>`);
  });
  return svg('training-curve', 'Training loss by epoch', joinHtml(parts));
}

function metricsTable(input: EvaluationReportInput): SafeHtml {
  const thresholds = input.thresholds ?? {};
  const misses = new Map(checkThresholds(input.metrics, thresholds).map((m) => [m.metric, m]));
  const champion = input.champion;
  const names = [...new Set([...Object.keys(input.metrics), ...Object.keys(thresholds)])] as MetricName[];
  const rows = names.map((name) => {
    const value = input.metrics[name];
    const threshold = thresholds[name];
    const miss = misses.get(name);
    const status = threshold === undefined ? '' : miss ? html`<span class="fail" title="${miss.message}">✗ miss</span>` : html`<span class="pass">✓ pass</span>`;
    const thresholdText = threshold === undefined ? '—' : `${lowerIsBetter(name) ? '≤' : '≥'} ${formatMetric(threshold)}`;
    let championCells: SafeHtml | undefined;
    if (champion) {
      const cv = champion.metrics[name];
      let delta: SafeHtml | string = '—';
      if (cv !== undefined && value !== undefined && Number.isFinite(cv) && Number.isFinite(value)) {
        const d = value - cv;
        const better = lowerIsBetter(name) ? d < 0 : d > 0;
        delta = html`<span class="${d === 0 ? '' : better ? 'pass' : 'fail'}">${d > 0 ? '+' : ''}${formatMetric(d)}</span>`;
      }
      championCells = html`<td>${cv === undefined ? '—' : formatMetric(cv)}</td><td>${delta}</td>`;
    }
    return html`<tr><th scope="row">${name}</th><td>${value === undefined ? '—' : formatMetric(value)}</td><td>${thresholdText}</td><td>${status}</td>${championCells}</tr>`;
  });
  const championHead = champion && html`<th>Champion${champion.version !== undefined && ` (v${champion.version})`}</th><th>Δ</th>`;
  return html`<table class="metrics"><thead><tr><th>Metric</th><th>Value</th><th>Threshold</th><th></th>${championHead}</tr></thead><tbody>${rows}</tbody></table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:0;background:#f9fafb}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 8px}
.sub{color:#6b7280;margin:0 0 16px}
.verdict{padding:10px 14px;border-radius:6px;margin:12px 0 20px;font-weight:600}
.verdict.ok{background:#ecfdf5;color:#065f46}.verdict.bad{background:#fef2f2;color:#991b1b}
.metrics{border-collapse:collapse;background:#fff;margin-bottom:24px}
.metrics th,.metrics td{padding:6px 14px;border-bottom:1px solid #e5e7eb;text-align:left;font-variant-numeric:tabular-nums}
.pass{color:#047857}.fail{color:#b91c1c}
.plots{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:12px}
figcaption{font-weight:600;margin-bottom:6px}
svg text{font-size:11px;fill:#374151}svg .label{font-size:12px;fill:#111827}svg .count{font-size:20px;font-weight:600}svg .small{font-size:11px}
svg .frame{fill:none;stroke:#9ca3af}svg .grid{stroke:#e5e7eb}svg .tick{stroke:#9ca3af}
svg .chance{stroke:#9ca3af;stroke-dasharray:4 4}
svg .curve{fill:none;stroke-width:2}svg .roc,svg .train{stroke:#2563eb}svg .val{stroke:#ea580c}
svg .cell{stroke:#fff;stroke-width:2}
ul.misses{margin:0 0 16px}
`;

/** Renders the report; every piece of text from the input is HTML-escaped. */
export function renderEvaluationHtml(input: EvaluationReportInput): string {
  const misses = checkThresholds(input.metrics, input.thresholds ?? {});
  const comparison = input.champion?.comparison;
  const ok = misses.length === 0 && (comparison === undefined || comparison.better);
  const title = `${input.model}${input.version === undefined ? '' : ` v${input.version}`} — evaluation`;
  const generated = input.generatedAt instanceof Date ? input.generatedAt.toISOString() : (input.generatedAt ?? new Date().toISOString());
  const sub = [input.trainer ? `trainer ${input.trainer}` : undefined, `generated ${generated}`].filter(Boolean).join(' · ');

  const verdictLines: string[] = [];
  if (misses.length > 0) verdictLines.push(`Missed ${misses.length} threshold${misses.length === 1 ? '' : 's'}`);
  else if (input.thresholds && Object.keys(input.thresholds).length > 0) verdictLines.push('All thresholds met');
  if (comparison) verdictLines.push(comparison.message);
  const verdict = verdictLines.length > 0 && html`<div class="verdict ${ok ? 'ok' : 'bad'}">${joinHtml(verdictLines, '<br>')}</div>`;
  const facts =
    input.facts && html`<table class="metrics facts"><tbody>${Object.entries(input.facts).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}</tbody></table>`;
  const missList = misses.length > 0 && html`<ul class="misses">${misses.map((m) => html`<li class="fail">${m.message}</li>`)}</ul>`;

  const body = html`<main>
<h1>${title}</h1>
<p class="sub">${sub}</p>
${verdict}${missList}
${facts}
<h2>Metrics</h2>
${metricsTable(input)}
<div class="plots">
${input.rocCurve && html`<figure><figcaption>ROC curve</figcaption>${rocSvg(input.rocCurve, input.metrics.auc)}</figure>`}
${input.confusion && html`<figure><figcaption>Confusion matrix</figcaption>${confusionSvg(input.confusion)}</figure>`}
<figure><figcaption>Training curve</figcaption>${trainingCurveSvg(input.history)}</figure>
</div>
${input.sections}
</main>`;
  return renderPage({ title, style: STYLE, body });
}
