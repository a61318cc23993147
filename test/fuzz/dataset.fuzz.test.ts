/**
 * Bad dataset files through the reader, profiler and validator (what ingest and validate run):
 * each file either fails with DATA_INVALID naming the file and where in it, or yields a profile
 * that survives the manifest's JSON round trip and a validation report whose failures name their
 * columns. Never another exception.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDatasetProfile } from '../../src/data/profile';
import { scanDataset } from '../../src/data/scan';
import { renderValidationHtml, summarizeFailures, validateDataset } from '../../src/data/validate';
import { MlcycleError } from '../../src/errors';
import { applyDamage, COLUMNS, datasetCase, FUZZ_SPEC, hugeCell, locatesProblem, render, type DatasetCase, type Format } from './datasets';
import { fuzzTarget } from './fuzz-support';

const DECODE_TIMEOUT_MS = 5000;

/** Checks one file's outcome; returns what happened, for the counts in assertions. */
async function checkFile(file: string, format: Format, expectedRows?: number): Promise<'rejected' | 'profiled'> {
  let scan;
  try {
    // Damaged Parquet can make the decoder spin; the reader's time limit turns that into an error.
    scan = await scanDataset(file, FUZZ_SPEC.data.schema, { format, parquetDecodeTimeoutMs: DECODE_TIMEOUT_MS });
  } catch (err) {
    expect(err, `threw ${String(err)}`).toBeInstanceOf(MlcycleError);
    const e = err as MlcycleError;
    expect(e.code).toBe('DATA_INVALID');
    expect(locatesProblem(e.message, file), `does not say where: ${e.message.slice(0, 300)}`).toBe(true);
    return 'rejected';
  }
  const { profile, typeErrors } = scan;
  if (expectedRows !== undefined) expect(profile.rowCount).toBe(expectedRows);
  // The manifest is JSON; validate parses the profile back from it.
  const stored = parseDatasetProfile(JSON.parse(JSON.stringify(profile)));
  // Compared as JSON: the round trip may turn -0 into 0, nothing else.
  expect(JSON.stringify(stored)).toBe(JSON.stringify(profile));
  for (const [column, te] of Object.entries(typeErrors)) {
    expect(COLUMNS).toContain(column);
    for (const ex of te.examples) {
      expect(ex.row).toBeGreaterThanOrEqual(1);
      expect(ex.row).toBeLessThanOrEqual(profile.rowCount);
      expect(ex.value.length).toBeLessThanOrEqual(60);
    }
  }
  const report = validateDataset(stored, JSON.parse(JSON.stringify(typeErrors)), FUZZ_SPEC);
  expect(report.rowCount).toBe(profile.rowCount);
  for (const check of report.checks.filter((c) => !c.passed)) {
    expect(check.message.length).toBeGreaterThan(0);
    if (check.column !== undefined) expect(check.message, check.rule).toContain(`"${check.column}"`);
    else expect(['min-rows', 'extra-columns', 'psi']).toContain(check.rule);
  }
  if (!report.passed) expect(summarizeFailures(report).length).toBeGreaterThan(0);
  expect(renderValidationHtml(report, { pipeline: 'fuzz', dataset: file, profile: stored })).toContain('<html');
  return 'profiled';
}

describe('fuzz: dataset files', () => {
  const target = fuzzTarget('dataset');
  let dir: string;
  let n = 0;
  const outcomes = { rejected: 0, profiled: 0 };

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mlcycle-fuzz-data-'));
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  async function write(c: DatasetCase): Promise<string> {
    const { bytes, gzip } = applyDamage(render(c.table, c.format), c.damage, c.format);
    const file = path.join(dir, `case-${n++}.${c.format}${gzip ? '.gz' : ''}`);
    await fsp.writeFile(file, bytes);
    return file;
  }

  it('well-formed files with any cells are read in full: every row counted, bad cells reported as type errors', async () => {
    await fc.assert(
      fc.asyncProperty(datasetCase.map((c) => ({ ...c, damage: { kind: 'none' as const } })), async (c) => {
        target.hit();
        const file = await write(c);
        const names = c.table.header;
        // Rows are lost only where the format cannot hold them: a CSV line that is empty (no
        // column, or one empty one) is skipped, and bad headers are refused outright.
        const csvBlank = c.format === 'csv' && names.length <= 1;
        const outcome = await checkFile(file, c.format, csvBlank ? undefined : c.table.rows.length);
        if (outcome === 'rejected') {
          // Only a header no reader can take: an empty or duplicated name, or no columns at all.
          const bad = names.length === 0 || names.some((h) => h === '') || new Set(names).size !== names.length;
          expect(bad || c.format === 'parquet', `rejected a well-formed ${c.format} file with header ${JSON.stringify(names)}`).toBe(true);
        }
        fs.rmSync(file);
      }),
      target.params(120),
    );
  });

  it('damaged files (truncated, re-encoded, invalid UTF-8, flipped bytes, empty, header only, duplicate header, gzip) are refused where they break or profiled', async () => {
    await fc.assert(
      fc.asyncProperty(datasetCase, async (c) => {
        target.hit();
        const file = await write(c);
        outcomes[await checkFile(file, c.format)]++;
        fs.rmSync(file);
      }),
      target.params(250),
    );
    // Both outcomes must occur, or the damage generator is not doing its job.
    expect(outcomes.rejected).toBeGreaterThan(0);
    expect(outcomes.profiled).toBeGreaterThan(0);
  });

  it('megabyte cells in every column and format are read, profiled and reported without a crash', async () => {
    for (const format of ['csv', 'jsonl', 'parquet'] as const) {
      target.hit();
      const huge = hugeCell(2 << 20);
      const table = { header: COLUMNS, rows: [COLUMNS.map(() => huge), ['a', 1, 2, 'pro', true], COLUMNS.map(() => huge)] };
      const file = await write({ table, format, damage: { kind: 'none' } });
      expect(await checkFile(file, format, 3)).toBe('profiled');
      const { typeErrors } = await scanDataset(file, FUZZ_SPEC.data.schema, { format });
      expect(typeErrors.amount?.count).toBe(2);
      expect(typeErrors.amount?.examples[0]?.value).toMatch(/^h{57}\.\.\.$/);
    }
  });

  it('empty, header-only and duplicate-header files get a report or an error naming the header', async () => {
    target.hit();
    const empty = path.join(dir, 'empty.csv');
    await fsp.writeFile(empty, '');
    expect(await checkFile(empty, 'csv', 0)).toBe('profiled');
    const headerOnly = path.join(dir, 'header.csv');
    await fsp.writeFile(headerOnly, `${COLUMNS.join(',')}\n`);
    expect(await checkFile(headerOnly, 'csv', 0)).toBe('profiled');
    const dup = path.join(dir, 'dup.csv');
    await fsp.writeFile(dup, `${COLUMNS.join(',')},plan\nx,1,1,pro,true,basic\n`);
    await expect(scanDataset(dup, FUZZ_SPEC.data.schema)).rejects.toThrow(/line 1: CSV header names column "plan" twice/);
    const emptyJsonl = path.join(dir, 'empty.jsonl');
    await fsp.writeFile(emptyJsonl, '\n\n');
    expect(await checkFile(emptyJsonl, 'jsonl', 0)).toBe('profiled');
    const report = validateDataset((await scanDataset(emptyJsonl, FUZZ_SPEC.data.schema)).profile, {}, FUZZ_SPEC);
    expect(report.passed).toBe(false);
    expect(summarizeFailures(report)).toMatch(/fewer than minRows/);
  });
});
