/**
 * The console's pages: server-rendered HTML from `html` templates (every value escaped), one
 * stylesheet and one script, both served by the console (CSP: nothing inline, nothing elsewhere).
 */
import type { RunStatus } from '../client/run-status';
import type { AuditEntry, ModelVersion } from '../registry/model-registry';
import type { PolicyRecord } from '../registry/trust-records';
import type { PendingGate } from '../../workflows/approval-definitions';
import type { DeploymentResult } from '../../workflows/deployment';
import type { MonitorCheckResult } from '../../workflows/monitor';
import { fmt, lowerIsBetter, metricComparisonSvg, timelineSvg } from './charts';
import { html, path, query, raw, type SafeHtml } from './html';
import { renderLineageSvg, type LineageGraph, type MonitorCheckSummary } from './lineage';
import type { AuditRow, OtherRun, RunRow } from './console-data';

export interface PageContext {
  /** Absent on the sign-in page. */
  csrf?: string;
  webUiUrl?: string;
  namespace: string;
}

const time = (iso: string | undefined) => (iso ? html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}</time>` : '—');

export function layout(ctx: PageContext, title: string, body: SafeHtml, opts: { active?: string } = {}): string {
  const link = (href: string, label: string, key: string) => html`<a href="${href}"${opts.active === key ? raw(' class="active" aria-current="page"') : ''}>${label}</a>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · mlcycle</title><link rel="stylesheet" href="/static/console.css"><script src="/static/console.js" defer></script>
${ctx.csrf ? html`<meta name="csrf-token" content="${ctx.csrf}">` : ''}</head>
<body><header class="top"><a class="brand" href="/">mlcycle</a>
${ctx.csrf ? html`<nav>${link('/models', 'Models', 'models')}${link('/runs', 'Runs', 'runs')}${link('/monitors', 'Monitors', 'monitors')}${link('/approvals', 'Approvals', 'approvals')}${ctx.webUiUrl ? html`<a href="${ctx.webUiUrl}" rel="noopener">Temporal UI ↗</a>` : ''}</nav>
<form method="post" action="/sign-out" class="signout"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button type="submit">Sign out</button></form>` : ''}
</header><main>${body}</main></body></html>`.markup;
}

export function signInPage(ctx: PageContext, message?: string): string {
  return layout(
    ctx,
    'Sign in',
    html`<section class="signin"><h1>Sign in to the mlcycle console</h1>
<p>Paste the console token (<code>--token-file</code> of <code>mlcycle ui</code>, <code>MLCYCLE_CONSOLE_TOKEN</code>, or <code>console-token</code> in the state folder of <code>mlcycle dev</code>).</p>
${message ? html`<p class="error" id="signin-error" role="alert">${message}</p>` : ''}
<form method="post" action="/sign-in"><label>Token <input type="password" name="token" id="token" autocomplete="current-password" required autofocus></label>
<button type="submit" id="sign-in">Sign in</button></form></section>`,
  );
}

export function errorPage(ctx: PageContext, status: number, message: string): string {
  return layout(ctx, `Error ${status}`, html`<h1>${status === 404 ? 'Not found' : 'Something went wrong'}</h1><p class="error" role="alert">${message}</p><p><a href="/models">Back to the models</a></p>`);
}

const verdictBadge = (v: string | undefined) => (v ? html`<span class="badge verdict-${v.replace(/[^a-z_]/g, '')}">${v.replace('_', ' ')}</span>` : html`<span class="muted">—</span>`);

export function modelsPage(
  ctx: PageContext,
  models: Array<{ name: string; latestVersion: number; aliases: Record<string, number>; latest?: ModelVersion; verdict?: { verdict: string; at: string; workflowId: string }; awaiting?: number[] }>,
): string {
  const rows = models.map((m) => {
    const metrics = m.latest ? Object.entries(m.latest.metrics).slice(0, 3).map(([k, v]) => `${k} ${fmt(v)}`).join(', ') : '';
    return html`<tr data-model="${m.name}"><td><a href="${path('models', m.name)}">${m.name}</a></td>
<td><a href="${path('models', m.name, 'versions', m.latestVersion)}">v${m.latestVersion}</a> ${m.latest ? html`<span class="muted">${m.latest.lineage.trainer}</span>` : ''}</td>
<td>${metrics}</td>
<td class="production">${m.aliases.production !== undefined ? html`<a href="${path('models', m.name, 'versions', m.aliases.production)}">v${m.aliases.production}</a>` : html`<span class="muted">none</span>`}</td>
<td>${Object.entries(m.aliases).filter(([a]) => a !== 'production').map(([a, v]) => html`<span class="alias">${a}→v${v}</span> `)}</td>
<td>${verdictBadge(m.verdict?.verdict)} ${m.verdict ? html`<span class="muted">${time(m.verdict.at)}</span>` : ''}</td>
<td class="awaiting">${m.awaiting?.length ? html`<a href="/approvals" class="badge warn">${m.awaiting.map((v) => `v${v}`).join(', ')} awaiting approval</a>` : ''}</td>
<td>${time(m.latest?.createdAt)}</td></tr>`;
  });
  return layout(
    ctx,
    'Models',
    html`<h1>Models</h1>${models.length ? html`<table class="grid" id="models"><thead><tr><th>Model</th><th>Latest version</th><th>Latest metrics</th><th>production</th><th>Other aliases</th><th>Last drift verdict</th><th>Approvals</th><th>Updated</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="empty">No models registered yet. Run a pipeline: <code>mlcycle run spec.yaml</code>.</p>`}`,
    { active: 'models' },
  );
}

export interface ModelPageInput {
  name: string;
  versions: ModelVersion[];
  aliases: Record<string, number>;
  /** Entries in the whole audit log; only the page's rows are read. */
  auditTotal: number;
  auditRows: AuditRow[];
  /** The newest alias moves and canaries, chronological, and how many there are in all. */
  aliasHistory: AuditEntry[];
  aliasHistoryTotal: number;
  auditPage: number;
  auditPages: number;
  compare: number[];
  policy?: PolicyRecord;
  deployments: Array<RunRow & { result?: DeploymentResult }>;
  webUiLink: (workflowId: string) => string | undefined;
}

function paramsText(p: Record<string, unknown>): string {
  const s = Object.entries(p).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ');
  return s.length > 120 ? `${s.slice(0, 119)}…` : s;
}

export function auditDetail(e: AuditEntry): string {
  const d = e.detail ?? {};
  const parts: string[] = [];
  if (e.alias) parts.push(`${e.alias}: ${e.from ?? '∅'} → ${e.to ?? '∅'}`);
  for (const k of ['reason', 'comment', 'percent', 'via', 'check'] as const) if (d[k] !== undefined) parts.push(`${k}: ${String(d[k])}`);
  return parts.join(' · ');
}

export function modelPage(ctx: PageContext, m: ModelPageInput): string {
  const metricNames = [...new Set(m.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  const held = (version: number) => Object.entries(m.aliases).filter(([, v]) => v === version).map(([a]) => a);
  const newestFirst = [...m.versions].reverse();
  const compareSet = new Set(m.compare);
  const versionRows = newestFirst.map(
    (v) => html`<tr data-version="${v.version}">
<td><input type="checkbox" name="compare" value="${v.version}" form="compare-form" aria-label="compare v${v.version}"${compareSet.has(v.version) ? raw(' checked') : ''}></td>
<td><a href="${path('models', m.name, 'versions', v.version)}">v${v.version}</a> ${held(v.version).map((a) => html`<span class="alias">${a}</span> `)}</td>
${metricNames.map((k) => html`<td class="num metric" data-metric="${k}">${fmt(v.metrics[k])}</td>`)}
<td>${v.lineage.task ?? '—'}</td><td>${v.lineage.trainer}</td><td class="params" title="${JSON.stringify(v.lineage.params)}">${paramsText(v.lineage.params)}</td>
<td><code title="${v.lineage.datasetSha256}">${v.lineage.datasetSha256.slice(0, 12)}</code></td><td>${time(v.createdAt)}</td>
<td><a href="${path('runs', v.lineage.workflowId)}">${v.lineage.workflowId}</a></td></tr>`,
  );
  const chosen = m.versions.filter((v) => compareSet.has(v.version));
  const charts = metricNames.map((k) => raw(metricComparisonSvg(k, chosen.map((v) => ({ version: v.version, value: v.metrics[k] })), !lowerIsBetter(k))));
  const { aliasHistory } = m;
  const deployRows = m.deployments.map((d) => {
    const r = d.result;
    const readings = r?.readings ?? [];
    return html`<tr><td>${time(d.startTime)}</td><td><a href="${path('runs', d.workflowId)}">${d.workflowId}</a></td><td>${d.status.toLowerCase()}</td>
<td>${r ? html`${r.strategy} → ${r.outcome === 'promoted' ? html`<span class="badge ok">promoted</span>` : html`<span class="badge bad">rolled back</span>`} v${r.serving ?? '—'}` : '—'}</td>
<td>${r?.reason ?? ''}</td>
<td>${readings.length ? html`<details><summary>${readings.length} reading(s)</summary><table class="grid small"><tr><th>version</th><th>requests</th><th>error rate</th><th>p99 ms</th><th>judged</th><th>breach</th></tr>${readings.map((g) => html`<tr><td>v${g.version}</td><td class="num">${g.requests}</td><td class="num">${fmt(g.errorRate)}</td><td class="num">${g.p99Ms === null ? '—' : fmt(g.p99Ms)}</td><td>${g.judged ? 'yes' : 'no'}</td><td>${g.breached ? html`<span class="badge bad">${g.reason ?? 'yes'}</span>` : 'no'}</td></tr>`)}</table></details>` : html`<span class="muted">none</span>`}</td></tr>`;
  });
  const auditRows = m.auditRows.map(({ entry: e, signature }) => html`<tr class="audit-entry" data-action="${e.action}" data-actor="${e.actor}">
<td>${time(e.at)}</td><td>${e.action}</td><td>${e.actor}</td><td>${e.version !== undefined ? `v${e.version}` : e.to != null ? `v${e.to}` : ''}</td><td>${auditDetail(e)}</td>
<td class="signature">${signature ? (signature.verified ? html`<span class="badge ok sig-verified">verified</span>` : html`<span class="badge bad sig-unverified" title="${signature.problem}">not verified</span> <span class="muted">${signature.problem}</span>`) : html`<span class="muted">—</span>`}</td></tr>`);
  const pager = m.auditPages > 1
    ? html`<nav class="pager">${Array.from({ length: m.auditPages }, (_, i) => i + 1).map((p) => (p === m.auditPage ? html`<b>${p}</b> ` : html`<a href="${query(path('models', m.name), { audit: p, compare: m.compare.join(',') })}#audit">${p}</a> `))}</nav>`
    : '';
  return layout(
    ctx,
    m.name,
    html`<h1>${m.name}</h1>
<p class="summary">${m.versions.length} version(s) · aliases: ${Object.entries(m.aliases).map(([a, v]) => html`<span class="alias">${a}→v${v}</span> `)}${Object.keys(m.aliases).length ? '' : 'none'}
${m.policy ? html` · policy (${m.policy.scope === '_default' ? 'default' : m.policy.scope}): protects ${m.policy.policy.protect.join(', ')}, ${m.policy.policy.required} of ${m.policy.policy.approvers.join(', ')}` : ''}
· <a href="${path('monitors', m.name)}">monitor</a></p>
<section><h2>Versions</h2><form id="compare-form" method="get" action="${path('models', m.name)}"><button type="submit">Compare selected</button> <span class="muted">pick versions to chart their metrics side by side</span></form>
<div class="scroll"><table class="grid" id="versions"><thead><tr><th></th><th>Version</th>${metricNames.map((k) => html`<th class="num">${k}</th>`)}<th>Task</th><th>Trainer</th><th>Params</th><th>Dataset</th><th>Created</th><th>Run</th></tr></thead><tbody>${versionRows}</tbody></table></div></section>
<section id="compare"><h2>Metric comparison ${chosen.length ? html`<span class="muted">(${chosen.map((v) => `v${v.version}`).join(', ')})</span>` : ''}</h2><div class="charts">${chosen.length ? charts : html`<p class="empty">Select versions above.</p>`}</div></section>
<section id="alias-history"><h2>Alias history${m.aliasHistoryTotal > aliasHistory.length ? html` <span class="muted">(the newest ${aliasHistory.length} of ${m.aliasHistoryTotal}; all are in the audit log)</span>` : ''}</h2>${aliasHistory.length ? html`<table class="grid"><thead><tr><th>When</th><th>What</th><th>Alias</th><th>From → to</th><th>By</th><th>Why</th></tr></thead><tbody>${aliasHistory.map((e) => html`<tr data-action="${e.action}"><td>${time(e.at)}</td><td>${e.action === 'alias.set' ? 'promotion' : e.action === 'alias.rollback' ? 'rollback' : e.action === 'canary-start' ? `canary ${String(e.detail?.percent ?? '')}%` : 'canary rolled back'}</td><td>${e.alias ?? ''}</td><td>${e.action.startsWith('alias.') ? `${e.from != null ? `v${e.from}` : '∅'} → ${e.to != null ? `v${e.to}` : '∅'}` : `v${e.version ?? '?'} vs stable v${String(e.detail?.stable ?? e.detail?.restored ?? '?')}`}</td><td>${e.actor}</td><td>${String(e.detail?.reason ?? '')}</td></tr>`)}</tbody></table>` : html`<p class="empty">No alias has moved yet.</p>`}
<h3>Deployments and canary guardrail readings</h3>${m.deployments.length ? html`<table class="grid" id="deployments"><thead><tr><th>Started</th><th>Workflow</th><th>Status</th><th>Outcome</th><th>Reason</th><th>Guardrails</th></tr></thead><tbody>${deployRows}</tbody></table>` : html`<p class="empty">No deployment workflows.</p>`}</section>
<section id="audit"><h2>Audit log <span class="muted">(${m.auditTotal} entries, newest first; decisions re-verified against the approver directory)</span></h2>
<table class="grid" id="audit-log"><thead><tr><th>When</th><th>Action</th><th>Actor</th><th>Version</th><th>Detail</th><th>Signature</th></tr></thead><tbody>${auditRows}</tbody></table>${pager}</section>`,
    { active: 'models' },
  );
}

export interface VersionPageInput {
  v: ModelVersion;
  aliases: string[];
  graph: LineageGraph;
  reports: Array<{ id: string; title: string; uri: string }>;
  previous?: ModelVersion;
}

export function versionPage(ctx: PageContext, p: VersionPageInput): string {
  const { v } = p;
  const l = v.lineage;
  const prev = p.previous;
  return layout(
    ctx,
    `${v.name} v${v.version}`,
    html`<h1><a href="${path('models', v.name)}">${v.name}</a> v${v.version} ${p.aliases.map((a) => html`<span class="alias">${a}</span> `)}</h1>
<div class="cols"><section><h2>Metrics</h2><table class="grid" id="metrics"><thead><tr><th>Metric</th><th class="num">v${v.version}</th>${prev ? html`<th class="num">v${prev.version}</th><th class="num">Δ</th>` : ''}</tr></thead><tbody>
${Object.entries(v.metrics).map(([k, x]) => html`<tr><td>${k}</td><td class="num">${fmt(x)}</td>${prev ? html`<td class="num">${fmt(prev.metrics[k])}</td><td class="num">${prev.metrics[k] !== undefined ? fmt(x - (prev.metrics[k])) : '—'}</td>` : ''}</tr>`)}</tbody></table></section>
<section><h2>Facts</h2><dl class="facts"><dt>Created</dt><dd>${time(v.createdAt)}</dd><dt>Task</dt><dd>${l.task ?? '—'}</dd><dt>Trainer</dt><dd>${l.trainer}</dd><dt>Params</dt><dd><code>${JSON.stringify(l.params)}</code></dd>
<dt>Dataset</dt><dd><code>${l.datasetSha256}</code></dd><dt>Code</dt><dd><code>${l.codeVersion}</code></dd><dt>Run</dt><dd><a href="${path('runs', l.workflowId)}">${l.workflowId}</a></dd>
${l.split ? html`<dt>Rows</dt><dd>train ${l.split.train} · validation ${l.split.validation} · test ${l.split.test}${l.split.droppedMissingTarget ? ` · ${l.split.droppedMissingTarget} without target` : ''}</dd>` : ''}
<dt>Model</dt><dd><code>${v.modelUri}</code></dd></dl></section></div>
<section id="lineage"><h2>Lineage</h2><div class="scroll">${raw(renderLineageSvg(p.graph))}</div></section>
${p.reports.map((r) => html`<section class="report" id="report-${r.id}"><h2>${r.title} <a class="muted" href="${query('/artifact', { uri: r.uri })}" target="_blank" rel="noopener">open ↗</a></h2>
<iframe class="report-frame" title="${r.title}" sandbox="" referrerpolicy="no-referrer" loading="lazy" src="${query('/artifact', { uri: r.uri })}"></iframe></section>`)}`,
    { active: 'models' },
  );
}

export function runsPage(ctx: PageContext, runs: RunRow[], webUiLink: (id: string) => string | undefined): string {
  return layout(
    ctx,
    'Runs',
    html`<h1>Runs <span class="muted">(latest ${runs.length})</span></h1>${runs.length ? html`<table class="grid" id="runs"><thead><tr><th>Workflow</th><th>Kind</th><th>Model</th><th>Stage</th><th>Status</th><th>Started</th><th>Closed</th><th></th></tr></thead><tbody>
${runs.map((r) => {
  const link = webUiLink(r.workflowId);
  return html`<tr><td><a href="${path('runs', r.workflowId)}">${r.workflowId}</a></td><td>${r.kind ?? r.type}</td><td>${r.model ? html`<a href="${path('models', r.model)}">${r.model}</a>` : ''}</td><td>${r.stage ?? ''}</td><td><span class="badge status-${r.status.toLowerCase()}">${r.status.toLowerCase()}</span></td><td>${time(r.startTime)}</td><td>${time(r.closeTime)}</td><td>${link ? html`<a href="${link}" rel="noopener">history ↗</a>` : ''}</td></tr>`;
})}</tbody></table>` : html`<p class="empty">No runs yet.</p>`}`,
    { active: 'runs' },
  );
}

export function runPage(ctx: PageContext, s: RunStatus): string {
  return layout(
    ctx,
    s.workflowId,
    html`<h1>Run ${s.workflowId}</h1><p><span class="badge status-${s.status}" id="run-status">${s.status.replace('_', ' ')}</span> stage <b>${s.stage}</b>
${s.model ? html` · model <a href="${path('models', s.model.name, 'versions', s.model.version)}">${s.model.name} v${s.model.version}</a>` : ''}
${s.webUiUrl ? html` · <a href="${s.webUiUrl}" rel="noopener">raw history in the Temporal Web UI ↗</a>` : ''}
${s.status === 'awaiting_approval' ? html` · <a href="/approvals">review in the approvals inbox</a>` : ''}</p>
${s.error ? html`<p class="error" role="alert">${s.error}</p>` : ''}
<table class="grid" id="steps"><thead><tr><th>Step</th><th>State</th><th>Attempts</th><th>Cached</th><th>Progress</th><th>Summary</th></tr></thead><tbody>
${s.steps.map((st) => html`<tr data-step="${st.name}"><td>${st.name}</td><td><span class="badge step-${st.state}">${st.state}</span></td><td class="num">${st.attempts}</td><td>${st.cached ? 'yes' : ''}</td><td>${st.progress ? `${st.progress.done}/${st.progress.total}` : ''}${st.resumedFrom ? ` (resumed from ${st.resumedFrom})` : ''}</td><td>${st.summary ?? ''}</td></tr>`)}</tbody></table>
${s.artifacts ? html`<h2>Artifacts</h2><ul class="artifacts">${Object.entries(s.artifacts).map(([k, uri]) => html`<li>${k}: ${/Report$/.test(k) ? html`<a href="${query('/artifact', { uri })}" target="_blank" rel="noopener">${uri}</a>` : html`<code>${uri}</code>`}</li>`)}</ul>` : ''}`,
    { active: 'runs' },
  );
}

/** A workflow that is not a pipeline: its state and result (a monitor check's verdict, a deployment's readings, a study's best). */
export function otherRunPage(ctx: PageContext, r: OtherRun): string {
  const result = r.result as Record<string, unknown> | undefined;
  const reportUris = result ? Object.entries(result).filter(([k, v]) => typeof v === 'string' && /htmlUri$/.test(k)).map(([, v]) => v as string) : [];
  const leaderboard = (result?.leaderboard as { htmlUri?: string } | undefined)?.htmlUri;
  if (leaderboard) reportUris.push(leaderboard);
  let json = result === undefined ? '' : JSON.stringify(result, null, 2);
  if (json.length > 20_000) json = `${json.slice(0, 20_000)}\n… (${json.length - 20_000} more characters; see the Temporal Web UI)`;
  return layout(
    ctx,
    r.workflowId,
    html`<h1>${r.kind ?? r.type} ${r.workflowId}</h1>
<p><span class="badge status-${r.status.toLowerCase()}" id="run-status">${r.status.toLowerCase()}</span> ${r.type}${r.model ? html` · model <a href="${path('models', r.model)}">${r.model}</a>` : ''}${r.stage ? html` · ${r.stage}` : ''} · started ${time(r.startTime)}${r.closeTime ? html` · closed ${time(r.closeTime)}` : ''}
${r.webUiUrl ? html` · <a href="${r.webUiUrl}" rel="noopener">raw history in the Temporal Web UI ↗</a>` : ''}</p>
${r.error ? html`<p class="error" role="alert">${r.error}</p>` : ''}
${reportUris.map((uri) => html`<p><a href="${query('/artifact', { uri })}" target="_blank" rel="noopener">report ↗</a></p><iframe class="report-frame" title="report" sandbox="" referrerpolicy="no-referrer" src="${query('/artifact', { uri })}"></iframe>`)}
${json ? html`<h2>Result</h2><pre class="result" id="run-result">${json}</pre>` : ''}`,
    { active: 'runs' },
  );
}

export function monitorsPage(ctx: PageContext, monitors: Array<{ model: string; paused: boolean; note?: string; next?: string }>): string {
  return layout(
    ctx,
    'Monitors',
    html`<h1>Monitors</h1>${monitors.length ? html`<table class="grid" id="monitors"><thead><tr><th>Model</th><th>State</th><th>Next check</th><th>Note</th></tr></thead><tbody>${monitors.map((m) => html`<tr><td><a href="${path('monitors', m.model)}">${m.model}</a></td><td>${m.paused ? html`<span class="badge warn">paused</span>` : html`<span class="badge ok">active</span>`}</td><td>${time(m.next)}</td><td>${m.note ?? ''}</td></tr>`)}</tbody></table>` : html`<p class="empty">No monitors. Start one with <code>mlcycle monitor start &lt;model&gt; --spec &lt;file&gt;</code>.</p>`}`,
    { active: 'monitors' },
  );
}

export interface MonitorPageInput {
  model: string;
  schedule?: { paused: boolean; note?: string; nextChecks: string[]; scheduleId: string };
  checks: Array<MonitorCheckSummary & { result?: MonitorCheckResult }>;
  reports: Array<{ features?: Array<{ feature: string; value: number | null; threshold: number; drifted: boolean; method: string }> } | undefined>;
  message?: string;
}

export function monitorPage(ctx: PageContext, p: MonitorPageInput): string {
  const chron = p.checks.map((c, i) => ({ c, r: p.reports[i] })).reverse();
  const features = [...new Set(chron.flatMap(({ r }) => (r?.features ?? []).map((f) => f.feature)))].sort();
  const series = features.map((name) => {
    const points = chron.filter(({ r }) => r?.features).map(({ c, r }) => {
      const f = r?.features?.find((x) => x.feature === name);
      return { at: c.at ?? '', value: f?.value ?? null, ...(f ? { flagged: f.drifted } : {}) };
    });
    // PSI and JS compare the value with the threshold; KS and chi² compare a p-value, so no line.
    const latest = chron.map(({ r }) => r?.features?.find((f) => f.feature === name)).filter((f) => f !== undefined).at(-1);
    const threshold = latest && (latest.method === 'psi' || latest.method === 'js') ? latest.threshold : undefined;
    return { name, points, ...(threshold !== undefined ? { threshold } : {}) };
  });
  const button = (action: string, label: string) => html`<form method="post" action="${path('monitors', p.model, action)}" class="inline"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button type="submit" id="monitor-${action}">${label}</button></form>`;
  return layout(
    ctx,
    `Monitor ${p.model}`,
    html`<h1>Monitor: <a href="${path('models', p.model)}">${p.model}</a></h1>
${p.message ? html`<p class="notice" role="status" id="monitor-message">${p.message}</p>` : ''}
${p.schedule ? html`<p>${p.schedule.paused ? html`<span class="badge warn" id="monitor-state">paused</span>` : html`<span class="badge ok" id="monitor-state">active</span>`} ${p.schedule.note ? html`<span class="muted">${p.schedule.note}</span>` : ''} · next check ${time(p.schedule.nextChecks[0])} · schedule <code>${p.schedule.scheduleId}</code></p>
<p class="actions">${p.schedule.paused ? button('resume', 'Resume') : button('pause', 'Pause')} ${button('trigger', 'Run a check now')}</p>` : html`<p class="empty">No monitor schedule for ${p.model}. Start one with <code>mlcycle monitor start ${p.model} --spec &lt;file&gt;</code>.</p>`}
<section><h2>Verdict timeline</h2><ol class="timeline" id="verdicts">${chron.map(({ c }) => html`<li class="verdict-${c.verdict.replace(/[^a-z_]/g, '')}" title="${c.verdict}"><a href="${path('runs', c.workflowId)}">${verdictBadge(c.verdict)}</a><span class="muted">${time(c.at)}${c.version ? ` · v${c.version}` : ''}${c.drifted.length ? ` · ${c.drifted.join(', ')}` : ''}${c.retrainWorkflowId ? ' · retrain started' : ''}</span></li>`)}</ol>${chron.length ? '' : html`<p class="empty">No checks yet.</p>`}</section>
<section><h2>Per-feature drift over time</h2>${raw(timelineSvg(series, { title: 'drift statistic per feature (dashed: PSI/JS threshold; filled: drifted)' }))}</section>
${features.length ? html`<section><h2>Latest check</h2><table class="grid"><thead><tr><th>Feature</th><th>Method</th><th class="num">Value</th><th class="num">Threshold</th><th>Drifted</th></tr></thead><tbody>${(p.reports[0]?.features ?? []).map((f) => html`<tr><td>${f.feature}</td><td>${f.method}</td><td class="num">${fmt(f.value)}</td><td class="num">${fmt(f.threshold)}</td><td>${f.drifted ? html`<span class="badge bad">drift</span>` : 'no'}</td></tr>`)}</tbody></table>
${p.checks[0]?.htmlUri ? html`<iframe class="report-frame" title="drift report" sandbox="" referrerpolicy="no-referrer" src="${query('/artifact', { uri: p.checks[0].htmlUri })}"></iframe>` : ''}</section>` : ''}`,
    { active: 'monitors' },
  );
}

export interface ApprovalItem {
  workflowId: string;
  gate?: PendingGate;
  error?: string;
  champion?: ModelVersion;
}

export function approvalsPage(ctx: PageContext, items: ApprovalItem[]): string {
  const card = (it: ApprovalItem) => {
    const g = it.gate;
    if (!g) return html`<article class="gate" data-workflow-id="${it.workflowId}"><h2>${it.workflowId}</h2><p class="error">${it.error ?? 'gate unreadable'}</p></article>`;
    const approvals = g.votes.filter((v) => v.decision === 'approve').length;
    const metricNames = [...new Set([...Object.keys(g.metrics), ...Object.keys(it.champion?.metrics ?? {})])].sort();
    const evaluation = g.reports.evaluation;
    return html`<article class="gate" data-workflow-id="${it.workflowId}" data-run-id="${g.runId ?? ''}" data-model="${g.model}" data-version="${g.version}" data-signed="${g.signed ? 'true' : 'false'}">
<h2><a href="${path('models', g.model, 'versions', g.version)}">${g.model} v${g.version}</a> <span class="muted">run <a href="${path('runs', it.workflowId)}">${it.workflowId}</a></span></h2>
<p>${approvals}/${g.required} approvals · approvers: ${g.approvers.join(', ')} · deadline ${time(g.deadline)} (then ${g.onTimeout})${g.policy ? ` · policy ${g.policy}` : ''}</p>
${it.error ? html`<p class="error">${it.error}</p>` : ''}
${g.votes.length ? html`<ul class="votes">${g.votes.map((v) => html`<li>${v.identity}: ${v.decision}${v.comment ? ` — ${v.comment}` : ''}${v.reason ? ` — ${v.reason}` : ''}</li>`)}</ul>` : ''}
${g.refused.length ? html`<details><summary>${g.refused.length} refused vote(s)</summary><ul>${g.refused.slice(-10).map((r) => html`<li>${r.identity}: ${r.reason}</li>`)}</ul></details>` : ''}
<div class="side-by-side"><section><h3>Candidate vs champion</h3><table class="grid champion"><thead><tr><th>Metric</th><th class="num">candidate v${g.version}</th><th class="num">${it.champion ? `production v${it.champion.version}` : 'no champion'}</th><th class="num">Δ</th></tr></thead><tbody>
${metricNames.map((k) => {
  const a = g.metrics[k];
  const b = it.champion?.metrics[k];
  const d = a !== undefined && b !== undefined ? a - b : undefined;
  const better = d === undefined || d === 0 ? '' : (d > 0) !== lowerIsBetter(k) ? 'better' : 'worse';
  return html`<tr><td>${k}</td><td class="num">${fmt(a)}</td><td class="num">${fmt(b)}</td><td class="num ${better}">${d === undefined ? '—' : `${d > 0 ? '+' : ''}${fmt(d)}`}</td></tr>`;
})}</tbody></table>
<form class="decision" data-workflow-id="${it.workflowId}" autocomplete="off">
<h3>Your decision <span class="muted">(signed in this browser with your Ed25519 key; the key never leaves it)</span></h3>
<label>Approver <select name="approver" required>${g.approvers.map((a) => html`<option value="${a}">${a}</option>`)}</select></label>
<label>Key file <input type="file" name="keyfile" accept=".key,.pem,text/plain"></label>
<label class="check"><input type="checkbox" name="remember"> keep as a non-extractable key in this browser</label>
<p class="muted stored-key" hidden></p>
<label>Comment / reason <textarea name="text" rows="2" maxlength="10000"></textarea></label>
<p><button type="button" class="approve" data-decision="approve">Approve</button> <button type="button" class="reject" data-decision="reject">Reject</button></p>
<p class="decision-result" role="status" aria-live="polite"></p></form></section>
${evaluation ? html`<section><h3>Evaluation report</h3><iframe class="report-frame tall" title="evaluation report" sandbox="" referrerpolicy="no-referrer" src="${query('/artifact', { uri: evaluation })}"></iframe></section>` : ''}</div></article>`;
  };
  return layout(
    ctx,
    'Approvals',
    html`<h1>Approvals inbox</h1>${items.length ? items.map(card) : html`<p class="empty" id="no-approvals">No approvals pending.</p>`}`,
    { active: 'approvals' },
  );
}
