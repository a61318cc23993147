import { describe, expect, it } from 'vitest';
import { buildLineage, renderLineageSvg } from '../../src/console/lineage';
import type { AuditEntry, ModelVersion } from '../../src/registry/model-registry';

const v = (n: number, extra: Partial<ModelVersion['lineage']> = {}, workflowId = `churn-train-${n}`): ModelVersion => ({
  name: 'churn',
  version: n,
  modelUri: 's3://b/m',
  metrics: { auc: 0.8 },
  lineage: { datasetSha256: String(n).repeat(64).slice(0, 64), datasetUri: 's3://b/d', manifestUri: 's3://b/m', codeVersion: 'c', trainer: 'gradient-boosting', params: {}, workflowId, runId: 'r', ...extra },
  reports: { validation: 's3://b/v.html', evaluation: 's3://b/e.html' },
  createdAt: `2026-01-0${n}T00:00:00.000Z`,
  status: 'registered',
});

describe('buildLineage', () => {
  const v1 = v(1, { studyId: 'churn-study-1', trialId: '7' });
  const v2 = v(2, { parentVersion: 1 }, 'churn-retrain');
  const audit: AuditEntry[] = [
    { at: '2026-01-01T01:00:00.000Z', actor: 'deployment', action: 'alias.set', model: 'churn', alias: 'production', from: null, to: 1 },
    { at: '2026-01-02T01:00:00.000Z', actor: 'deployment', action: 'canary-start', model: 'churn', version: 2, alias: 'production', detail: { percent: 10, stable: 1 } },
    { at: '2026-01-02T02:00:00.000Z', actor: 'deployment', action: 'alias.set', model: 'churn', alias: 'production', from: 1, to: 2 },
  ];
  const checks = [
    { workflowId: 'churn-check-a', at: '2026-01-01T12:00:00Z', verdict: 'drift', version: 1, drifted: ['tenure_months'], retrainWorkflowId: 'churn-retrain' },
    { workflowId: 'churn-check-b', at: '2026-01-03T12:00:00Z', verdict: 'no_drift', version: 2, drifted: [] },
  ];

  it('walks source → dataset → validation → study → trial → run → version → deployment → check → retrain → replacement', () => {
    const g = buildLineage({ version: v1, versions: [v1, v2], audit, source: 'file:///data/churn.csv', checks });
    const kinds = g.nodes.map((n) => n.kind);
    expect(kinds).toEqual(['source', 'dataset', 'validation', 'study', 'trial', 'training-run', 'model-version', 'deployment', 'monitor-check', 'retrain', 'replaced-by']);
    const edge = (a: string, b: string) => g.edges.some((e) => e.from === a && e.to === b);
    expect(edge('source', `dataset:${v1.lineage.datasetSha256}`)).toBe(true);
    expect(edge('trial:7', 'run:churn-train-1')).toBe(true);
    expect(edge('run:churn-train-1', 'version:1')).toBe(true);
    expect(edge('version:1', 'deploy:0')).toBe(true);
    expect(edge('deploy:0', 'check:churn-check-a')).toBe(true);
    // The retrain hangs off the check that started it, and leads to the version that replaced v1.
    expect(edge('check:churn-check-a', 'retrain:churn-retrain')).toBe(true);
    expect(edge('retrain:churn-retrain', 'replaced:2')).toBe(true);
    // Only this version's checks and deployments.
    expect(g.nodes.some((n) => n.id === 'check:churn-check-b')).toBe(false);
    expect(g.nodes.find((n) => n.kind === 'source')?.detail).toContain('file:///data');
  });

  it('the replacement shows its canary and no study when it had none', () => {
    const g = buildLineage({ version: v2, versions: [v1, v2], audit, checks });
    expect(g.nodes.map((n) => n.kind)).toEqual(['source', 'dataset', 'validation', 'training-run', 'model-version', 'deployment', 'deployment', 'monitor-check']);
    expect(g.nodes.filter((n) => n.kind === 'deployment').map((n) => n.label)).toEqual(['canary production', 'deploy production']);
  });

  it('renders every node with its kind, links where it has one, and escapes labels', () => {
    const g = buildLineage({ version: v1, versions: [v1, v2], audit, source: 'file:///<b>evil</b>', checks });
    const svg = renderLineageSvg(g);
    expect(svg.match(/<g class="node"/g)).toHaveLength(g.nodes.length);
    expect(svg).toContain('data-kind="retrain"');
    expect(svg).toContain('href="/runs/churn-train-1"');
    expect(svg).toContain('href="/models/churn/versions/2"');
    expect(svg).not.toContain('<b>evil');
    expect(svg.match(/class="edge"/g)).toHaveLength(g.edges.length);
  });
});
