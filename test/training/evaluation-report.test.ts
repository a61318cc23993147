import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/reports/html';
import { renderEvaluationHtml, type EvaluationReportInput } from '../../src/training/evaluation-report';
import { compareToChampion, computeMetrics, confusionMatrix, rocCurve } from '../../src/training/metrics';

const y = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0];
const p = [0.9, 0.2, 0.7, 0.4, 0.6, 0.1, 0.8, 0.3, 0.55, 0.45];

function input(overrides: Partial<EvaluationReportInput> = {}): EvaluationReportInput {
  const metrics = computeMetrics(y, p, ['auc', 'accuracy', 'f1', 'logloss']);
  return {
    model: 'churn',
    version: 3,
    trainer: 'gradient-boosting',
    metrics,
    thresholds: { auc: 0.99, accuracy: 0.5 },
    rocCurve: rocCurve(y, p),
    confusion: confusionMatrix(y, p),
    history: Array.from({ length: 20 }, (_, i) => ({ epoch: i + 1, loss: 0.7 / (1 + i / 5), valLoss: 0.72 / (1 + i / 6), valAuc: 0.8 })),
    generatedAt: '2026-01-02T03:04:05.000Z',
    ...overrides,
  };
}

/** Body of the <svg id="…"> element. */
function svgById(html: string, id: string): string {
  const m = new RegExp(`<svg id="${id}"[\\s\\S]*?</svg>`).exec(html);
  expect(m, `svg #${id}`).not.toBeNull();
  return (m as RegExpExecArray)[0];
}

describe('renderEvaluationHtml', () => {
  it('is a self-contained page with the three plots as inline SVG', () => {
    const html = renderEvaluationHtml(input());
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    expect(html).toContain('<title>churn v3 — evaluation</title>');

    const roc = svgById(html, 'roc-curve');
    expect(roc).toContain('ROC curve (AUC 0.88)');
    const points = /<polyline points="([^"]+)" class="curve roc"/.exec(roc)?.[1]?.split(' ') ?? [];
    expect(points.length).toBe(rocCurve(y, p).length);
    expect(points[0]).toBe('48,258'); // (fpr 0, tpr 0) at the bottom-left corner of the plot area

    const cm = svgById(html, 'confusion-matrix');
    const { tp, fp, tn, fn } = confusionMatrix(y, p);
    for (const [label, count] of [['true positives', tp], ['false positives', fp], ['true negatives', tn], ['false negatives', fn]] as const) {
      expect(cm).toContain(`<title>${label}: ${count}</title>`);
    }

    const curve = svgById(html, 'training-curve');
    expect(curve).toContain('class="curve train"');
    expect(curve).toContain('class="curve val"');
    expect(/<polyline points="([^"]+)" class="curve train"/.exec(curve)?.[1]?.split(' ')).toHaveLength(20);
  });

  it('shows threshold misses and passes', () => {
    const html = renderEvaluationHtml(input());
    expect(html).toContain('Missed 1 threshold');
    expect(html).toContain('<li class="fail">auc 0.88 &lt; threshold 0.99</li>');
    expect(html).toMatch(/<th scope="row">accuracy<\/th><td>0\.8<\/td><td>≥ 0\.5<\/td><td><span class="pass">/);
  });

  it('compares with the champion', () => {
    const champion = { version: 2, metrics: { auc: 0.8, accuracy: 0.85, f1: 0.7, logloss: 0.5 } };
    const comparison = compareToChampion(input().metrics, champion.metrics, { metric: 'auc', minImprovement: 0.01 });
    const html = renderEvaluationHtml(input({ thresholds: {}, champion: { ...champion, comparison } }));
    expect(html).toContain('<th>Champion (v2)</th><th>Δ</th>');
    expect(html).toContain('candidate auc 0.88 beats champion 0.8 by the required 0.01');
    expect(html).toContain('<span class="pass">+0.08</span>');
    expect(html).toContain('<span class="fail">-0.05</span>'); // accuracy 0.8 vs 0.85
  });

  it('escapes every piece of text it is given', () => {
    const html = renderEvaluationHtml(input({ model: '<script>alert("x")</script>', version: '1 & "2"', trainer: "o'neil" }));
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('v1 &amp; &quot;2&quot;');
    expect(html).toContain('o&#39;neil');
    expect(escapeHtml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });

  it('copes with an empty history and an all-zero confusion matrix', () => {
    const html = renderEvaluationHtml(input({ history: [], confusion: { tp: 0, fp: 0, tn: 0, fn: 0 }, rocCurve: [] }));
    expect(svgById(html, 'training-curve')).toContain('no training history');
    expect(svgById(html, 'confusion-matrix')).toContain('0 rows');
    expect(html).not.toContain('NaN');
  });
});
