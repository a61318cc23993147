/**
 * "Values of the worker's secret variables are redacted from failure messages, logs and status"
 * (issue 14), for every activity, not just command trainers: a real `mlcycle worker` process
 * holding an S3 secret, a webhook secret and codec keys runs steps whose failure and whose result
 * quote those values (as a library's error or a data-quality report quoting the data would). Neither
 * `mlcycle status`, nor the decoded failure in the history, nor the worker's log shows them.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { SpecWorkspace } from '../helpers/specs';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-processes';

const WEBHOOK_SECRET = 'whsec-9c1f0e7b2a4d6e8f';

describe("the worker's secrets never leave it", () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let worker: WorkerProcess;
  const logged: string[] = [];
  let secrets: Array<[string, string]>;

  beforeAll(async () => {
    // Only the worker process below polls these queues: its log is the one that is read.
    env = await startTestEnv({ workers: false });
    ws = await SpecWorkspace.create({ rows: 600 });
    const key = env.keyring.keys.get(env.keyring.activeId) as Buffer;
    secrets = [
      ['AWS_SECRET_ACCESS_KEY', env.cliEnv.AWS_SECRET_ACCESS_KEY as string],
      ['MLCYCLE_TEST_WEBHOOK_SECRET', WEBHOOK_SECRET],
      [`codec key ${env.keyring.activeId}`, key.toString('base64')],
    ];
    worker = await startWorkerProcess('cpu', { ...env.cliEnv, MLCYCLE_TEST_WEBHOOK_SECRET: WEBHOOK_SECRET, MLCYCLE_LOG_FORMAT: 'json', MLCYCLE_LOG_LEVEL: 'DEBUG' });
    const keep = (chunk: Buffer) => logged.push(chunk.toString('utf8'));
    worker.child.stdout?.on('data', keep);
    worker.child.stderr?.on('data', keep);
  });
  afterAll(async () => {
    if (worker?.alive()) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await env?.close();
    await ws?.remove();
  });

  /** Every secret is absent from `text`; `redacted` also names which must show as redacted. */
  const expectNoSecret = (text: string, what: string) => {
    for (const [name, value] of secrets) expect(text.includes(value), `${name} in ${what}`).toBe(false);
  };

  it('a failure that quotes them (an ingest error naming columns) and a result that quotes them (a validation report) show [redacted …] in status, the history and the log', async () => {
    const values = secrets.map(([, v]) => v);
    // Column names read from a file the worker may read: ingest's error lists them.
    await ws.writeFile('data/leak-columns.csv', `customer_id,${values.join(',')}\nc1,1,2,3\nc2,4,5,6\n`);
    const thrown = await ws.spec('leak-columns.yaml', (d) => {
      d.name = 'leak-columns';
      d.data.source = 'file://data/leak-columns.csv';
    });
    // A category value: validation's report quotes the values outside the declared list.
    const csv = (await fs.readFile(`${ws.dir}/data/churn.csv`, 'utf8')).split('\n');
    const header = (csv[0] as string).split(',');
    const plan = header.indexOf('plan');
    const rows = csv.slice(1).filter(Boolean).map((line, i) => {
      const cells = line.split(',');
      if (i < values.length) cells[plan] = values[i] as string;
      return cells.join(',');
    });
    await ws.writeFile('data/leak-values.csv', [csv[0], ...rows].join('\n') + '\n');
    const reported = await ws.spec('leak-values.yaml', (d) => {
      d.name = 'leak-values';
      d.data.source = 'file://data/leak-values.csv';
      d.validation.minRows = 100;
    });

    for (const [spec, expected] of [
      [thrown, /the target column "churned" is not in the data/],
      [reported, /data validation failed:[\s\S]*column "plan": 3 values outside \[basic, pro, enterprise\]/],
    ] as const) {
      const { workflowId } = await env.client.startPipeline(spec, { cache: false });
      const status = await waitForRun(env.client, workflowId);
      expect(status.status).toBe('failed');
      expect(status.error).toMatch(expected);
      for (const [name] of secrets) expect(status.error).toContain(`[redacted ${name}]`);
      expectNoSecret(JSON.stringify(status), `status of ${workflowId}`);

      // The failure as the history holds it (decoded with the keys): message and stack of every cause.
      const failure = await env.client.temporal.workflow.getHandle(workflowId).result().then(
        () => undefined,
        (err: unknown) => err,
      );
      const chain: string[] = [];
      for (let e = failure as (Error & { cause?: unknown }) | undefined; e instanceof Error; e = e.cause as typeof e) chain.push(`${e.message}\n${e.stack ?? ''}`);
      expect(chain.length).toBeGreaterThan(1);
      expectNoSecret(chain.join('\n'), `the failure of ${workflowId}`);
    }

    // The worker logged what failed (the SDK's "Activity failed" with the error), redacted.
    const log = logged.join('');
    expect(log).toMatch(/Activity failed/);
    expect(log).toContain('[redacted AWS_SECRET_ACCESS_KEY]');
    expectNoSecret(log, "the worker's log");
  }, 240_000);
});
