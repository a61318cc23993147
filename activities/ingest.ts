import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { inferFormat } from '../src/data/dataset-reader';
import { convertSource, sourceFile } from '../src/data/ingest-source';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import { hashFile, type ArtifactRef } from '../src/storage/artifact-store';
import type { DatasetRef, IngestResult } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { startPulse } from './heartbeat';
import { createStepCache, stepCacheKey } from './step-cache';
import { assertInDataRoots } from '../src/data/data-roots';

export interface IngestInput {
  source: string;
  /** The spec field the source came from, for refusals (default data.source). */
  field?: string;
  format?: DatasetRef['format'];
  schema: PipelineSpec['data']['schema'] | 'infer';
  /** `data.target`: ingest refuses data without it, or where it is entirely missing. */
  target?: string;
  codeVersion: string;
  cache: boolean;
}

function detectFormat(source: string, declared?: DatasetRef['format']): DatasetRef['format'] {
  if (declared) return declared;
  try {
    return inferFormat(source).format;
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `data.source: cannot tell the format of ${source}; set data.format to csv, parquet or jsonl (${(err as Error).message})`,
      'DATA_INVALID',
    );
  }
}

/**
 * Snapshots the source into the artifact store under its content hash (a dataset version is its
 * sha256; the same bytes are stored once), profiles it and writes the dataset manifest.
 */
export function createIngestActivities(deps: ActivityDeps) {
  const cache = createStepCache(deps.store);
  return {
    async ingestDataset(input: IngestInput): Promise<IngestResult> {
      await assertInDataRoots(input.source, deps.permissions?.dataRoots ?? [process.cwd()], input.field ?? 'data.source').catch((err: unknown) => { throw asActivityFailure(err); });
      const ctx = Context.current();
      const pulse = startPulse(ctx, { phase: 'start' });
      const format = detectFormat(input.source, input.format);
      const scratch = await fs.mkdtemp(path.join(deps.workDir, 'ingest-'));
      try {
        pulse.beat({ phase: 'download' });
        let localPath: string;
        if (input.source.startsWith('file://')) {
          localPath = input.source.slice('file://'.length);
          try {
            await fs.access(localPath);
          } catch {
            throw ApplicationFailure.nonRetryable(`data.source: ${input.source} does not exist or is not readable by the worker`, 'NOT_FOUND');
          }
        } else {
          if (!(await deps.store.exists(input.source))) {
            throw ApplicationFailure.nonRetryable(`data.source: ${input.source} does not exist`, 'NOT_FOUND');
          }
          // Keep a .gz ending: the engine decompresses by the file name.
          localPath = path.join(scratch, `source.${format}${input.source.toLowerCase().endsWith('.gz') ? '.gz' : ''}`);
          await deps.store.getToFile(input.source, localPath);
        }
        // The snapshot (the dataset version) is stored only once the data has been read in full:
        // a file that turns out malformed leaves nothing behind. Its hash comes first, for the cache.
        pulse.beat({ phase: 'hash' });
        const { sha256, size } = await hashFile(localPath);
        const key = stepCacheKey('ingest', { code: input.codeVersion, sha256, format, schema: input.schema, target: input.target ?? null });
        if (input.cache) {
          const hit = await cache.get<Omit<IngestResult, 'cached' | 'attempt'>>('ingest', key);
          if (hit && (await deps.store.exists(hit.dataset.uri))) return { ...hit, cached: true, attempt: ctx.info.attempt };
        }

        const snapshotPath = path.join(scratch, 'snapshot.parquet');
        const converted = await convertSource({
          file: sourceFile(localPath, input.source, format),
          schema: input.schema,
          target: input.target,
          scratchDir: scratch,
          snapshotPath,
          signal: pulse.signal,
          onPhase: (phase) => pulse.beat({ phase }),
        });
        pulse.beat({ phase: 'store' });
        const ref: ArtifactRef = await deps.store.putFile(localPath);
        if (ref.sha256 !== sha256 || ref.size !== size) {
          throw ApplicationFailure.retryable(`data.source: ${input.source} changed while it was being ingested; trying again`, 'SOURCE_CHANGED');
        }
        const snapshot = await deps.store.putFile(snapshotPath, { contentType: 'application/vnd.apache.parquet' });
        const dataset: DatasetRef = {
          uri: ref.uri,
          sha256: ref.sha256,
          size: ref.size,
          format,
          snapshot: { uri: snapshot.uri, sha256: snapshot.sha256, size: snapshot.size },
        };
        const manifest = await deps.store.putJson({
          format: 'mlcycle-dataset/v2',
          dataset,
          source: input.source,
          schema: converted.schema,
          schemaInferred: converted.inferred,
          columns: converted.columns,
          profile: converted.profile,
          typeErrors: converted.typeErrors,
        });
        const output = {
          dataset,
          manifestUri: manifest.uri,
          rowCount: converted.rowCount,
          ...(converted.inferred ? { schema: converted.schema } : {}),
        };
        await cache.put('ingest', key, output);
        return { ...output, cached: false, attempt: ctx.info.attempt };
      } catch (err) {
        throw asActivityFailure(err);
      } finally {
        pulse.stop();
        await fs.rm(scratch, { recursive: true, force: true });
      }
    },
  };
}
