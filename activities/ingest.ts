import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { inferFormat } from '../src/data/dataset-reader';
import { scanDataset } from '../src/data/scan';
import { isMlcycleError, MlcycleError } from '../src/errors';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import type { ArtifactRef } from '../src/storage/artifact-store';
import type { DatasetRef, IngestResult } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { createStepCache, stepCacheKey } from './step-cache';
import { assertInDataRoots } from '../src/data/data-roots';

export interface IngestInput {
  source: string;
  /** The spec field the source came from, for refusals (default data.source). */
  field?: string;
  format?: DatasetRef['format'];
  schema: PipelineSpec['data']['schema'];
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

async function hashFile(localPath: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(localPath, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
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
      const format = detectFormat(input.source, input.format);
      const scratch = await fs.mkdtemp(path.join(deps.workDir, 'ingest-'));
      try {
        ctx.heartbeat({ phase: 'snapshot' });
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
          // Keep a .gz ending: the reader decompresses by the file name.
          localPath = path.join(scratch, `source.${format}${input.source.toLowerCase().endsWith('.gz') ? '.gz' : ''}`);
          await deps.store.getToFile(input.source, localPath);
        }
        // The snapshot (the dataset version) is stored only once the data has been read in full:
        // a file that turns out malformed leaves nothing behind. Its hash comes first, for the cache.
        const { sha256, size } = await hashFile(localPath);
        const key = stepCacheKey('ingest', { code: input.codeVersion, sha256, format, schema: input.schema });
        if (input.cache) {
          const hit = await cache.get<Omit<IngestResult, 'cached' | 'attempt'>>('ingest', key);
          if (hit && (await deps.store.exists(hit.dataset.uri))) return { ...hit, cached: true, attempt: ctx.info.attempt };
        }

        const { profile, typeErrors } = await scanDataset(localPath, input.schema, {
          format,
          onProgress: (rows) => ctx.heartbeat({ phase: 'profile', rows }),
        }).catch((err: unknown) => {
          // The reader names the file it read: for an s3:// source, a scratch copy nobody knows.
          if (isMlcycleError(err) && !input.source.startsWith('file://')) {
            throw new MlcycleError(err.code, err.message.split(localPath).join(input.source), { cause: err });
          }
          throw err;
        });
        const ref: ArtifactRef = await deps.store.putFile(localPath);
        if (ref.sha256 !== sha256 || ref.size !== size) {
          throw ApplicationFailure.retryable(`data.source: ${input.source} changed while it was being ingested; trying again`, 'SOURCE_CHANGED');
        }
        const dataset: DatasetRef = { uri: ref.uri, sha256: ref.sha256, size: ref.size, format };
        const manifest = await deps.store.putJson({
          format: 'mlcycle-dataset/v1',
          dataset,
          source: input.source,
          schema: input.schema,
          profile,
          typeErrors,
        });
        const output = { dataset, manifestUri: manifest.uri, rowCount: profile.rowCount };
        await cache.put('ingest', key, output);
        return { ...output, cached: false, attempt: ctx.info.attempt };
      } catch (err) {
        throw asActivityFailure(err);
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
      }
    },
  };
}
