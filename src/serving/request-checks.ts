/**
 * What /predict checks and how it answers, independent of HTTP: the request body schema built from
 * the served model's columns (see prediction-server.ts for the rules), the out-of-range rule, the
 * rows a model cannot score, and an ONNX model's scores in the built-in models' answer shapes.
 */
import { z } from 'zod';
import { MlcycleError } from '../errors';
import type { ServingDescription } from '../onnx/onnx-artifact';
import type { OnnxScores } from '../onnx/onnx-model';
import type { ModelArtifact, OutOfRangeRule, RowPrediction } from '../training/model-artifact';
import type { Row, RowMatrixEncoder } from '../training/row-matrix-adapter';

/** One problem with a request, naming its field (`rows.3.tenure_months`). */
export interface Issue {
  path: string;
  message: string;
}

export type { OutOfRangeRule } from '../training/model-artifact';
/** "Beyond 1e6× the training range", as a multiple of the training scale (see outOfRange). */
export const OUT_OF_RANGE_Z = 1e6;

/**
 * A number input column's training statistics. Without them (an ONNX model's description written
 * before they were kept) only the non-finite check applies.
 */
export interface RangeColumn {
  name: string;
  mean?: number;
  std?: number;
}

/** What a served model checks numeric inputs against: its number columns and its own rule. */
export interface RangeCheck {
  columns: readonly RangeColumn[];
  /** The rule the model carries from its spec (`serve.outOfRange`), else refuse. */
  rule: OutOfRangeRule;
}

/** A built-in model's range check: its encoder's number columns and the rule stored with it. */
export function artifactRangeCheck(artifact: ModelArtifact): RangeCheck {
  const columns = artifact.encoder.columns.filter((c) => c.kind === 'number').map((c) => ({ name: c.name, mean: c.mean, std: c.std }));
  return { columns, rule: artifact.serve?.outOfRange ?? 'refuse' };
}

/** An ONNX model's range check: the training statistics and rule mlcycle wrote beside it. */
export function onnxRangeCheck(description: ServingDescription): RangeCheck {
  const columns = description.features
    .filter((f) => f.type === 'number')
    .map((f) => ({ name: f.name, ...(f.mean !== undefined && f.std !== undefined ? { mean: f.mean, std: f.std } : {}) }));
  return { columns, rule: description.serve?.outOfRange ?? 'refuse' };
}

/**
 * Applies the rule to each row's numeric features: the rows to score (clipped copies where the
 * rule clips) and the issues of what is refused.
 */
export function applyOutOfRange(columns: readonly RangeColumn[], rows: readonly Row[], rule: OutOfRangeRule): { rows: Row[]; issues: Issue[] } {
  const issues: Issue[] = [];
  if (rule === 'allow') return { rows: [...rows], issues };
  const out = rows.map((row, i) => {
    let copy: Record<string, unknown> | undefined;
    for (const c of columns) {
      const v = row[c.name];
      if (typeof v !== 'number') continue;
      if (!Number.isFinite(v)) {
        issues.push({ path: `rows.${i}.${c.name}`, message: `${String(v)} is not a finite number` });
        continue;
      }
      if (c.mean === undefined || c.std === undefined) continue;
      // Mean and spread are what is kept of the training values: their larger is the scale.
      const bound = OUT_OF_RANGE_Z * Math.max(c.std, Math.abs(c.mean), 1e-12);
      if (Math.abs(v - c.mean) > bound) {
        if (rule === 'clip') {
          copy ??= { ...row };
          copy[c.name] = Math.min(c.mean + bound, Math.max(c.mean - bound, v));
        } else {
          issues.push({ path: `rows.${i}.${c.name}`, message: `${v} is outside the range this model accepts (training mean ${c.mean.toPrecision(4)} ± ${OUT_OF_RANGE_Z.toExponential(0)} × the training scale; the out-of-range rule is refuse: serve.outOfRange in the spec, mlcycle serve --out-of-range)` });
        }
      }
    }
    return copy ?? row;
  });
  return { rows: out, issues };
}

/** Issues returned per answer; the rest are counted in `issuesOmitted`. */
export const MAX_ISSUES = 50;

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** A zod error message: "missing" for an absent column, else what was expected and what came. */
function columnError(expected: string) {
  return (iss: { input?: unknown }): string =>
    iss.input === undefined
      ? `missing: every row needs this column (send null for an unknown value)`
      : `expected ${expected}, got ${describeValue(iss.input)}`;
}

/** The request body schema for a model's encoder columns (see the top of this file). */
export function buildRequestSchema(encoder: Pick<RowMatrixEncoder, 'columns'>, maxRows = 10_000): z.ZodType<{ rows: Row[] }> {
  const shape: Record<string, z.ZodType> = {};
  for (const col of encoder.columns) {
    switch (col.kind) {
      case 'number':
        shape[col.name] = z.number({ error: columnError('a finite number or null') }).nullable();
        break;
      case 'boolean':
        shape[col.name] = z.boolean({ error: columnError('true, false or null') }).nullable();
        break;
      case 'category':
        shape[col.name] = z.string({ error: columnError(`a string (one of ${col.values.join(', ')}) or null`) }).nullable();
        break;
    }
  }
  const row = z.looseObject(shape, { error: (iss) => `expected an object of column values, got ${describeValue(iss.input)}` });
  return z.object(
    {
      rows: z
        .array(row, { error: (iss) => (iss.input === undefined ? 'missing: expected {"rows": [...]}' : `expected an array of rows, got ${describeValue(iss.input)}`) })
        .min(1, 'expected at least 1 row')
        .max(maxRows, `expected at most ${maxRows} rows per request`),
    },
    { error: (iss) => `expected a JSON object {"rows": [...]}, got ${describeValue(iss.input)}` },
    // The loose row objects infer as Record<string, unknown>; the shape built above is what makes them Rows.
  );
}

export function toIssues(error: z.ZodError): { issues: Issue[]; total: number } {
  const issues = error.issues.slice(0, MAX_ISSUES).map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }));
  return { issues, total: error.issues.length };
}

/** Standard deviations from the training mean past which a number is reported as unscorable. */
const EXTREME_Z = 1e6;

/**
 * Issues for the rows the model scored as NaN. Finite numbers can still be too extreme to score:
 * standardized, they overflow to ±Infinity, and opposite infinities cancel to NaN. Each such row
 * names its number columns that lie absurdly far from the training data (or the row itself when
 * none does).
 */
export function unscorableIssues(artifact: ModelArtifact, rows: readonly Row[], probabilities: readonly number[]): { issues: Issue[]; total: number } {
  const all: Issue[] = [];
  probabilities.forEach((p, i) => {
    if (Number.isFinite(p)) return;
    const row = rows[i]!;
    const extreme = artifact.encoder.columns.filter((c) => {
      const v = row[c.name];
      return c.kind === 'number' && typeof v === 'number' && !(Math.abs((v - c.mean) / c.std) <= EXTREME_Z);
    });
    for (const c of extreme) {
      all.push({ path: `rows.${i}.${c.name}`, message: `${String(row[c.name])} is too far outside the training data to score (over ${EXTREME_Z} standard deviations from its mean)` });
    }
    if (extreme.length === 0) all.push({ path: `rows.${i}`, message: 'the model cannot score this row (its probability is not a number)' });
  });
  return { issues: all.slice(0, MAX_ISSUES), total: all.length };
}

/** ONNX models: rows the model scored as NaN (no encoder statistics to name a column by). */
export function nanIssues(scores: readonly number[]): { issues: Issue[]; total: number } {
  const all: Issue[] = [];
  scores.forEach((p, i) => {
    if (!Number.isFinite(p)) all.push({ path: `rows.${i}`, message: 'the model cannot score this row (its prediction is not a number)' });
  });
  return { issues: all.slice(0, MAX_ISSUES), total: all.length };
}

/** The request columns of an ONNX model: the spec's features, validated exactly as for built-in models. */
export function requestColumns(features: ServingDescription['features']): Pick<RowMatrixEncoder, 'columns'> {
  return {
    columns: features.map((f): RowMatrixEncoder['columns'][number] =>
      f.type === 'category' ? { name: f.name, kind: 'category', values: f.values ?? [] } : f.type === 'number' ? { name: f.name, kind: 'number', mean: 0, std: 1 } : { name: f.name, kind: 'boolean' },
    ),
  };
}

/**
 * An ONNX model's answers in the built-in models' shapes, and one score per row (the prediction log's
 * `probability`, NaN where the row cannot be answered): binary at 0.5 (no stored threshold),
 * multiclass the most probable of the description's classes (in the spec's declared order, the
 * order of the model's probability columns), regression the value.
 */
export function onnxPredictions(description: ServingDescription, scores: OnnxScores): { scores: number[]; predictions: RowPrediction[] } {
  if (description.task === 'multiclass') {
    const classes = description.classes ?? [];
    if (scores.kind !== 'matrix') throw new MlcycleError('ARTIFACT_INTEGRITY', 'a multiclass ONNX model must answer one probability per class');
    const rowScores: number[] = [];
    const predictions: RowPrediction[] = scores.values.map((p, i) => {
      if (p.length !== classes.length) {
        throw new MlcycleError('ARTIFACT_INTEGRITY', `the ONNX model answered ${p.length} class probabilities for row ${i}, but the spec declares ${classes.length} classes (${classes.join(', ')})`);
      }
      let best = 0;
      const probabilities: Record<string, number> = {};
      for (let c = 0; c < p.length; c++) {
        probabilities[classes[c]!] = p[c]!;
        if (p[c]! > p[best]!) best = c;
      }
      // A row with any non-finite probability has no answer (reported as unscorable, like NaN for binary).
      rowScores.push(p.every(Number.isFinite) ? p[best]! : Number.NaN);
      return { probability: p[best]!, label: classes[best]!, class: classes[best]!, probabilities };
    });
    return { scores: rowScores, predictions };
  }
  if (scores.kind !== 'vector') throw new MlcycleError('ARTIFACT_INTEGRITY', `a ${description.task} ONNX model must answer one number per row`);
  const values = Array.from(scores.values);
  if (description.task === 'regression') return { scores: values, predictions: values.map((value) => ({ value })) };
  // Boolean and 0/1 targets answer "true"/"false"; a category target its two declared values.
  const positive = description.target.positive ?? 'true';
  const negative = description.target.negative ?? 'false';
  return { scores: values, predictions: values.map((p) => ({ probability: p, label: p >= 0.5, class: p >= 0.5 ? positive : negative, probabilities: { [negative]: 1 - p, [positive]: p } })) };
}
