import { createHash } from 'node:crypto';
import { recordStepCacheLookup } from '../src/observability/activity-telemetry';
import type { NamedStore } from '../src/storage/artifact-store';

/** JSON with object keys sorted, so equal inputs hash equally whatever order they were built in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Step caching keyed on content: code version, input data hashes and parameters. A stage whose key
 * is unchanged reuses its previous output instead of running again.
 */
export function stepCacheKey(stage: string, inputs: Record<string, unknown>): string {
  return createHash('sha256').update(stage).update('\0').update(canonicalJson(inputs)).digest('hex');
}

export interface StepCache {
  get<T>(stage: string, key: string): Promise<T | undefined>;
  put(stage: string, key: string, output: unknown): Promise<void>;
}

export function createStepCache(store: NamedStore): StepCache {
  const keyOf = (stage: string, key: string) => `cache/${stage}/${key}.json`;
  return {
    async get<T>(stage: string, key: string) {
      const body = await store.getNamed(keyOf(stage, key));
      recordStepCacheLookup(stage, key, body !== undefined);
      if (!body) return undefined;
      // Not parsed by a schema: the key hashes the code version with the inputs, so the record was
      // written by this same code for this same stage (a record from other code is never looked up).
      const record = JSON.parse(body.toString('utf8')) as { output: T };
      return record.output;
    },
    async put(stage: string, key: string, output: unknown) {
      // First writer wins: two runs racing on the same key computed the same content anyway.
      await store.putNamed(keyOf(stage, key), JSON.stringify({ stage, key, output, at: new Date().toISOString() }), {
        contentType: 'application/json',
        ifNoneMatch: true,
      });
    },
  };
}
