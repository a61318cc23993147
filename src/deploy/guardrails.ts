/**
 * Canary guardrails read from the prediction service's Prometheus metrics: error rate and p99
 * latency of the canary version alone (its counters start at zero when it starts serving).
 */
import { PREDICT_ERRORS_TOTAL, PREDICT_LATENCY_SECONDS, PREDICT_REQUESTS_TOTAL } from '../observability/metric-names';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition format (the subset prom-client writes). */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    const value = m[4] === '+Inf' ? Infinity : Number(m[4]);
    if (!Number.isNaN(value)) out.push({ name: m[1] as string, labels, value });
  }
  return out;
}

export interface GuardrailLimits {
  errorRate?: number;
  p99LatencyMs?: number;
  /** Below this many canary requests nothing is judged yet. */
  minRequests: number;
}

export interface GuardrailReading {
  version: number;
  requests: number;
  errors: number;
  errorRate: number;
  /** Upper bound of the histogram bucket holding the 99th percentile, in ms (Infinity past the last). */
  p99Ms: number | null;
  judged: boolean;
  breached: boolean;
  reason?: string;
}

export function readGuardrails(text: string, version: number, limits: GuardrailLimits): GuardrailReading {
  const samples = parsePrometheusText(text);
  const v = String(version);
  const sum = (name: string, pred: (s: Sample) => boolean = () => true) =>
    samples.filter((s) => s.name === name && s.labels.version === v && pred(s)).reduce((a, s) => a + s.value, 0);
  const requests = sum(PREDICT_REQUESTS_TOTAL);
  const errors = sum(PREDICT_ERRORS_TOTAL);
  const buckets = samples
    .filter((s) => s.name === `${PREDICT_LATENCY_SECONDS}_bucket` && s.labels.version === v)
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  const p99 = total > 0 ? buckets.find((b) => b.count >= 0.99 * total)?.le ?? Infinity : null;
  const p99Ms = p99 === null ? null : p99 * 1000;
  const errorRate = requests > 0 ? errors / requests : 0;
  const judged = requests >= limits.minRequests && requests > 0;
  const reasons: string[] = [];
  if (judged && limits.errorRate !== undefined && errorRate > limits.errorRate) {
    reasons.push(`error rate ${(errorRate * 100).toFixed(2)}% > ${(limits.errorRate * 100).toFixed(2)}%`);
  }
  if (judged && limits.p99LatencyMs !== undefined && p99Ms !== null && p99Ms > limits.p99LatencyMs) {
    reasons.push(`p99 latency ${Number.isFinite(p99Ms) ? `${p99Ms.toFixed(0)}ms` : 'beyond the largest bucket'} > ${limits.p99LatencyMs}ms`);
  }
  return {
    version,
    requests,
    errors,
    errorRate,
    p99Ms,
    judged,
    breached: reasons.length > 0,
    ...(reasons.length ? { reason: `canary v${version}: ${reasons.join(', ')} over ${requests} requests` } : {}),
  };
}
