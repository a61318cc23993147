import { describe, expect, it } from 'vitest';
import { createPredictionLogger, predictionLogKey, type PredictionLogEntry } from '../../src/serving/prediction-log';
import type { ArtifactStore } from '../../src/storage/artifact-store';

/** Just enough of a store: putNamed into a map, failing while `failing` is set. */
function fakeStore() {
  const objects = new Map<string, string>();
  const state = { failing: false, puts: 0 };
  const store = {
    async putNamed(key: string, body: Buffer | string) {
      state.puts++;
      await new Promise((r) => setTimeout(r, 5));
      if (state.failing) throw new Error('store down');
      objects.set(key, body.toString());
      return { uri: `s3://b/${key}`, created: true };
    },
  } as unknown as ArtifactStore;
  const rows = () => [...objects.values()].flatMap((b) => b.trim().split('\n').map((l) => JSON.parse(l) as PredictionLogEntry));
  return { store, objects, state, rows };
}

const entry = (i: number, ts = new Date().toISOString()): PredictionLogEntry => ({
  ts,
  model: 'm',
  version: 1,
  inputs: { i },
  probability: 0.5,
});

describe('prediction logger', () => {
  it('names objects by UTC day, hour and first row time, and splits a batch at the hour', async () => {
    expect(predictionLogKey('churn', '2025-01-02T03:04:05.678Z', 'abcd1234')).toBe(
      'predictions/churn/2025-01-02/03/20250102T030405678Z-abcd1234.jsonl',
    );
    const { store, objects, rows } = fakeStore();
    const logger = createPredictionLogger({ store, model: 'm', flushMs: 60_000, batchRows: 100 });
    logger.add([entry(1, '2025-01-02T03:59:59.999Z'), entry(2, '2025-01-02T04:00:00.000Z'), entry(3, '2025-01-02T04:10:00.000Z')]);
    await logger.close();
    const keys = [...objects.keys()].sort();
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^predictions\/m\/2025-01-02\/03\/20250102T035959999Z-[0-9a-f]{8}\.jsonl$/);
    expect(keys[1]).toMatch(/^predictions\/m\/2025-01-02\/04\/20250102T040000000Z-[0-9a-f]{8}\.jsonl$/);
    expect(rows().map((r) => r.inputs['i'])).toEqual([1, 2, 3]);
  });

  it('splits a batch of fat rows into objects of about 8 MiB, whatever batchRows allows', async () => {
    const { store, objects, rows } = fakeStore();
    const logger = createPredictionLogger({ store, model: 'm', flushMs: 60_000, batchRows: 5000, maxRowBytes: 2 * 1024 * 1024 });
    const fat = 'x'.repeat(1024 * 1024);
    logger.add(Array.from({ length: 20 }, (_, i) => ({ ...entry(i, '2025-01-02T03:04:05.000Z'), inputs: { i, junk: fat } })));
    await logger.close();
    const sizes = [...objects.values()].map((b) => b.length);
    expect(sizes.length).toBeGreaterThanOrEqual(3);
    for (const size of sizes) expect(size).toBeLessThan(10 * 1024 * 1024);
    expect(rows().map((r) => r.inputs['i'])).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('writes full batches at once and keeps no tiny objects coming under steady load', async () => {
    const { store, objects, rows } = fakeStore();
    const logger = createPredictionLogger({ store, model: 'm', flushMs: 100, batchRows: 200 });
    let n = 0;
    const until = Date.now() + 400;
    while (Date.now() < until) {
      logger.add(Array.from({ length: 5 }, () => entry(n++)));
      await new Promise((r) => setTimeout(r, 1));
    }
    await logger.close();
    expect(rows()).toHaveLength(n);
    expect(rows().map((r) => r.inputs['i'])).toEqual(Array.from({ length: n }, (_, i) => i));
    // Timer flushes write what was there when they began; full batches go at once. Nothing
    // degenerates into one object per write round trip.
    // (~4 timer flushes in 400 ms, one at close, the rest full batches of 200.)
    expect(objects.size).toBeLessThanOrEqual(Math.ceil(n / 200) + 6);
  });

  it('keeps rows across a failing store, bounded, and never throws from add', async () => {
    const { store, state, rows } = fakeStore();
    let dropped = 0;
    const lines: string[] = [];
    const logger = createPredictionLogger({
      store,
      model: 'm',
      flushMs: 10,
      batchRows: 5,
      maxBufferedRows: 20,
      log: (l) => lines.push(l),
      onDropped: (k) => (dropped += k),
    });
    state.failing = true;
    for (let i = 0; i < 30; i++) expect(() => logger.add([entry(i)])).not.toThrow();
    await new Promise((r) => setTimeout(r, 100));
    expect(logger.pending()).toBeLessThanOrEqual(20);
    expect(dropped).toBe(10);
    expect(lines.filter((l) => l.includes('failed'))).toHaveLength(1);
    state.failing = false;
    await logger.flush();
    // The newest 20 survived, in order.
    expect(rows().map((r) => r.inputs['i'])).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
    expect(lines.some((l) => l.includes('works again'))).toBe(true);
    await logger.close();
  });

  it('drops, and says so, what a failing store cannot take at close', async () => {
    const { store, state } = fakeStore();
    let dropped = 0;
    const lines: string[] = [];
    const logger = createPredictionLogger({ store, model: 'm', flushMs: 60_000, batchRows: 100, log: (l) => lines.push(l), onDropped: (k) => (dropped += k) });
    state.failing = true;
    logger.add([entry(1), entry(2)]);
    await logger.close();
    expect(dropped).toBe(2);
    expect(lines.some((l) => l.includes('dropping 2 rows'))).toBe(true);
    logger.add([entry(3)]); // after close: ignored, no throw
    expect(logger.pending()).toBe(0);
  });

  // The flood's memory, as a process's peak RSS with rows parsed from real requests, is measured in
  // test/security/prediction-flood.int.test.ts: here every row shares one string, so RSS says nothing.
  it('a fat-row flood while the store is down: rows truncated and counted, the buffer capped in bytes', async () => {
    const { store, state, rows } = fakeStore();
    let dropped = 0;
    let truncated = 0;
    const logger = createPredictionLogger({
      store,
      model: 'm',
      flushMs: 10,
      batchRows: 29,
      maxBufferedBytes: 4 * 1024 * 1024,
      maxRowBytes: 8 * 1024,
      onDropped: (k) => (dropped += k),
      onTruncated: (k) => (truncated += k),
    });
    state.failing = true;
    // The review's attack: 29-row requests each carrying a 1.1 MB extra field (12 requests: 380 MB of extras).
    const fat = 'x'.repeat(1_100_000);
    for (let r = 0; r < 12; r++) {
      logger.add(Array.from({ length: 29 }, (_, i) => ({ ...entry(r * 29 + i), inputs: { i: r * 29 + i, tenure: 3, junk: fat } })));
    }
    await new Promise((res) => setTimeout(res, 50));
    expect(truncated).toBe(12 * 29);
    expect(logger.pendingBytes()).toBeLessThanOrEqual(4 * 1024 * 1024);
    // 348 truncated rows of ~200 bytes fit: nothing had to be dropped, and none holds the junk.
    expect(dropped).toBe(0);
    state.failing = false;
    await logger.flush();
    const written = rows();
    expect(written).toHaveLength(12 * 29);
    expect(written[0]).toMatchObject({ inputs: { i: 0, tenure: 3, junk: '(mlcycle: truncated)' }, truncated: true });
    await logger.close();
  });
});
