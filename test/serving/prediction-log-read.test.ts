import { describe, expect, it } from 'vitest';
import { MlcycleError } from '../../src/errors';
import { predictionLogKey, readPredictionLogs, serializeEntry } from '../../src/serving/prediction-log';
import type { NamedStore } from '../../src/storage/artifact-store';

/** The named objects of one test, in memory. */
function storeWith(objects: Record<string, string>): NamedStore {
  return {
    putNamed: () => Promise.reject(new Error('read-only in this test')),
    getNamed: async (key) => (key in objects ? Buffer.from(objects[key]!) : undefined),
    listNamed: async (prefix) => Object.keys(objects).filter((k) => k.startsWith(prefix)).sort(),
    uriForKey: (key) => `s3://mem/${key}`,
  };
}

describe('readPredictionLogs parses each line by its schema', () => {
  const ts = '2026-01-02T03:04:05.000Z';
  const key = predictionLogKey('churn', ts, 'abcd');
  const entry = { ts, model: 'churn', version: 2, inputs: { tenure: 3, id: 'x' }, probability: 0.25 };

  it('reads entries as written, truncated ones included', async () => {
    const truncated = serializeEntry({ ...entry, inputs: { blob: 'x'.repeat(500) } }, 200)!;
    expect(truncated.truncated).toBe(true);
    const logs = await readPredictionLogs(storeWith({ [key]: `${JSON.stringify(entry)}\n${truncated.json}\n` }), 'churn');
    expect(logs).toHaveLength(2);
    expect(logs[0]).toEqual(entry);
    expect(logs[1]!.truncated).toBe(true);
  });

  it('refuses a JSON line that is no log entry, naming the object, the line and the field', async () => {
    const bad = { ...entry, version: 'two' };
    const err = await readPredictionLogs(storeWith({ [key]: `${JSON.stringify(entry)}\n${JSON.stringify(bad)}\n` }), 'churn').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlcycleError);
    expect((err as MlcycleError).code).toBe('DATA_INVALID');
    expect((err as MlcycleError).message).toContain(`s3://mem/${key} line 2 is not a prediction log entry`);
    expect((err as MlcycleError).message).toContain('version');
  });
});
