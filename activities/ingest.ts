import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DatasetRef, IngestResult } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';

export interface IngestInput {
  source: string;
  format?: 'csv' | 'parquet' | 'jsonl';
}

const EXTENSIONS: Record<string, DatasetRef['format']> = {
  '.csv': 'csv',
  '.parquet': 'parquet',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
};

function detectFormat(source: string, declared?: DatasetRef['format']): DatasetRef['format'] {
  if (declared) return declared;
  const ext = path.extname(source.replace(/\?.*$/, '')).toLowerCase();
  const format = EXTENSIONS[ext];
  if (!format) {
    throw ApplicationFailure.nonRetryable(
      `data.source: cannot tell the format of ${source} from its extension "${ext}"; set data.format to csv, parquet or jsonl`,
      'DATA_INVALID',
    );
  }
  return format;
}

/**
 * Snapshots the source into the artifact store under its content hash, so a dataset version is
 * its sha256 and the same bytes are stored once however often they are ingested.
 */
export function createIngestActivities(deps: ActivityDeps) {
  return {
    async ingestDataset(input: IngestInput): Promise<IngestResult> {
      const ctx = Context.current();
      const format = detectFormat(input.source, input.format);
      ctx.heartbeat({ phase: 'snapshot' });
      let ref;
      if (input.source.startsWith('file://')) {
        const file = input.source.slice('file://'.length);
        try {
          await fs.access(file);
        } catch {
          throw ApplicationFailure.nonRetryable(`data.source: ${input.source} does not exist or is not readable by the worker`, 'NOT_FOUND');
        }
        ref = await deps.store.putFile(file);
      } else {
        if (!(await deps.store.exists(input.source))) {
          throw ApplicationFailure.nonRetryable(`data.source: ${input.source} does not exist`, 'NOT_FOUND');
        }
        ref = await deps.store.putStream(await deps.store.getStream(input.source));
      }
      return {
        dataset: { uri: ref.uri, sha256: ref.sha256, size: ref.size, format },
        cached: false,
        attempt: ctx.info.attempt,
      };
    },
  };
}
