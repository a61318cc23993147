import type { ColumnRule, PipelineSpec } from '../spec/pipeline-spec';
import type { TypeErrorSummary } from './coerce';
import type { TaskType } from '../training/feature-matrix';
import { inferTask, taskProblem } from '../training/task';
import type { ColumnProfile, DatasetProfile, NumberColumnProfile, NumericStats, TextColumnProfile } from './profile';
import { psiFromCounts } from '../stats/psi';
import { binFractionsFromPercentiles, edgesFromPercentiles } from '../stats/quantile-bins';
import { html, joinHtml, type SafeHtml } from '../reports/html';
import { renderPage } from '../reports/page';

export type ValidationRule =
  /** The target fits the training task (src/training/target-task.ts). */
  | 'task'
  | 'min-rows'
  | 'required'
  | 'type'
  | 'min'
  | 'max'
  | 'integer'
  | 'allowed-values'
  | 'max-missing-fraction'
  | 'min-class-fraction'
  | 'psi'
  | 'extra-columns'
  | 'missing-target';

export interface ValidationCheck {
  column?: string;
  rule: ValidationRule;
  /** A failed `warning` is reported but does not fail the dataset. */
  level: 'error' | 'warning';
  passed: boolean;
  message: string;
  observed?: number | string;
  expected?: number | string;
}

export interface ValidationReport {
  /** No check of level `error` failed. */
  passed: boolean;
  rowCount: number;
  checks: ValidationCheck[];
  /** Columns in the data that the schema does not declare. */
  extraColumns: string[];
  /** Rows whose target is missing (or not of its type): left out of training and evaluation. */
  droppedMissingTarget: number;
}

/** The parts of a pipeline spec validation reads. */
export interface ValidationSpec {
  data: Pick<PipelineSpec['data'], 'schema' | 'target'> & Partial<Pick<PipelineSpec['data'], 'extraColumns'>>;
  validation: PipelineSpec['validation'];
  /** The trainer and task the data is validated for: a target it cannot train fails here. */
  train?: { trainer: string; task?: TaskType };
}

export interface ValidateOptions {
  /** Profile of `validation.reference`: numeric columns are compared with it by PSI. */
  reference?: DatasetProfile;
}

/** PSI threshold used (as a warning only) when a reference is given without `validation.maxPsi`. */
export const DEFAULT_PSI_WARNING = 0.2;

/**
 * Applies the spec's schema and validation rules to a dataset profile (see `scanDataset`) and the
 * type errors found while coercing it. Every applicable rule yields a check, passed or not.
 * Optional (`required: false`) columns may be absent and are exempt from `maxMissingFraction`.
 */
export function validateDataset(
  profile: DatasetProfile,
  typeErrors: TypeErrorSummary,
  spec: ValidationSpec,
  options: ValidateOptions = {},
): ValidationReport {
  const { schema } = spec.data;
  const v = spec.validation;
  const rows = profile.rowCount;
  const checks: ValidationCheck[] = [];
  const error = (c: Omit<ValidationCheck, 'level'>) => checks.push({ level: 'error', ...c });

  error({
    rule: 'min-rows',
    passed: rows >= v.minRows,
    message: rows >= v.minRows ? `${fmtInt(rows)} rows (min ${fmtInt(v.minRows)})` : `dataset has ${fmtInt(rows)} rows, fewer than minRows ${fmtInt(v.minRows)}`,
    observed: rows,
    expected: v.minRows,
  });

  // An empty dataset has nothing to check per column; min-rows reports it.
  for (const [column, rule] of rows === 0 ? [] : Object.entries(schema)) {
    const col = profile.columns[column];
    const label = `column "${column}"`;
    if (!col || col.type !== rule.type) {
      error({
        column,
        rule: 'type',
        passed: false,
        message: `${label}: the profile has no ${rule.type} column of this name (profile built with another schema?)`,
        expected: rule.type,
      });
      continue;
    }

    const absent = col.present === 0;
    if (rule.required) {
      error({
        column,
        rule: 'required',
        passed: !absent,
        message: absent ? `${label}: required column is missing from the data` : `${label}: present`,
      });
    }
    if (absent) continue;

    const te = typeErrors[column];
    const badTypes = te?.count ?? 0;
    error({
      column,
      rule: 'type',
      passed: badTypes === 0,
      message:
        badTypes === 0
          ? `${label}: all values are ${typeNoun(rule.type, true)}`
          : `${label}: ${fmtInt(badTypes)} ${badTypes === 1 ? 'value is' : 'values are'} not ${typeNoun(rule.type, badTypes !== 1)} (` +
            te!.examples.map((e) => `${JSON.stringify(e.value)} at row ${e.row}`).join(', ') +
            ')',
      observed: badTypes,
      expected: 0,
    });

    if (rule.type === 'number' && col.type === 'number') {
      if (rule.min !== undefined) checks.push(boundCheck(label, column, 'min', rule.min, col.belowMin, col.stats));
      if (rule.max !== undefined) checks.push(boundCheck(label, column, 'max', rule.max, col.aboveMax, col.stats));
      if (rule.integer) checks.push(integerCheck(label, column, col));
    }
    if (rule.type === 'category' && col.type !== 'number') checks.push(allowedValuesCheck(label, column, rule.values, col));

    if (rule.required) {
      // Unparseable values count as missing in the profile; they are reported by the type check.
      const missing = Math.max(0, col.missing - badTypes);
      const fraction = rows > 0 ? missing / rows : 0;
      const ok = fraction <= v.maxMissingFraction;
      error({
        column,
        rule: 'max-missing-fraction',
        passed: ok,
        message: ok
          ? `${label}: ${pct(fraction)} missing (max ${pct(v.maxMissingFraction)})`
          : `${label}: ${pct(fraction)} of values missing (${fmtInt(missing)} of ${fmtInt(rows)}), above maxMissingFraction ${pct(v.maxMissingFraction)}`,
        observed: round(fraction, 6),
        expected: v.maxMissingFraction,
      });
    }
  }

  if (v.minClassFraction !== undefined) checks.push(classBalanceCheck(profile, spec, v.minClassFraction));

  if (options.reference) {
    checks.push(...psiChecks(profile, options.reference, spec));
  } else if (v.reference !== undefined) {
    checks.push({
      rule: 'psi',
      level: 'warning',
      passed: false,
      message: `validation.reference is set but no reference profile was supplied; distribution drift was not checked`,
    });
  }

  const extras = profile.extraColumns;
  const failExtras = spec.data.extraColumns === 'fail';
  checks.push({
    rule: 'extra-columns',
    level: failExtras ? 'error' : 'warning',
    passed: extras.length === 0,
    message:
      extras.length === 0
        ? 'no columns outside the schema'
        : `${extras.length} ${extras.length === 1 ? 'column is' : 'columns are'} not in the schema and ${failExtras ? 'data.extraColumns is fail' : 'will be ignored'}: ${extras.map((c) => `"${c}"`).join(', ')}`,
    observed: extras.length,
  });

  // The target: rows without one are dropped from training and evaluation — counted, never silent.
  const target = spec.data.target;
  const targetCol = profile.columns[target];
  const droppedMissingTarget = targetCol ? targetCol.missing : rows;
  if (rows > 0) {
    const fraction = droppedMissingTarget / rows;
    const max = v.maxMissingTarget ?? 0;
    const ok = fraction <= max;
    checks.push({
      column: target,
      rule: 'missing-target',
      level: 'error',
      passed: ok,
      message: ok
        ? `target "${target}": ${fmtInt(droppedMissingTarget)} rows without a target (max ${pct(max)})`
        : `target "${target}": ${fmtInt(droppedMissingTarget)} of ${fmtInt(rows)} rows (${pct(fraction)}) have no target value, above validation.maxMissingTarget ${pct(max)}`,
      observed: droppedMissingTarget,
      expected: max,
    });
  }
  if (spec.train && rows > 0) checks.push(taskCheck(profile, spec, spec.train));

  return { passed: checks.every((c) => c.passed || c.level === 'warning'), rowCount: rows, checks, extraColumns: [...extras], droppedMissingTarget };
}

/** Can the chosen trainer train this target for the chosen task? (Table in training/task.ts.) */
function taskCheck(profile: DatasetProfile, spec: ValidationSpec, train: NonNullable<ValidationSpec['train']>): ValidationCheck {
  const target = spec.data.target;
  const rule = spec.data.schema[target];
  const col = profile.columns[target];
  const range = col?.type === 'number' && col.stats ? { min: col.stats.min, max: col.stats.max } : undefined;
  const task = train.task ?? inferTask(rule, range);
  let problem = taskProblem(target, rule, train.task, train.trainer, range);
  if (!problem && task === 'binary' && rule?.type === 'number' && col?.type === 'number' && col.stats) {
    const { min, max } = col.stats;
    if (![0, 1].includes(min) || ![0, 1].includes(max)) problem = `target "${target}": a binary number target holds 0 and 1 only, its values range from ${min} to ${max}`;
  }
  if (!problem && task !== 'regression' && rule && rule.type !== 'number' && col && col.type !== 'number') {
    const classes = col.top.length;
    if (classes < 2 && train.trainer !== 'command') problem = `target "${target}": only ${classes === 0 ? 'no' : 'one'} class in the data (${col.top.map((t) => JSON.stringify(t.value)).join(', ')}); a ${task} classifier needs at least two`;
  }
  return {
    column: target,
    rule: 'task',
    level: 'error',
    passed: problem === undefined,
    message: problem ?? `target "${target}": trainable as ${task} by ${train.trainer}`,
    ...(task ? { observed: task } : {}),
  };
}

function typeNoun(t: string, plural: boolean): string {
  switch (t) {
    case 'number':
      return plural ? 'numbers' : 'a number';
    case 'boolean':
      return `${plural ? 'booleans' : 'a boolean'} (true/false/1/0/yes/no)`;
    default:
      return 'text';
  }
}

function boundCheck(
  label: string,
  column: string,
  rule: 'min' | 'max',
  limit: number,
  violation: NumberColumnProfile['belowMin'],
  stats: NumericStats | null,
): ValidationCheck {
  const word = rule === 'min' ? 'below min' : 'above max';
  const extreme = stats ? (rule === 'min' ? stats.min : stats.max) : undefined;
  if (violation && violation.limit === limit) {
    const n = violation.count;
    return {
      column,
      rule,
      level: 'error',
      passed: n === 0,
      message:
        n === 0
          ? `${label}: no values ${word} ${limit}`
          : `${label}: ${fmtInt(n)} ${n === 1 ? 'value' : 'values'} ${word} ${limit} (first at row ${violation.firstRow}; ${rule === 'min' ? 'lowest' : 'highest'} ${extreme})`,
      observed: extreme,
      expected: limit,
    };
  }
  // The profile was built without this bound: only the extreme value can be judged.
  const bad = extreme !== undefined && (rule === 'min' ? extreme < limit : extreme > limit);
  return {
    column,
    rule,
    level: 'error',
    passed: !bad,
    message: bad ? `${label}: ${rule === 'min' ? 'lowest' : 'highest'} value ${extreme} is ${word} ${limit}` : `${label}: no values ${word} ${limit}`,
    observed: extreme,
    expected: limit,
  };
}

function integerCheck(label: string, column: string, col: NumberColumnProfile): ValidationCheck {
  const n = col.nonInteger?.count ?? 0;
  return {
    column,
    rule: 'integer',
    level: 'error',
    passed: n === 0,
    message:
      n === 0
        ? `${label}: all values are integers`
        : `${label}: ${fmtInt(n)} ${n === 1 ? 'value is not an integer' : 'values are not integers'} (first at row ${col.nonInteger!.firstRow})`,
    observed: n,
    expected: 0,
  };
}

function allowedValuesCheck(label: string, column: string, values: readonly string[], col: TextColumnProfile): ValidationCheck {
  const allowed = new Set(values);
  const list = `[${values.join(', ')}]`;
  let count: number;
  let firstRow: number | null = null;
  let found: { value: string; count: number }[];
  if (col.unexpected) {
    ({ count, firstRow } = col.unexpected);
    found = col.unexpected.values;
  } else {
    found = col.top.filter((t) => !allowed.has(t.value));
    count = found.reduce((s, t) => s + t.count, 0);
  }
  const shown = found.slice(0, 10).map((f) => `${JSON.stringify(f.value)} (${fmtInt(f.count)})`);
  if (found.length > 10) shown.push(`and ${found.length - 10} more`);
  return {
    column,
    rule: 'allowed-values',
    level: 'error',
    passed: count === 0,
    message:
      count === 0
        ? `${label}: all values in ${list}`
        : `${label}: ${fmtInt(count)} ${count === 1 ? 'value' : 'values'} outside ${list}: ${shown.join(', ')}` +
          (firstRow !== null ? ` (first at row ${firstRow})` : ''),
    observed: count,
    expected: 0,
  };
}

function classBalanceCheck(profile: DatasetProfile, spec: ValidationSpec, minFraction: number): ValidationCheck {
  const target = spec.data.target;
  const rule = spec.data.schema[target];
  const col = profile.columns[target];
  const label = `target "${target}"`;
  if (!rule || rule.type === 'number' || rule.type === 'string' || !col || col.type === 'number') {
    return {
      column: target,
      rule: 'min-class-fraction',
      level: 'warning',
      passed: true,
      message: `${label}: minClassFraction applies to boolean and category targets only; not checked`,
    };
  }
  const counts = new Map<string, number>();
  for (const name of rule.type === 'boolean' ? ['false', 'true'] : rule.values) counts.set(name, 0);
  for (const t of col.top) counts.set(t.value, t.count);
  let total = 0;
  for (const c of counts.values()) total += c;
  let smallest: [string, number] | undefined;
  for (const e of counts) if (!smallest || e[1] < smallest[1]) smallest = e;
  const fraction = total > 0 && smallest ? smallest[1] / total : 0;
  const ok = total > 0 && fraction >= minFraction;
  return {
    column: target,
    rule: 'min-class-fraction',
    level: 'error',
    passed: ok,
    message:
      total === 0
        ? `${label}: no labelled rows, class balance cannot be checked`
        : ok
          ? `${label}: smallest class "${smallest![0]}" is ${pct(fraction)} of rows (min ${pct(minFraction)})`
          : `${label}: class "${smallest![0]}" is only ${pct(fraction)} of labelled rows (${fmtInt(smallest![1])} of ${fmtInt(total)}), below minClassFraction ${pct(minFraction)}`,
    observed: round(fraction, 6),
    expected: minFraction,
  };
}

function psiChecks(profile: DatasetProfile, reference: DatasetProfile, spec: ValidationSpec): ValidationCheck[] {
  const maxPsi = spec.validation.maxPsi;
  const threshold = maxPsi ?? DEFAULT_PSI_WARNING;
  const level = maxPsi === undefined ? 'warning' : 'error';
  const checks: ValidationCheck[] = [];
  for (const [column, rule] of Object.entries(spec.data.schema)) {
    if (rule.type !== 'number') continue;
    const cur = profile.columns[column];
    const ref = reference.columns[column];
    const label = `column "${column}"`;
    if (!cur || cur.type !== 'number' || !cur.stats) continue; // absent/empty: reported by other checks
    if (!ref || ref.type !== 'number' || !ref.stats) {
      checks.push({ column, rule: 'psi', level: 'warning', passed: false, message: `${label}: the reference has no values for this column; drift not checked` });
      continue;
    }
    const value = psi(ref.stats, cur.stats);
    const ok = value <= threshold;
    checks.push({
      column,
      rule: 'psi',
      level,
      passed: ok,
      message: ok
        ? `${label}: PSI ${value.toFixed(3)} against the reference (max ${threshold})`
        : `${label}: distribution shifted from the reference: PSI ${value.toFixed(3)} above ${maxPsi === undefined ? 'the warning level' : 'maxPsi'} ${threshold}`,
      observed: round(value, 4),
      expected: threshold,
    });
  }
  return checks;
}

/**
 * Empty PSI bins of a profile comparison get this proportion instead of 0 (drift monitoring's
 * exact counts use PSI_EPSILON = 1e-6): bin fractions read off 101 percentiles are only good to
 * about a percentage point, so a smaller floor would let interpolation noise dominate the index.
 */
export const PROFILE_PSI_EPSILON = 1e-4;

/**
 * Population Stability Index of `current` against `reference`, over the reference's decile bins
 * (duplicate edges merged for discrete data), by the one PSI of src/stats/psi.ts. Bin fractions
 * come from each profile's 101 percentiles (interpolated CDF), so they are accurate to about a
 * percentage point; empty bins get PROFILE_PSI_EPSILON.
 */
export function psi(reference: Pick<NumericStats, 'percentiles'>, current: Pick<NumericStats, 'percentiles'>, bins = 10): number {
  const edges = edgesFromPercentiles(reference.percentiles, bins);
  return psiFromCounts(binFractionsFromPercentiles(reference.percentiles, edges), binFractionsFromPercentiles(current.percentiles, edges), PROFILE_PSI_EPSILON);
}

/** One line per failed error-level check: the workflow's failure message. */
export function summarizeFailures(report: ValidationReport): string {
  const failed = report.checks.filter((c) => !c.passed && c.level === 'error');
  if (failed.length === 0) return '';
  return failed.map((c) => c.message).join('\n');
}

export interface ValidationHtmlMeta {
  title?: string;
  pipeline?: string;
  /** Where the data came from (a URI or file name). */
  dataset?: string;
  runId?: string;
  generatedAt?: string | Date;
  /** Shown as a column overview table when given. */
  profile?: DatasetProfile;
  /** The schema the data was typed and checked with, shown as a table when given. */
  schema?: Readonly<Record<string, ColumnRule>>;
  /** The schema was inferred at ingest (`schema: infer`): every column is marked inferred. */
  schemaInferred?: boolean;
  /** The target column (marked in the schema table). */
  target?: string;
}

/** A self-contained HTML page (inline CSS, no scripts) for a validation report. All data is escaped. */
export function renderValidationHtml(report: ValidationReport, meta: ValidationHtmlMeta = {}): string {
  const title = meta.title ?? `Data validation${meta.pipeline ? ` — ${meta.pipeline}` : ''}`;
  const generated = meta.generatedAt instanceof Date ? meta.generatedAt.toISOString() : meta.generatedAt;
  const errorsFailed = report.checks.filter((c) => !c.passed && c.level === 'error').length;
  const warnings = report.checks.filter((c) => !c.passed && c.level === 'warning').length;
  const facts: [string, string][] = [];
  if (meta.pipeline) facts.push(['Pipeline', meta.pipeline]);
  if (meta.dataset) facts.push(['Dataset', meta.dataset]);
  if (meta.runId) facts.push(['Run', meta.runId]);
  facts.push(['Rows', fmtInt(report.rowCount)]);
  if (generated) facts.push(['Generated', generated]);

  const checkRows = report.checks.map((c) => {
    const status = c.passed ? 'pass' : c.level === 'warning' ? 'warn' : 'fail';
    const statusText = c.passed ? 'PASS' : c.level === 'warning' ? 'WARN' : 'FAIL';
    return html`<tr class="${status}"><td class="status">${statusText}</td><td>${c.column ?? '—'}</td><td><code>${c.rule}</code></td>\
<td>${c.message}</td><td class="num">${c.observed ?? ''}</td><td class="num">${c.expected ?? ''}</td></tr>`;
  });

  const body = html`<h1>${title}</h1>
<p><span class="verdict ${report.passed ? 'ok' : 'bad'}">${report.passed ? 'PASSED' : 'FAILED'}</span>
${`${report.checks.length} checks, ${errorsFailed} failed, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}`}</p>
<dl>
${joinHtml(facts.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`), '\n')}
</dl>
<h2>Checks</h2>
<table>
<thead><tr><th>Status</th><th>Column</th><th>Rule</th><th>Result</th><th>Observed</th><th>Expected</th></tr></thead>
<tbody>
${joinHtml(checkRows, '\n')}
</tbody>
</table>
${meta.schema && schemaTable(meta.schema, meta.schemaInferred === true, meta.target)}
${meta.profile && profileTable(meta.profile)}`;
  return renderPage({ title, style: VALIDATION_STYLE, body });
}

const VALIDATION_STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; }
.verdict { display: inline-block; padding: .3rem .8rem; border-radius: 4px; font-weight: 600; color: #fff; }
.verdict.ok { background: #1a7f37; } .verdict.bad { background: #cf222e; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
th, td { border: 1px solid #d0d7de; padding: .35rem .55rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.status { font-weight: 700; white-space: nowrap; }
tr.pass td.status { color: #1a7f37; } tr.fail { background: #ffebe9; } tr.fail td.status { color: #cf222e; }
tr.warn { background: #fff8c5; } tr.warn td.status { color: #9a6700; }
code { font-size: 12px; }
td.inferred { color: #9a6700; font-weight: 600; }
`;

/** A column's rule in the words of the spec (what `schema infer` would print). */
export function describeRule(rule: ColumnRule): string {
  const parts: string[] = [];
  if (rule.type === 'number') {
    if (rule.integer) parts.push('integer');
    if (rule.min !== undefined) parts.push(`min ${num(rule.min)}`);
    if (rule.max !== undefined) parts.push(`max ${num(rule.max)}`);
  }
  if (rule.type === 'category') parts.push(`values: ${rule.values.join(', ')}`);
  parts.push(rule.required ? 'required' : 'optional');
  return parts.join('; ');
}

function schemaTable(schema: Readonly<Record<string, ColumnRule>>, inferred: boolean, target: string | undefined): SafeHtml {
  const rows = Object.entries(schema).map(
    ([name, rule]) =>
      html`<tr><td>${name}${name === target ? ' (target)' : ''}</td><td>${rule.type}</td><td>${describeRule(rule)}</td><td class="${inferred ? 'inferred' : 'declared'}">${inferred ? 'inferred' : 'declared'}</td></tr>`,
  );
  return html`<h2>Schema</h2>
<p>${inferred ? 'Inferred from the data at ingest (data.schema: infer) and stored with the dataset version; review it, or paste it into the spec (mlcycle schema infer prints it).' : 'Declared in the spec (data.schema).'}</p>
<table class="schema">
<thead><tr><th>Column</th><th>Type</th><th>Rule</th><th>Source</th></tr></thead>
<tbody>
${joinHtml(rows, '\n')}
</tbody>
</table>`;
}

function profileTable(profile: DatasetProfile): SafeHtml {
  const rows = Object.entries(profile.columns).map(
    ([name, col]) => html`<tr><td>${name}</td><td>${col.type}</td><td class="num">${fmtInt(col.missing)}</td><td>${describeColumn(col)}</td></tr>`,
  );
  return html`<h2>Columns</h2>
<table>
<thead><tr><th>Column</th><th>Type</th><th>Missing</th><th>Summary</th></tr></thead>
<tbody>
${joinHtml(rows, '\n')}
</tbody>
</table>`;
}

function describeColumn(col: ColumnProfile): string {
  if (col.type === 'number') {
    const s = col.stats;
    if (!s) return 'no values';
    return `min ${num(s.min)}, p50 ${num(s.quantiles.p50)}, max ${num(s.max)}, mean ${num(s.mean)}, std ${num(s.std)}${s.sampled ? ' (quantiles sampled)' : ''}`;
  }
  const top = col.top.slice(0, 5).map((t) => `${t.value} (${fmtInt(t.count)})`);
  return `${fmtInt(col.distinct)}${col.distinctCapped ? '+' : ''} distinct; ${top.join(', ')}${col.top.length > 5 || col.otherCount > 0 ? ', …' : ''}`;
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}
function pct(f: number): string {
  const p = f * 100;
  if (Number.isInteger(p)) return `${p}%`;
  return `${p >= 10 ? p.toFixed(1) : p.toPrecision(2)}%`;
}
function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(4);
}
function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
