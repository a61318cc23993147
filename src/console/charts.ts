/**
 * Server-side SVG charts (no script, nothing fetched): metrics of selected versions side by side,
 * and values over time (drift per feature against its threshold). Every label is escaped.
 */
import { escapeText } from './html';

const PALETTE = ['#3b6fb6', '#e08a2b', '#3f9b5a', '#b8433f', '#7d5bb0', '#8a6a4f', '#c55f9f', '#6f7782', '#a3a834', '#2fa3b5'];
export const seriesColor = (i: number) => PALETTE[i % PALETTE.length] as string;

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/**
 * One small bar chart per metric, a bar per version, so metrics of different scales (AUC, log
 * loss, RMSE) are each readable; the best bar of each metric is outlined.
 */
export function metricComparisonSvg(metric: string, bars: Array<{ version: number; value: number | undefined }>, higherIsBetter: boolean): string {
  const width = Math.max(220, 40 + bars.length * 34);
  const height = 170;
  const top = 24, bottom = 28, left = 8;
  const values = bars.map((b) => b.value).filter((x): x is number => x !== undefined && Number.isFinite(x));
  const hi = values.length ? Math.max(...values) : 1;
  const lo = values.length ? Math.min(...values) : 0;
  // Versions of one model usually differ in the third decimal: bars from zero would all look the
  // same, so the axis starts below the smallest value (labelled), as a zoomed comparison.
  const pad = hi - lo || Math.abs(hi) * 0.05 || 1;
  const max = hi > 0 && lo >= 0 ? hi : Math.max(0, hi);
  const min = lo >= 0 ? Math.max(0, lo - pad) : Math.min(0, lo);
  const span = max - min || 1;
  const plotH = height - top - bottom;
  const y = (v: number) => top + ((max - v) / span) * plotH;
  const best = values.length ? (higherIsBetter ? Math.max(...values) : Math.min(...values)) : undefined;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="chart metric-chart" data-metric="${escapeText(metric)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeText(metric)} by version">`];
  out.push(`<text x="${left}" y="15" font-size="12" font-weight="600" fill="#1d2433">${escapeText(metric)}${higherIsBetter ? ' ↑' : ' ↓'}</text>`);
  const base = Math.max(min, Math.min(0, max));
  out.push(`<line x1="${left}" x2="${width - 4}" y1="${y(base)}" y2="${y(base)}" stroke="#999" stroke-width="1"/>`);
  if (base !== 0) out.push(`<text class="axis-base" x="${width - 4}" y="${y(base) - 3}" font-size="9" text-anchor="end" fill="#777">axis from ${fmt(base)}</text>`);
  bars.forEach((b, i) => {
    const x = left + 10 + i * 34;
    if (b.value === undefined || !Number.isFinite(b.value)) {
      out.push(`<text x="${x + 12}" y="${y(base) - 4}" font-size="10" text-anchor="middle" fill="#999">—</text>`);
    } else {
      const y0 = y(Math.max(base, b.value));
      const h = Math.max(1, Math.abs(y(b.value) - y(base)));
      const isBest = b.value === best;
      out.push(`<rect class="bar" data-version="${b.version}" x="${x}" y="${y0}" width="24" height="${h}" fill="${seriesColor(i)}"${isBest ? ' stroke="#111" stroke-width="2"' : ''}><title>v${b.version} ${escapeText(metric)} = ${fmt(b.value)}</title></rect>`);
      out.push(`<text x="${x + 12}" y="${Math.max(top - 2, y0 - 3)}" font-size="9" text-anchor="middle" fill="#333">${fmt(b.value)}</text>`);
    }
    out.push(`<text x="${x + 12}" y="${height - 10}" font-size="10" text-anchor="middle" fill="#333">v${b.version}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

/** Metrics where lower is better; everything else (auc, accuracy, f1, r2…) is higher-is-better. */
export function lowerIsBetter(metric: string): boolean {
  return /loss|error|rmse|mae|mse|brier|ece|latency/i.test(metric);
}

export interface TimePoint {
  at: string;
  value: number | null;
  /** Drawn filled: the check said this value drifted (else: above the threshold). */
  flagged?: boolean;
}

/**
 * Lines over time for several series (features), with an optional threshold line; points where a
 * series crossed its threshold are drawn filled.
 */
export function timelineSvg(series: Array<{ name: string; points: TimePoint[]; threshold?: number }>, opts: { title: string; width?: number; height?: number }): string {
  const width = opts.width ?? 720;
  const height = opts.height ?? 240;
  const left = 46, right = 150, top = 22, bottom = 30;
  const times = series.flatMap((s) => s.points.map((p) => Date.parse(p.at))).filter(Number.isFinite);
  const vals = series.flatMap((s) => [...s.points.map((p) => p.value), s.threshold ?? null]).filter((v): v is number => v !== null && Number.isFinite(v));
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeText(opts.title)}">`];
  out.push(`<text x="${left}" y="14" font-size="12" font-weight="600" fill="#1d2433">${escapeText(opts.title)}</text>`);
  if (!times.length || !vals.length) {
    out.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#777">no data yet</text></svg>`);
    return out.join('');
  }
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const vmax = Math.max(...vals) * 1.1 || 1, vmin = Math.min(0, ...vals);
  const x = (t: number) => left + (t1 === t0 ? (width - left - right) / 2 : ((t - t0) / (t1 - t0)) * (width - left - right));
  const y = (v: number) => top + ((vmax - v) / (vmax - vmin || 1)) * (height - top - bottom);
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="#999"/><line x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}" stroke="#999"/>`);
  out.push(`<text x="${left - 4}" y="${y(vmax) + 4}" font-size="10" text-anchor="end">${fmt(vmax)}</text><text x="${left - 4}" y="${y(vmin) + 4}" font-size="10" text-anchor="end">${fmt(vmin)}</text>`);
  out.push(`<text x="${left}" y="${height - 12}" font-size="10">${escapeText(new Date(t0).toISOString().slice(0, 16).replace('T', ' '))}</text><text x="${width - right}" y="${height - 12}" font-size="10" text-anchor="end">${escapeText(new Date(t1).toISOString().slice(0, 16).replace('T', ' '))}</text>`);
  series.forEach((s, i) => {
    const color = seriesColor(i);
    const pts = s.points.filter((p): p is TimePoint & { value: number } => p.value !== null && Number.isFinite(p.value)).map((p) => ({ t: Date.parse(p.at), v: p.value, flagged: p.flagged })).sort((a, b) => a.t - b.t);
    if (s.threshold !== undefined) out.push(`<line class="threshold" x1="${left}" x2="${width - right}" y1="${y(s.threshold)}" y2="${y(s.threshold)}" stroke="${color}" stroke-dasharray="4 3" stroke-width="1"/>`);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${pts.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      const over = p.flagged ?? (s.threshold !== undefined && p.v > s.threshold);
      out.push(`<circle cx="${x(p.t).toFixed(1)}" cy="${y(p.v).toFixed(1)}" r="3.2" fill="${over ? color : '#fff'}" stroke="${color}"><title>${escapeText(`${s.name} ${new Date(p.t).toISOString()} ${fmt(p.v)}`)}</title></circle>`);
    }
    out.push(`<rect x="${width - right + 10}" y="${top + i * 16}" width="10" height="10" fill="${color}"/><text x="${width - right + 24}" y="${top + i * 16 + 9}" font-size="11">${escapeText(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}
