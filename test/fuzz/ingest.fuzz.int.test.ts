/**
 * Bad datasets through the real ingest activity on the real store (file:// and s3:// sources):
 * a refused file fails with a non-retryable DATA_INVALID naming the source and where in it, and
 * writes nothing (no dataset version, no manifest, no cache entry: the store's listing is the same
 * before and after); an accepted file gets its snapshot and manifest, and the validate activity
 * then reads that manifest and reports without failing.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestActivities } from '../../activities/ingest';
import { createValidateActivities } from '../../activities/validate';
import type { ActivityDeps } from '../../activities/deps';
import { createS3Client } from '../../src/storage/s3-client';
import type { IngestResult, ValidateResult } from '../../workflows/pipeline-types';
import { startTestEnv, type TestEnv, TEST_PERMISSIONS } from '../helpers/test-env';
import { applyDamage, damage, FUZZ_SPEC, locatesProblem, render, table, type Damage, type Format } from './datasets';
import { fuzzTarget } from './fuzz-support';

/**
 * Damage that reaches the decoders only through the data itself: byte flips in Parquet pages may
 * make the decoder spin until the reader's (default, minutes-long) time limit, which the unit
 * suite covers with a short one.
 */
const ingestDamage = (format: Format): fc.Arbitrary<Damage> => (format === 'parquet' ? damage.filter((d) => d.kind !== 'flip') : damage);

const ingestCase = fc
  .record({ table, format: fc.constantFrom<Format>('csv', 'jsonl', 'parquet'), via: fc.constantFrom('file', 's3'), declareFormat: fc.boolean() })
  .chain((c) => ingestDamage(c.format).map((d) => ({ ...c, damage: d })));

describe('fuzz: ingest of bad datasets on the real store', () => {
  const target = fuzzTarget('ingest');
  let env: TestEnv;
  let deps: ActivityDeps;
  let dir: string;
  let n = 0;
  const outcomes = { refused: 0, ingested: 0 };

  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mlcycle-fuzz-ingest-'));
    deps = { store: env.store, s3: createS3Client(env.s3), workDir: dir, queue: 'cpu', gpuDevices: [], permissions: TEST_PERMISSIONS };
  });
  afterAll(async () => {
    deps?.s3.destroy();
    await env?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('a refused dataset writes nothing and names the source; an accepted one is stored and validates', async () => {
    const ingest = createIngestActivities(deps).ingestDataset;
    const validate = createValidateActivities(deps).validateDataset;
    // Refusals are the expected outcome here; the default logger would print each one.
    const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const activity = new MockActivityEnvironment({}, { logger: quiet });
    await fc.assert(
      fc.asyncProperty(ingestCase, async (c) => {
        target.hit();
        const { bytes, gzip } = applyDamage(render(c.table, c.format), c.damage, c.format);
        const name = `case-${n++}.${c.format}${gzip ? '.gz' : ''}`;
        let source: string;
        if (c.via === 'file') {
          const file = path.join(dir, name);
          await fsp.writeFile(file, bytes);
          source = `file://${file}`;
        } else {
          source = (await env.store.putNamed(`fuzz-sources/${name}`, bytes)).uri;
        }
        const before = await env.store.listNamed('');
        const input = { source, ...(c.declareFormat ? { format: c.format } : {}), schema: FUZZ_SPEC.data.schema, codeVersion: 'fuzz', cache: true };
        let result: IngestResult;
        try {
          result = await activity.run<[typeof input], IngestResult, typeof ingest>(ingest, input);
        } catch (err) {
          outcomes.refused++;
          expect(err, String(err)).toBeInstanceOf(ApplicationFailure);
          const failure = err as ApplicationFailure;
          expect(failure.type).toBe('DATA_INVALID');
          expect(failure.nonRetryable).toBe(true);
          expect(locatesProblem(failure.message, source.replace(/^file:\/\//, '')), failure.message.slice(0, 300)).toBe(true);
          // No partial state: not a snapshot, not a manifest, not a cache entry.
          expect(await env.store.listNamed('')).toEqual(before);
          return;
        }
        outcomes.ingested++;
        const after = await env.store.listNamed('');
        const added = after.filter((k) => !before.includes(k));
        for (const k of added) expect(k).toMatch(/^(artifacts\/sha256\/|cache\/ingest\/)/);
        expect(await env.store.exists(result.dataset.uri)).toBe(true);
        expect(await env.store.exists(result.manifestUri)).toBe(true);
        const report: ValidateResult = await activity.run(validate, {
          manifestUri: result.manifestUri,
          data: FUZZ_SPEC.data,
          validation: FUZZ_SPEC.validation,
          pipeline: 'fuzz',
          workflowId: 'fuzz-ingest',
          codeVersion: 'fuzz',
          cache: false,
        });
        expect(typeof report.passed).toBe('boolean');
        if (!report.passed) expect(report.failures.length).toBeGreaterThan(0);
      }),
      target.params(30),
    );
    // Both paths ran: the listing comparison guards something, and success is still possible.
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.ingested).toBeGreaterThan(0);
  });
});
