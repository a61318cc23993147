import { describe, expect, it } from 'vitest';
import { html, path, query, raw, SafeHtml } from '../../src/console/html';
import { metricComparisonSvg, timelineSvg } from '../../src/console/charts';
import { approvalsPage, modelPage, signInPage } from '../../src/console/pages';
import type { AuditEntry, ModelVersion } from '../../src/registry/model-registry';

const evil = `<script>alert("x")</script>' onmouseover='x'`;

describe('the html template escapes every interpolated value', () => {
  it('escapes text and attributes, keeps nested fragments, drops nullish and false', () => {
    const out = html`<p title="${evil}">${evil}${html`<b>${'&'}</b>`}${null}${undefined}${false}${[1, html`<i>2</i>`]}</p>`;
    expect(out).toBeInstanceOf(SafeHtml);
    expect(out.markup).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x&#39;<b>&amp;</b>1<i>2</i></p>',
    );
    expect(html`${raw('<svg/>')}`.markup).toBe('<svg/>');
  });

  it('builds paths and queries with encoded segments', () => {
    expect(path('models', 'a/b', 'versions', 3)).toBe('/models/a%2Fb/versions/3');
    expect(query('/artifact', { uri: 's3://b/k?x=1&y', empty: '', none: undefined })).toBe('/artifact?uri=s3%3A%2F%2Fb%2Fk%3Fx%3D1%26y');
  });
});

const version = (n: number, metrics: Record<string, number>): ModelVersion => ({
  name: 'churn',
  version: n,
  modelUri: 's3://b/artifacts/sha256/aa/x',
  metrics,
  lineage: { datasetSha256: 'a'.repeat(64), datasetUri: 's3://b/d', manifestUri: 's3://b/m', codeVersion: 'c', trainer: 'logistic-regression', params: { note: evil }, workflowId: `churn-train-${n}`, runId: 'r' },
  reports: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  status: 'registered',
});

describe('pages put user-controlled text through the escaper', () => {
  it('the model page escapes params, audit comments, actors and metric names', () => {
    const audit: AuditEntry[] = [{ at: '2026-01-01T00:00:00.000Z', actor: evil, action: 'approve', model: 'churn', version: 1, detail: { comment: evil } }];
    const page = modelPage({ namespace: 'default', csrf: 't' }, {
      name: 'churn',
      versions: [version(1, { [evil]: 0.5, auc: 0.9 })],
      aliases: {},
      auditTotal: 1,
      aliasHistory: [{ at: '2026-01-01T00:00:00.000Z', actor: evil, action: 'alias.set', model: 'churn', alias: 'production', from: null, to: 1, detail: { reason: evil } }],
      aliasHistoryTotal: 1,
      auditRows: [{ index: 0, entry: audit[0]!, signature: { verified: false, problem: evil } }],
      auditPage: 1,
      auditPages: 1,
      compare: [1],
      deployments: [],
      webUiLink: () => undefined,
    });
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain("' onmouseover='x'");
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)');
    expect(page).toContain('not verified');
    // The only script is the console's own file.
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page).toContain('<script src="/static/console.js" defer></script>');
  });

  it('the approvals page escapes gate data and carries what the browser signs as data attributes', () => {
    const page = approvalsPage({ namespace: 'default', csrf: 't' }, [
      {
        workflowId: `wf-${evil}`,
        gate: { model: 'churn', version: 2, metrics: { auc: 0.9 }, reports: {}, approvers: [evil], required: 1, votes: [], refused: [{ identity: evil, reason: evil, at: '2026-01-01T00:00:00Z' }], status: 'Pending', deadline: '2026-01-02T00:00:00Z', onTimeout: 'reject', signed: true, workflowId: 'wf', runId: 'run-1' },
      },
    ]);
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('data-run-id="run-1"');
    expect(page).toContain('data-signed="true"');
    expect(page).toContain('no champion');
  });

  it('the sign-in page shows no navigation and no CSRF token', () => {
    const page = signInPage({ namespace: 'default' }, 'Wrong token.');
    expect(page).not.toContain('<nav>');
    expect(page).not.toContain('csrf-token');
    expect(page).toContain('id="signin-error"');
  });

  it('charts escape their labels and draw a bar per version', () => {
    const svg = metricComparisonSvg(evil, [{ version: 1, value: 0.8693 }, { version: 2, value: 0.8694 }, { version: 3, value: undefined }], true);
    expect(svg).not.toContain('<script>');
    expect(svg.match(/class="bar"/g)).toHaveLength(2);
    // Close values: the axis starts below the smallest, so the difference is visible.
    expect(svg).toContain('axis from');
    const t = timelineSvg([{ name: evil, points: [{ at: '2026-01-01T00:00:00Z', value: 0.1 }, { at: '2026-01-02T00:00:00Z', value: 0.3 }], threshold: 0.2 }], { title: 'drift' });
    expect(t).not.toContain('<script>');
    expect(t.match(/<circle/g)).toHaveLength(2);
    expect(t).toContain('class="threshold"');
  });
});
