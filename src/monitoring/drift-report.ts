/**
 * The drift report: one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched)
 * with the verdict, a table of per-feature statistics, and for every evaluated feature a histogram
 * of the reference vs the current distribution (two overlaid bar series).
 */
import { html, joinHtml, type SafeHtml } from '../reports/html';
import { renderPage } from '../reports/page';
import type { DriftHistogram, DriftReport, FeatureDriftResult } from './drift';

export interface DriftHtmlMeta {
  title?: string;
  model?: string;
  version?: string | number;
  /** Id of the monitoring check (shown in the header). */
  checkId?: string;
  /** Time of the check. */
  at?: string | Date;
  /** Where the reference / current data came from. */
  reference?: string;
  current?: string;
}

const n2 = (v: number): string => (Math.round(v * 100) / 100).toString();

/** A statistic for display: 4 significant digits, exponent for very small/large values. */
export function formatStat(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-4 || a >= 1e6) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');

const PLOT = { width: 380, height: 250, left: 44, right: 10, top: 14, bottom: 70 };

/** Bar labels of a histogram: numeric bins from their edges, categories by name. */
export function histogramLabels(h: DriftHistogram): string[] {
  if (h.labels) return h.labels;
  const e = h.edges ?? [];
  if (e.length === 0) return ['all'];
  const labels = [`≤ ${formatStat(e[0])}`];
  for (let i = 1; i < e.length; i++) labels.push(`${formatStat(e[i - 1])} – ${formatStat(e[i])}`);
  labels.push(`> ${formatStat(e[e.length - 1])}`);
  return labels;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Reference vs current proportions as two overlaid bar series. */
export function histogramSvg(f: FeatureDriftResult): SafeHtml {
  const h = f.histogram;
  const { width, height, left, right, top, bottom } = PLOT;
  const id = `hist-${f.feature.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const title = `${f.feature}: reference vs current`;
  if (!h || h.reference.length === 0) {
    return html`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}"><title>${title}</title><text x="${width / 2}" y="${height / 2}" text-anchor="middle">no histogram</text></svg>`;
  }
  const labels = histogramLabels(h);
  const k = h.reference.length;
  const max = Math.max(...h.reference, ...h.current, 1e-12);
  const yMax = Math.min(1, max * 1.1);
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const slot = plotW / k;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const parts: SafeHtml[] = [];
  parts.push(html`<rect x="${left}" y="${top}" width="${n2(plotW)}" height="${n2(plotH)}" class="frame"/>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1].map((q) => q * yMax)) {
    parts.push(html`<line x1="${left - 3}" y1="${n2(y(t))}" x2="${width - right}" y2="${n2(y(t))}" class="grid"/>`);
    parts.push(html`<text x="${left - 5}" y="${n2(y(t))}" text-anchor="end" dominant-baseline="middle">${`${formatStat(Math.round(t * 1000) / 10)}%`}</text>`);
  }
  for (let i = 0; i < k; i++) {
    const x0 = left + i * slot;
    const r = h.reference[i]!;
    const c = h.current[i]!;
    const label = labels[i] ?? '';
    const tip = `${label}: reference ${formatStat(100 * r)}%, current ${formatStat(100 * c)}%`;
    parts.push(
      html`<rect x="${n2(x0 + slot * 0.1)}" y="${n2(y(r))}" width="${n2(slot * 0.8)}" height="${n2(Math.max(0, top + plotH - y(r)))}" class="bar ref"><title>${tip}</title></rect>`,
    );
    parts.push(
      html`<rect x="${n2(x0 + slot * 0.25)}" y="${n2(y(c))}" width="${n2(slot * 0.5)}" height="${n2(Math.max(0, top + plotH - y(c)))}" class="bar cur"><title>${tip}</title></rect>`,
    );
    const lx = n2(x0 + slot / 2);
    const ly = top + plotH + 10;
    parts.push(html`<text x="${lx}" y="${ly}" text-anchor="end" class="tiny" transform="rotate(-40 ${lx} ${ly})">${truncate(label, 18)}</text>`);
  }
  parts.push(html`<rect x="${width - right - 150}" y="${top + 4}" width="10" height="10" class="bar ref"/><text x="${width - right - 136}" y="${top + 9}" dominant-baseline="middle" class="small">reference</text>`);
  parts.push(html`<rect x="${width - right - 75}" y="${top + 4}" width="10" height="10" class="bar cur"/><text x="${width - right - 61}" y="${top + 9}" dominant-baseline="middle" class="small">current</text>`);
  return html`<svg id="${id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}"><title>${title}</title>${parts}</svg>`;
}

function rule(f: FeatureDriftResult): string {
  return f.method === 'ks' || f.method === 'chi2' ? `p < ${formatStat(f.threshold)}` : `> ${formatStat(f.threshold)}`;
}

function metricsTable(report: DriftReport): SafeHtml {
  const anyKs = report.features.some((f) => f.metrics.ks);
  const rows = report.features.map((f) => {
    const status = f.status === 'drift' ? html`<span class="fail">drift</span>` : f.status === 'no_drift' ? html`<span class="pass">ok</span>` : html`<span class="warn">insufficient data</span>`;
    const p = f.pValue === undefined ? '' : formatStat(f.pValue);
    const ks = f.metrics.ks ? `${formatStat(f.metrics.ks.statistic)} (p ${formatStat(f.metrics.ks.pValue)})` : '—';
    return html`<tr class="${f.status}"><th scope="row">${f.feature}</th><td>${f.kind}</td><td><code>${f.method}</code></td>\
<td class="num">${formatStat(f.value)}</td><td class="num">${p || '—'}</td><td class="num">${rule(f)}</td><td>${status}</td>\
<td class="num">${fmtInt(f.nReference)}</td><td class="num">${fmtInt(f.n)}</td>\
<td class="num">${formatStat(f.metrics.psi)}</td><td class="num">${formatStat(f.metrics.js)}</td>\
${anyKs && html`<td class="num">${ks}</td>`}\
<td class="num">${f.metrics.chi2 ? `${formatStat(f.metrics.chi2.statistic)} (p ${formatStat(f.metrics.chi2.pValue)})` : '—'}</td></tr>`;
  });
  return html`<table class="metrics"><thead><tr><th>Feature</th><th>Kind</th><th>Method</th><th>Value</th><th>p-value</th><th>Drift if</th><th>Status</th>\
<th>n reference</th><th>n current</th><th>PSI</th><th>JS</th>${anyKs && html`<th>KS D</th>`}<th>χ²</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:0;background:#f9fafb}
main{max-width:1240px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 8px}
.sub{color:#6b7280;margin:0 0 16px}
.verdict{padding:10px 14px;border-radius:6px;margin:12px 0 16px;font-weight:600}
.verdict.ok{background:#ecfdf5;color:#065f46}.verdict.bad{background:#fef2f2;color:#991b1b}.verdict.warn{background:#fffbeb;color:#92400e}
.note{margin:0 0 8px;color:#374151}
.metrics{border-collapse:collapse;background:#fff;margin-bottom:16px}
.metrics th,.metrics td{padding:5px 10px;border-bottom:1px solid #e5e7eb;text-align:left;font-variant-numeric:tabular-nums}
.metrics td.num{text-align:right}
.pass{color:#047857}.fail{color:#b91c1c;font-weight:600}.warn{color:#92400e}
.plots{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:10px}
figure.drift{border-color:#fca5a5}
figcaption{font-weight:600;margin-bottom:4px}figcaption .small{font-weight:400;color:#6b7280}
svg text{font-size:11px;fill:#374151}svg .small{font-size:11px}svg .tiny{font-size:9px}
svg .frame{fill:none;stroke:#9ca3af}svg .grid{stroke:#e5e7eb}
svg .bar.ref{fill:#2563eb;fill-opacity:.45}svg .bar.cur{fill:#ea580c;fill-opacity:.7}
`;

function verdictBanner(report: DriftReport): SafeHtml {
  const evaluated = report.features.length - report.insufficient.length;
  let cls: string;
  let text: string;
  if (report.verdict === 'drift') {
    cls = 'bad';
    text = `Drift detected in ${report.drifted.length} of ${evaluated} evaluated feature${evaluated === 1 ? '' : 's'}: ${report.drifted.join(', ')}`;
  } else if (report.verdict === 'no_drift') {
    cls = 'ok';
    text = `No drift in ${evaluated} evaluated feature${evaluated === 1 ? '' : 's'}`;
  } else {
    cls = 'warn';
    text = `Insufficient data: no feature has at least ${fmtInt(report.minSamples)} values in both samples`;
  }
  return html`<div class="verdict ${cls}">${text}</div>`;
}

/** Renders the report; every piece of text from the input is HTML-escaped (src/reports/html.ts). */
export function renderDriftHtml(report: DriftReport, meta: DriftHtmlMeta = {}): string {
  const title = meta.title ?? `Drift check${meta.model ? ` — ${meta.model}${meta.version === undefined ? '' : ` v${meta.version}`}` : ''}`;
  const at = meta.at instanceof Date ? meta.at.toISOString() : meta.at;
  const sub = [
    meta.checkId ? `check ${meta.checkId}` : undefined,
    at ? `at ${at}` : undefined,
    `numeric: ${report.method}`,
    `categorical: ${report.categoricalMethod}`,
    `min samples ${fmtInt(report.minSamples)}`,
    meta.reference ? `reference ${meta.reference}` : undefined,
    meta.current ? `current ${meta.current}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  const notes: SafeHtml[] = [];
  if (report.missing.length > 0) notes.push(html`<p class="note fail">Missing from the current data: ${report.missing.join(', ')}</p>`);
  if (report.insufficient.length > 0) notes.push(html`<p class="note warn">Too few values to judge (below ${fmtInt(report.minSamples)}): ${report.insufficient.join(', ')}</p>`);
  if (report.unexpected.length > 0) notes.push(html`<p class="note">Not in the reference (not evaluated): ${report.unexpected.join(', ')}</p>`);
  const figures = report.features
    .filter((f) => f.histogram)
    .map((f) => {
      const caption = html`${f.feature} <span class="small">${f.method} ${formatStat(f.value)}${f.pValue !== undefined && `, p ${formatStat(f.pValue)}`}${f.drifted && ' — drift'}</span>`;
      return html`<figure class="${f.drifted ? 'drift' : ''}"><figcaption>${caption}</figcaption>${histogramSvg(f)}</figure>`;
    });
  const body = html`<main>
<h1>${title}</h1>
<p class="sub">${sub}</p>
${verdictBanner(report)}
${joinHtml(notes, '\n')}
<h2>Features</h2>
${metricsTable(report)}
${figures.length > 0 && html`<h2>Distributions</h2>\n<div class="plots">\n${joinHtml(figures, '\n')}\n</div>`}
</main>`;
  return renderPage({ title, style: STYLE, body });
}
