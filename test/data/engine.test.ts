import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataSettings, EngineAborted, openEngine } from '../../src/data/engine';

describe('data engine', () => {
  it('an abort interrupts the running query at once and the engine closes, files removed', async () => {
    const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-engine-'));
    const stop = new AbortController();
    const engine = await openEngine({ scratchDir: scratch, signal: stop.signal, settings: dataSettings({ MLCYCLE_DATA_THREADS: '1' }) });
    const started = Date.now();
    // Minutes of work if left alone.
    const query = engine.all('SELECT count(*) FROM range(100000000000) t(i) WHERE hash(i) % 7 = 3');
    setTimeout(() => stop.abort(new Error('heartbeat timeout')), 300);
    await expect(query).rejects.toBeInstanceOf(EngineAborted);
    expect(Date.now() - started).toBeLessThan(10_000);
    await engine.close();
    expect(await fs.readdir(scratch)).toEqual([]);
    await fs.rm(scratch, { recursive: true, force: true });
  });

  it('refuses bad settings naming the variable', () => {
    expect(() => dataSettings({ MLCYCLE_DATA_MEMORY_LIMIT: 'lots' })).toThrow(/MLCYCLE_DATA_MEMORY_LIMIT/);
    expect(dataSettings({})).toMatchObject({ memoryLimit: '512MB', maxColumns: 10_000, maxLineBytes: 16 * 1024 * 1024, maxProfileCategories: 1000 });
  });
});
