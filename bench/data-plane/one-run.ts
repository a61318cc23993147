/**
 * One measured run in its own process (so its peak RSS is its own): `mlcycle` = ingest (snapshot +
 * SQL profile) + validation of the bench table; `raw` = the same engine's aggregate scan of the CSV
 * (read_csv with type sniffing, count/min/max/avg of every column); `copy` = the same engine's
 * bare CSV → Parquet COPY with the snapshot's writer settings and nothing else (no typing, checks
 * or profile): what writing any Parquet snapshot costs at least; `load` = the train step's data
 * loading of a snapshot (columns to typed arrays, split, encode) plus the first step (L-BFGS
 * iteration / boosting round) of each built-in trainer on those typed arrays. Prints one JSON line.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadSnapshotColumns } from '../../src/data/columnar-load';
import { dataSettings, withEngine } from '../../src/data/engine';
import { convertSource, sourceFile } from '../../src/data/ingest-source';
import { SNAPSHOT_PARQUET_OPTIONS } from '../../src/data/snapshot';
import { assignSplits, SPLIT_TRAIN, SPLIT_VALIDATION } from '../../src/data/split';
import { validateDataset } from '../../src/data/validate';
import { parsePipelineSpec } from '../../src/spec/pipeline-spec';
import { encodeSplit, fitColumnarEncoder } from '../../src/training/columnar-encoder';
import { getTrainer } from '../../src/training/trainers';
import { scaleSchema } from '../../test/helpers/scale-data';
import { peakRssMiB } from '../peak-rss';

async function main(): Promise<void> {
  const [mode, file, scratch] = process.argv.slice(2) as [string, string, string];
  const settings = dataSettings();
  const spec = parsePipelineSpec({ apiVersion: 'mlcycle/v1', name: 'bench', data: { source: 'file://x', target: 'label', schema: scaleSchema(20) }, train: { trainer: 'logistic-regression' } });
  const t0 = performance.now();
  const out: Record<string, unknown> = { mode };
  if (mode === 'mlcycle') {
    const snapshotPath = path.join(scratch, 'snapshot.parquet');
    const r = await convertSource({ file: sourceFile(file, file, 'csv'), schema: spec.data.schema, target: 'label', scratchDir: scratch, snapshotPath, settings });
    const report = validateDataset(r.profile, r.typeErrors, spec);
    out.rows = r.rowCount;
    out.passed = report.passed;
  } else if (mode === 'raw') {
    const inst = await DuckDBInstance.create(':memory:', { memory_limit: settings.memoryLimit, threads: String(settings.threads) });
    const c = await inst.connect();
    const names = Object.keys(scaleSchema(20));
    const aggs = names.map((n) => `count("${n}"), min("${n}"), max("${n}")${scaleSchema(20)[n]!.type === 'number' ? `, avg("${n}")` : ''}`);
    const r = await c.runAndReadAll(`SELECT count(*)::DOUBLE AS n, ${aggs.join(', ')} FROM read_csv('${file}')`);
    out.rows = Number(r.getRowObjectsJson()[0]!.n);
    inst.closeSync();
  } else if (mode === 'copy') {
    const inst = await DuckDBInstance.create(':memory:', { memory_limit: settings.memoryLimit, threads: String(settings.threads) });
    const c = await inst.connect();
    const r = await c.runAndReadAll(`COPY (SELECT * FROM read_csv('${file}')) TO '${path.join(scratch, 'snapshot.parquet')}' (${SNAPSHOT_PARQUET_OPTIONS}, RETURN_STATS)`);
    out.rows = Number(r.getRowObjectsJson()[0]!.count);
    inst.closeSync();
  } else if (mode === 'load') {
    const table = await withEngine({ scratchDir: scratch, settings }, (e) => loadSnapshotColumns(e, { snapshotPath: file, schema: spec.data.schema, target: 'label' }));
    const assigned = assignSplits(table.rowIndex, { test: 0.2, validation: 0.1, seed: 42 });
    const pick = (s: number) => {
      const idx: number[] = [];
      for (let i = 0; i < assigned.length; i++) if (assigned[i] === s) idx.push(i);
      return Uint32Array.from(idx);
    };
    const train = pick(SPLIT_TRAIN);
    const rule = spec.data.schema.label!;
    const encoder = fitColumnarEncoder(table, { schema: spec.data.schema, target: 'label', trainRows: train });
    const matrix = encodeSplit(encoder, table, rule, train);
    const validation = encodeSplit(encoder, table, rule, pick(SPLIT_VALIDATION));
    out.loadSeconds = (performance.now() - t0) / 1000;
    for (const name of ['logistic-regression', 'gradient-boosting'] as const) {
      const engine = getTrainer(name).engine;
      const t = performance.now();
      const data = { train: matrix, validation };
      const params = engine.parseParams({}, { task: matrix.y.task, rows: matrix.X.rows });
      // The contract's types are per trainer; the bench drives either one the same way.
      const e = engine as unknown as { init(d: unknown, p: unknown, s: number): { totalEpochs: number }; step(st: unknown, d: unknown): unknown };
      const state = e.init(data, params, 1);
      e.step(state, data);
      out[`${name}EpochSeconds`] = (performance.now() - t) / 1000;
      out[`${name}Epochs`] = state.totalEpochs;
    }
    out.rows = table.rows;
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  out.seconds = (performance.now() - t0) / 1000;
  out.maxRssMiB = peakRssMiB();
  await fs.rm(path.join(scratch, 'snapshot.parquet'), { force: true }).catch(() => undefined);
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
