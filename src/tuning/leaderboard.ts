import { sampleCorrelation, mean } from 'simple-statistics';
import { html, type SafeHtml } from '../reports/html';
import { renderPage } from '../reports/page';
import type { TrialRecord } from './strategies';

/**
 * Rough parameter importance over completed trials: |Pearson correlation| with the metric for
 * numeric parameters (on log scale when the values span more than a decade), and for categorical
 * ones the spread of the per-value mean metric relative to the overall spread.
 */
export function parameterImportance(trials: readonly TrialRecord[]): Array<{ param: string; importance: number }> {
  const done = trials.filter((t) => t.state === 'completed' && typeof t.metric === 'number' && Number.isFinite(t.metric));
  if (done.length < 3) return [];
  const metrics = done.map((t) => t.metric as number);
  const spread = Math.max(...metrics) - Math.min(...metrics) || 1;
  const names = [...new Set(done.flatMap((t) => Object.keys(t.params)))];
  const out: Array<{ param: string; importance: number }> = [];
  for (const param of names) {
    const values = done.map((t) => t.params[param]);
    if (values.every((v) => typeof v === 'number')) {
      const nums = values;
      const positive = nums.every((v) => v > 0);
      const x = positive && Math.max(...nums) / Math.min(...nums) > 10 ? nums.map(Math.log) : nums;
      const r = new Set(x).size > 1 ? sampleCorrelation(x, metrics) : 0;
      out.push({ param, importance: Number.isFinite(r) ? Math.abs(r) : 0 });
    } else {
      const groups = new Map<string, number[]>();
      values.forEach((v, i) => groups.set(String(v), [...(groups.get(String(v)) ?? []), metrics[i] as number]));
      const means = [...groups.values()].map((g) => mean(g));
      out.push({ param, importance: means.length > 1 ? (Math.max(...means) - Math.min(...means)) / spread : 0 });
    }
  }
  return out.sort((a, b) => b.importance - a.importance);
}

function metricPlot(trials: readonly TrialRecord[], best?: TrialRecord): SafeHtml {
  const pts = trials.filter((t) => typeof t.metric === 'number' && Number.isFinite(t.metric));
  if (!pts.length) return html`<p>No trial reported a metric.</p>`;
  const W = 560;
  const H = 260;
  const pad = 40;
  const ys = pts.map((t) => t.metric as number);
  const lo = Math.min(...ys);
  const hi = Math.max(...ys) === lo ? lo + 1 : Math.max(...ys);
  const maxId = Math.max(...trials.map((t) => t.id), 1);
  const sx = (id: number) => pad + ((W - 2 * pad) * id) / maxId;
  const sy = (v: number) => H - pad - ((H - 2 * pad) * (v - lo)) / (hi - lo);
  const color = (t: TrialRecord) => (t.id === best?.id ? '#d62728' : t.state === 'stopped' ? '#999' : '#1f77b4');
  const dots = pts.map((t) => html`<circle cx="${sx(t.id).toFixed(1)}" cy="${sy(t.metric as number).toFixed(1)}" r="4" fill="${color(t)}"><title>trial ${t.id} (${t.state}): ${(t.metric as number).toFixed(4)}</title></circle>`);
  return html`<svg width="${W}" height="${H}" role="img" aria-label="metric per trial"><line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#333"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#333"/><text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="12">trial</text><text x="${pad - 4}" y="${pad}" text-anchor="end" font-size="11">${hi.toFixed(3)}</text><text x="${pad - 4}" y="${H - pad}" text-anchor="end" font-size="11">${lo.toFixed(3)}</text>${dots}</svg>`;
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}
tr.best{background:#fde8e8}.bar{display:inline-block;height:10px;background:#1f77b4}code{font-size:.85em}`;

export function renderLeaderboardHtml(input: { studyId: string; metric: string; direction: 'maximize' | 'minimize'; trials: readonly TrialRecord[]; best?: TrialRecord }): string {
  const sign = input.direction === 'maximize' ? -1 : 1;
  const ranked = [...input.trials].sort((a, b) => sign * ((a.metric ?? (sign > 0 ? Infinity : -Infinity)) - (b.metric ?? (sign > 0 ? Infinity : -Infinity))));
  const rows = ranked.map(
    (t) => html`<tr${t.id === input.best?.id && html` class="best"`}><td>${t.id}</td><td>${t.state}</td><td>${t.metric !== undefined ? t.metric.toFixed(4) : '—'}</td><td><code>${JSON.stringify(t.params)}</code></td></tr>`,
  );
  const importance = parameterImportance(input.trials).map(
    (p) => html`<tr><td>${p.param}</td><td><div class="bar" style="width:${Math.round(p.importance * 200)}px"></div> ${p.importance.toFixed(2)}</td></tr>`,
  );
  const body = html`<h1>Study ${input.studyId}</h1>
<p>${input.trials.length} trials; ${input.metric} (${input.direction}); best: ${input.best ? `trial ${input.best.id}, ${input.best.metric?.toFixed(4)}` : 'none'}</p>
<h2>Metric per trial</h2>${metricPlot(input.trials, input.best)}
<h2>Parameter importance</h2><table><tr><th>parameter</th><th>importance</th></tr>${importance.length > 0 ? importance : html`<tr><td colspan="2">too few completed trials</td></tr>`}</table>
<h2>Leaderboard</h2><table><tr><th>trial</th><th>state</th><th>${input.metric}</th><th>params</th></tr>${rows}</table>`;
  return renderPage({ title: `Study ${input.studyId}`, style: STYLE, body });
}
