/**
 * The lineage of one model version as a graph: source → dataset version → validation →
 * (study → trial) → training run → model version → deployments → monitor checks → the retrain
 * that replaced it. Built from registry records, the dataset manifest, audit entries and monitor
 * check results by a pure function (unit-tested without services), drawn as server-side SVG
 * (no script, so the console's CSP holds).
 */
import type { AuditEntry, ModelVersion } from '../registry/model-registry';
import { escapeText, path } from './html';

export type LineageKind = 'source' | 'dataset' | 'validation' | 'study' | 'trial' | 'training-run' | 'model-version' | 'deployment' | 'monitor-check' | 'retrain' | 'replaced-by';

export interface LineageNode {
  id: string;
  kind: LineageKind;
  label: string;
  detail?: string;
  href?: string;
  /** Column of the drawing: how far down the lifecycle the node sits. */
  rank: number;
}

export interface LineageGraph {
  nodes: LineageNode[];
  edges: Array<{ from: string; to: string }>;
}

export interface MonitorCheckSummary {
  workflowId: string;
  at?: string;
  verdict: string;
  version?: number;
  drifted: string[];
  htmlUri?: string;
  retrainWorkflowId?: string;
}

export interface LineageInput {
  version: ModelVersion;
  /** All versions of the model (to find the one that replaced this version). */
  versions: ModelVersion[];
  /** The model's audit log (alias moves, canaries). */
  audit: AuditEntry[];
  /** `source` of the dataset manifest, when it could be read. */
  source?: string;
  checks: MonitorCheckSummary[];
  /** Link to a run's page. */
  runHref?: (workflowId: string) => string;
}

const short = (s: string, n = 12) => (s.length > n ? `${s.slice(0, n)}…` : s);

const isRetrain = (v: ModelVersion) => /-retrain$/.test(v.lineage.workflowId);

export function buildLineage(input: LineageInput): LineageGraph {
  const { version: v } = input;
  const runHref = input.runHref ?? ((id: string) => path('runs', id));
  const nodes: LineageNode[] = [];
  const edges: Array<{ from: string; to: string }> = [];
  const add = (n: LineageNode, from: string[] = []) => {
    if (!nodes.some((x) => x.id === n.id)) nodes.push(n);
    for (const f of from) if (!edges.some((e) => e.from === f && e.to === n.id)) edges.push({ from: f, to: n.id });
    return n.id;
  };
  const l = v.lineage;
  const source = add({ id: 'source', kind: 'source', label: 'source', detail: short(input.source ?? l.datasetUri, 28), rank: 0 });
  const dataset = add({ id: `dataset:${l.datasetSha256}`, kind: 'dataset', label: `dataset ${l.datasetSha256.slice(0, 12)}`, detail: l.split ? `${l.split.train}/${l.split.validation}/${l.split.test} rows` : undefined, rank: 1 }, [source]);
  let upstream = dataset;
  if (v.reports.validation) upstream = add({ id: 'validation', kind: 'validation', label: 'validation', detail: 'report', href: '#report-validation', rank: 2 }, [dataset]);
  let trainFrom = [upstream];
  if (l.studyId) {
    const study = add({ id: `study:${l.studyId}`, kind: 'study', label: 'study', detail: short(l.studyId, 24), href: runHref(l.studyId), rank: 3 }, [upstream]);
    trainFrom = [add({ id: `trial:${l.trialId ?? '?'}`, kind: 'trial', label: `trial ${l.trialId ?? '?'}`, rank: 4 }, [study])];
  }
  const run = add({ id: `run:${l.workflowId}`, kind: 'training-run', label: 'training run', detail: short(l.workflowId, 24), href: runHref(l.workflowId), rank: 5 }, trainFrom);
  const model = add({ id: `version:${v.version}`, kind: 'model-version', label: `${v.name} v${v.version}`, detail: l.trainer, rank: 6 }, [run]);

  // Deployments: every alias move onto this version and every canary of it, in order.
  const deployments: string[] = [];
  input.audit.forEach((e, i) => {
    const onto = (e.action === 'alias.set' || e.action === 'alias.rollback') && e.to === v.version;
    const canary = (e.action === 'canary-start' || e.action === 'canary-rollback') && e.version === v.version;
    if (!onto && !canary) return;
    const label = onto ? `${e.action === 'alias.rollback' ? 'rollback to' : 'deploy'} ${e.alias ?? ''}` : e.action === 'canary-start' ? `canary ${e.alias ?? ''}` : `canary rolled back`;
    deployments.push(add({ id: `deploy:${i}`, kind: 'deployment', label, detail: e.at.slice(0, 16).replace('T', ' '), rank: 7 }, [model]));
  });
  const checks = input.checks.filter((c) => c.version === v.version);
  const checkIds = checks.map((c) =>
    add({ id: `check:${c.workflowId}`, kind: 'monitor-check', label: `check: ${c.verdict}`, detail: c.at ? c.at.slice(0, 16).replace('T', ' ') : short(c.workflowId, 24), href: runHref(c.workflowId), rank: 8 }, deployments.length ? [deployments[deployments.length - 1] as string] : [model]),
  );

  // The version that replaced this one in an alias it held, and the retrain that produced it.
  const replacedBy = new Set<number>();
  for (const e of input.audit) if (e.action === 'alias.set' && e.from === v.version && typeof e.to === 'number' && e.to !== v.version) replacedBy.add(e.to);
  for (const w of input.versions) if (w.version > v.version && w.lineage.parentVersion === v.version && isRetrain(w)) replacedBy.add(w.version);
  for (const n of [...replacedBy].sort((a, b) => a - b)) {
    const w = input.versions.find((x) => x.version === n);
    const before = checkIds.length ? checkIds : deployments.length ? deployments : [model];
    let from = before;
    if (w && isRetrain(w)) {
      const trigger = checks.find((c) => c.retrainWorkflowId === w.lineage.workflowId);
      from = [add({ id: `retrain:${w.lineage.workflowId}`, kind: 'retrain', label: 'retrain', detail: short(w.lineage.workflowId, 24), href: runHref(w.lineage.workflowId), rank: 9 }, trigger ? [`check:${trigger.workflowId}`] : before)];
    }
    add({ id: `replaced:${n}`, kind: 'replaced-by', label: `replaced by v${n}`, detail: w?.createdAt.slice(0, 16).replace('T', ' '), href: path('models', v.name, 'versions', n), rank: 10 }, from);
  }
  return { nodes, edges };
}

const W = 176;
const H = 46;
const GAP_X = 34;
const GAP_Y = 14;
const COLORS: Record<LineageKind, string> = {
  source: '#e8eef7', dataset: '#dbe7f6', validation: '#e3f1e3', study: '#f3e8f7', trial: '#f3e8f7', 'training-run': '#fdf1dc',
  'model-version': '#ffe2a8', deployment: '#dff3f1', 'monitor-check': '#f5e6e6', retrain: '#fdf1dc', 'replaced-by': '#eeeeee',
};

/** The graph in columns by rank; nodes carry `data-kind` and `data-id` so tests (and people) can find them. */
export function renderLineageSvg(g: LineageGraph): string {
  const ranks = [...new Set(g.nodes.map((n) => n.rank))].sort((a, b) => a - b);
  const pos = new Map<string, { x: number; y: number }>();
  let rows = 1;
  ranks.forEach((rank, col) => {
    const inCol = g.nodes.filter((n) => n.rank === rank);
    rows = Math.max(rows, inCol.length);
    inCol.forEach((n, row) => pos.set(n.id, { x: 8 + col * (W + GAP_X), y: 8 + row * (H + GAP_Y) }));
  });
  const width = 16 + ranks.length * (W + GAP_X) - GAP_X;
  const height = 16 + rows * (H + GAP_Y) - GAP_Y;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="lineage" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="lineage graph">`);
  parts.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#778"/></marker></defs>');
  for (const e of g.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const mx = (x1 + x2) / 2;
    parts.push(`<path class="edge" d="M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}" fill="none" stroke="#778" stroke-width="1.3" marker-end="url(#arrow)"/>`);
  }
  for (const n of g.nodes) {
    const p = pos.get(n.id)!;
    const body =
      `<rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="6" fill="${COLORS[n.kind]}" stroke="#8a93a6"/>` +
      `<text x="${p.x + 8}" y="${p.y + 18}" font-size="12" font-weight="600" fill="#1d2433">${escapeText(n.label)}</text>` +
      (n.detail ? `<text x="${p.x + 8}" y="${p.y + 35}" font-size="11" fill="#4a5264">${escapeText(n.detail)}</text>` : '');
    const title = `<title>${escapeText(`${n.kind}: ${n.label}${n.detail ? ` (${n.detail})` : ''}`)}</title>`;
    const g1 = `<g class="node" data-kind="${n.kind}" data-id="${escapeText(n.id)}">${title}${body}</g>`;
    parts.push(n.href ? `<a href="${escapeText(n.href)}">${g1}</a>` : g1);
  }
  parts.push('</svg>');
  return parts.join('');
}
