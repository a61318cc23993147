/**
 * The bad inputs through whole pipeline runs on the real stack: each run fails at ingest
 * on its first attempt with an error naming the file and the column or limit, registers nothing
 * and leaves nothing in the store; the same worker then still completes a good run.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { createModelRegistry } from '../../src/registry/model-registry';
import { SpecWorkspace } from '../helpers/specs';
import { startTestEnv, type TestEnv } from '../helpers/test-env';

const HEADER = 'customer_id,tenure_months,monthly_charges,support_tickets,plan,region,autopay,churned';
const ROW = 'c1,12,50.5,1,basic,north,true,false';

describe('bad inputs through the whole pipeline', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 600 });
    const wideHeader = Array.from({ length: 100_000 }, (_, k) => `c${k}`).join(',');
    const wideRow = new Array<string>(100_000).fill('1').join(',');
    const files: Record<string, string | Buffer> = {
      'empty.csv': '',
      'header.csv': `${HEADER}\n`,
      'dup.csv': `${HEADER},plan\n${ROW},pro\n`,
      'notarget.csv': `${HEADER.replace(',churned', '')}\n${ROW.replace(/,false$/, '')}\n`,
      'nolabels.csv': `${HEADER}\n${ROW.replace(/false$/, '')}\n${ROW.replace(/false$/, 'NA')}\n`,
      'parquet-is-text.parquet': `${HEADER}\n${ROW}\n`,
      'wide.csv': [wideHeader, ...new Array<string>(600).fill(wideRow)].join('\n'),
      'oneline.csv': Buffer.alloc(64 * 1024 * 1024, 'a,'),
    };
    for (const [name, body] of Object.entries(files)) await fs.writeFile(path.join(ws.dir, 'data', name), body);
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  const cases: Array<[file: string, message: RegExp]> = [
    ['empty.csv', /empty\.csv: the file is empty/],
    ['header.csv', /header\.csv: has no data rows \(only a header line\)/],
    ['dup.csv', /dup\.csv: duplicate column name/],
    ['notarget.csv', /notarget\.csv: the target column "churned" is not in the data/],
    ['nolabels.csv', /nolabels\.csv: the target column "churned" has no values in any of the 2 rows/],
    ['parquet-is-text.parquet', /parquet-is-text\.parquet: not a readable Parquet file/],
    ['wide.csv', /wide\.csv: has 100000 columns, more than the limit of 10000 \(MLCYCLE_DATA_MAX_COLUMNS\)/],
    ['oneline.csv', /oneline\.csv: line 1 is longer than the limit of 16777216 bytes/],
  ];

  it('each fails at ingest on its first attempt naming the file and the limit, registers and stores nothing; a good run follows', async () => {
    const before = await env.store.listNamed('');
    const registry = createModelRegistry({ store: env.store });
    for (const [file, message] of cases) {
      const name = `bad-${path.basename(file).replace(/\W+/g, '-')}`;
      const spec = await ws.spec(`${name}.yaml`, (d) => {
        d.name = name;
        d.data.source = `file://data/${file}`;
        delete d.evaluate.compareToChampion;
      });
      const run = await waitForRun(env.client, (await env.client.startPipeline(spec, { cache: false })).workflowId);
      expect(run.status, file).toBe('failed');
      expect(run.error, file).toMatch(message);
      const ingest = run.steps.find((s) => s.name === 'ingest');
      expect(ingest, file).toMatchObject({ state: 'failed', attempts: 1 });
      expect(run.steps.filter((s) => s.state === 'completed'), file).toEqual([]);
    }
    expect(await registry.listModels()).toEqual([]);
    // No dataset version, snapshot, manifest, cache entry or report was written by any of them.
    expect(await env.store.listNamed('')).toEqual(before);

    const good = await ws.spec('good.yaml', (d) => {
      d.name = 'good-after-bad';
      delete d.evaluate.compareToChampion;
    });
    const run = await waitForRun(env.client, (await env.client.startPipeline(good, { cache: false })).workflowId);
    expect(run.status, run.error).toBe('completed');
  }, 300_000);
});
