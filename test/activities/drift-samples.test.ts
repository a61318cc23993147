import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftFeatures, driftSample, loadWindowColumns } from '../../activities/drift-samples';
import { loadSnapshotColumns } from '../../src/data/columnar-load';
import { createRowCoercer, type Row } from '../../src/data/coerce';
import { readRows } from '../../src/data/dataset-reader';
import { withEngine } from '../../src/data/engine';
import { convertSource, sourceFile } from '../../src/data/ingest-source';
import { CHURN_SCHEMA, CHURN_TARGET, generateChurnDataset, writeCsv } from '../../src/demo/dataset-generator';
import { buildDriftReport } from '../../src/monitoring/drift-check';
import { featureDrift } from '../../src/monitoring/drift';
import { labelShift } from '../../src/monitoring/drift-metrics';

const CONFIG = { method: 'psi' as const, threshold: 0.2, minSamples: 200 };
const features = driftFeatures(CHURN_SCHEMA, CHURN_TARGET);

/** What the monitor computed before, from row objects: the coerced rows' values per feature. */
function rowDrift(reference: readonly Row[], current: readonly Row[]) {
  const column = (rows: readonly Row[], name: string) => rows.map((r) => (r[name] === undefined ? null : r[name]));
  const ref: Record<string, (string | number | boolean | null)[]> = {};
  const cur: Record<string, (string | number | boolean | null)[]> = {};
  const kinds: Record<string, 'numeric' | 'categorical'> = {};
  for (const f of features) {
    ref[f.name] = column(reference, f.name);
    kinds[f.name] = f.kind;
    if (current.some((r) => r[f.name] !== undefined)) cur[f.name] = column(current, f.name);
  }
  return featureDrift(ref, cur, { ...CONFIG, kinds, metrics: ['psi', 'ks', 'js'] });
}

async function coercedRows(file: string): Promise<Row[]> {
  const coerce = createRowCoercer(CHURN_SCHEMA);
  const rows: Row[] = [];
  for await (const raw of readRows(file, 'csv')) rows.push(coerce(raw).row);
  return rows;
}

const positiveRate = (rows: readonly Row[]) => rows.filter((r) => r[CHURN_TARGET] === true).length / rows.length;

describe('drift samples: the monitor reads reference and current columns through the engine', () => {
  let dir: string;
  let refCsv: string;
  let curCsv: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drift-samples-'));
    refCsv = path.join(dir, 'reference.csv');
    curCsv = path.join(dir, 'current.csv');
    await writeCsv(refCsv, generateChurnDataset({ rows: 3000, seed: 11, missingFraction: 0.05 }));
    // The current window: drifted, one plan value the schema does not declare, no label column.
    const current = generateChurnDataset({ rows: 2000, seed: 12, drift: 1, missingFraction: 0.05 }).map(({ churned: _label, ...r }, i) => (i % 7 === 0 ? { ...r, plan: 'trial' } : r));
    await writeCsv(curCsv, current);
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('gives the same report as the row objects did, for a subset of the reference and a whole window', async () => {
    const snapshot = path.join(dir, 'reference.parquet');
    await convertSource({ file: sourceFile(refCsv, 'reference.csv', 'csv'), schema: CHURN_SCHEMA, target: CHURN_TARGET, scratchDir: dir, snapshotPath: snapshot });
    const table = await withEngine({ scratchDir: dir }, (engine) => loadSnapshotColumns(engine, { snapshotPath: snapshot, schema: CHURN_SCHEMA, target: CHURN_TARGET, undeclaredCategories: true }));
    // A split's rows: every third one.
    const subset = Uint32Array.from({ length: Math.ceil(table.rows / 3) }, (_, k) => 3 * k);
    const window = await loadWindowColumns({ path: curCsv, name: 'current.csv', format: 'csv' }, { schema: CHURN_SCHEMA, target: CHURN_TARGET }, dir);
    expect(window.rows).toBe(2000);

    const reference = driftSample(table, subset, features, CHURN_SCHEMA[CHURN_TARGET]!);
    const current = driftSample(window, undefined, features, CHURN_SCHEMA[CHURN_TARGET]!);
    for (const f of features) {
      if (f.kind === 'numeric') expect(reference.features[f.name]).toBeInstanceOf(Float64Array);
      else expect(reference.features[f.name]).toBeInstanceOf(Map);
    }
    // The undeclared value is counted under its own name.
    expect((current.features.plan as Map<string, number>).get('trial')).toBe(Math.ceil(2000 / 7));
    expect(current.positives).toBeUndefined();

    const report = buildDriftReport({ features, reference, current, referenceProba: [], currentProba: [], config: CONFIG });
    const allRef = await coercedRows(refCsv);
    const refRows = Array.from(subset, (i) => allRef[i]!);
    const curRows = await coercedRows(curCsv);
    expect(report.raw).toEqual(rowDrift(refRows, curRows));
    expect(report.drifted.length).toBeGreaterThan(0);
    expect(report.raw.features.find((f) => f.feature === 'plan')?.histogram?.labels).toContain('trial');
    expect(reference.positives).toEqual({ rate: positiveRate(refRows), n: refRows.length });
  });

  it('label shift from a labelled window equals the row computation', async () => {
    const labelled = path.join(dir, 'labelled.jsonl');
    const rows = generateChurnDataset({ rows: 1500, seed: 13, drift: 1 });
    await fs.writeFile(labelled, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const window = await loadWindowColumns({ path: labelled, name: 'labelled.jsonl', format: 'jsonl' }, { schema: CHURN_SCHEMA, target: CHURN_TARGET }, dir);
    const sample = driftSample(window, undefined, features, CHURN_SCHEMA[CHURN_TARGET]!);
    const rate = rows.filter((r) => r.churned).length / rows.length;
    expect(sample.positives).toEqual({ rate, n: 1500 });
    const reference = { rows: 1000, features: {}, positives: { rate: 0.1, n: 1000 } };
    const report = buildDriftReport({ features, reference, current: sample, referenceProba: [], currentProba: [], config: CONFIG });
    expect(report.labelShift?.pValue).toBe(labelShift(0.1, rate, 1000, 1500).pValue);
    // No reference feature values: every feature is insufficient, none missing.
    expect(report.raw.insufficient).toHaveLength(features.length);
  });

  it('a window whose values all fit is read once; one that holds a misfit is read the counted way, the misfit missing', async () => {
    const schema = { x: { type: 'number' as const, required: true }, c: { type: 'category' as const, values: ['a', 'b'], required: true }, y: { type: 'boolean' as const, required: true } };
    const load = async (name: string, body: string) => {
      const file = path.join(dir, name);
      await fs.writeFile(file, body);
      return loadWindowColumns({ path: file, name, format: 'csv' }, { schema, target: 'y' }, dir);
    };
    const clean = await load('fit.csv', 'x,c,y\n1.5,a,true\n2,z,\nNA,b,false\n');
    const dirty = await load('misfit.csv', 'x,c,y\n1.5,a,true\nabc,z,\nNA,b,false\n');
    for (const w of [clean, dirty]) {
      expect(w.rows).toBe(3);
      expect(Array.from(w.target)).toEqual([1, Number.NaN, 0]);
      expect(w.columns.find((c) => c.name === 'c')!.labels).toEqual(['a', 'b', 'z']);
    }
    expect(Array.from(clean.columns.find((c) => c.name === 'x')!.values)).toEqual([1.5, 2, Number.NaN]);
    expect(Array.from(dirty.columns.find((c) => c.name === 'x')!.values)).toEqual([1.5, Number.NaN, Number.NaN]);
    // Nothing of either typed copy stays in the scratch folder.
    expect((await fs.readdir(dir)).filter((f) => f.startsWith('window-'))).toEqual([]);
  });

  it('a 300k-row × 20-feature reference is loaded as typed columns, not row objects (heap stays small)', async () => {
    const rows = 300_000;
    const snapshot = path.join(dir, 'wide.parquet');
    const schema: Record<string, import('../../src/spec/pipeline-spec').ColumnRule> = { y: { type: 'boolean', required: true } };
    const cols: string[] = ['(random() < 0.3) AS y'];
    for (let i = 0; i < 15; i++) {
      schema[`n${i}`] = { type: 'number', required: true };
      cols.push(`(random() * ${i + 1})::DOUBLE AS n${i}`);
    }
    for (let i = 0; i < 5; i++) {
      schema[`c${i}`] = { type: 'category', values: ['a', 'b', 'c'], required: true };
      cols.push(`(['a', 'b', 'c', 'd'])[1 + (random() * 4)::INT % 4] AS c${i}`);
    }
    await withEngine({ scratchDir: dir }, (engine) => engine.run(`COPY (SELECT ${cols.join(', ')} FROM range(${rows})) TO '${snapshot}' (FORMAT parquet)`));
    const wide = driftFeatures(schema, 'y');
    const heapBefore = process.memoryUsage().heapUsed;
    const table = await withEngine({ scratchDir: dir }, (engine) => loadSnapshotColumns(engine, { snapshotPath: snapshot, schema, target: 'y', undeclaredCategories: true }));
    const train = Uint32Array.from({ length: rows / 2 }, (_, k) => 2 * k);
    const reference = driftSample(table, train, wide, schema.y!);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(table.rows).toBe(rows);
    expect(reference.rows).toBe(rows / 2);
    expect((reference.features.n0 as Float64Array).length).toBe(rows / 2);
    expect([...(reference.features.c0 as Map<string, number>).keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    // Row objects of 300k × 21 values alone would take hundreds of MB of heap; typed arrays live outside it.
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    const report = buildDriftReport({ features: wide, reference, current: driftSample(table, undefined, wide, schema.y!), referenceProba: [], currentProba: [], config: CONFIG });
    expect(report.verdict).toBe('no_drift');
  });
});
