/**
 * Findings 4 and 5 of the security review, as they were made: Temporal access used to run
 * programs and read files on a worker. Now a worker runs only the programs and reads only the
 * folders it was started with, trainers get a scrubbed environment, and the worker's secrets never
 * appear in a failure.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { parseEnv } from '../../src/config/env';
import { loadPipelineSpec } from '../../src/spec/pipeline-spec';
import { TEMPORAL_CLI, resolveBinary } from '../../src/stack/binaries';
import { SpecWorkspace } from '../helpers/specs';
import { startTestEnv, type TestEnv } from '../helpers/test-env';

const SECRET = 'sup3r-s3cret-value-9f8e7d';

describe('workers run only what they are allowed to', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;

  beforeAll(async () => {
    // A secret in the worker's environment, as S3 keys and webhook secrets are in production.
    process.env.MLCYCLE_TEST_WEBHOOK_SECRET = SECRET;
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 600 });
  });
  afterAll(async () => {
    delete process.env.MLCYCLE_TEST_WEBHOOK_SECRET;
    await env?.close();
    await ws?.remove();
  });

  const quick = (d: Record<string, any>) => {
    d.validation.minRows = 100;
    delete d.evaluate.thresholds;
    delete d.evaluate.compareToChampion;
  };

  it('a raw start with a command trainer: plaintext from the stock CLI is refused; with the keys, a program not allowed is refused naming the flag', async () => {
    const loaded = await loadPipelineSpec(await ws.spec('raw-cmd.yaml', (d) => {
      d.name = 'raw-cmd';
      quick(d);
    }));
    const input = env.client.pipelineInput(loaded);
    input.spec.train = { ...input.spec.train, trainer: 'command', command: ['id'] };

    // The stock Temporal CLI, as in the review: no keys, so the input arrives in plaintext.
    const stack = inject('stack');
    const bin = (await resolveBinary(TEMPORAL_CLI, parseEnv({ ...process.env, TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '' }))).path;
    const stockId = `raw-cmd-stock-${Date.now()}`;
    await promisify(execFile)(bin, ['workflow', 'start', '--type', 'trainingPipeline', '--task-queue', input.queues.cpu, '--workflow-id', stockId, '--input', JSON.stringify(input), '--address', stack.temporalAddress, '--namespace', stack.namespace], { timeout: 60_000 });
    const stock = await waitForRun(env.client, stockId);
    expect(stock.status).toBe('failed');
    expect(stock.error).toMatch(/workflow input payload refused: plaintext payload/);

    // Someone holding the codec keys (a raw client): the worker itself refuses the program.
    const handle = await env.client.temporal.workflow.start('trainingPipeline', { taskQueue: input.queues.cpu, workflowId: `raw-cmd-keyed-${Date.now()}`, args: [input] });
    const keyed = await waitForRun(env.client, handle.workflowId);
    expect(keyed.status).toBe('failed');
    expect(keyed.error).toContain('train.command: this worker does not run "id"');
    expect(keyed.error).toContain('--allow-command <program>');
    expect(keyed.steps.find((s) => s.name === 'train')?.state).toBe('failed');
  }, 240_000);

  it('file:///etc/shadow, file://../.. traversal and a symlink out are refused naming the field and the roots', async () => {
    await fs.symlink('/etc/hostname', path.join(ws.dir, 'data', 'link.csv'));
    const cases: Array<[string, string, (d: Record<string, any>) => void]> = [
      ['shadow', 'data.source', (d) => ((d.data.source = 'file:///etc/shadow'), (d.data.format = 'csv'))],
      ['traversal', 'data.source', (d) => ((d.data.source = `file://${'../'.repeat(12)}etc/passwd`), (d.data.format = 'csv'))],
      ['symlink', 'data.source', (d) => (d.data.source = 'file://data/link.csv')],
      ['reference', 'validation.reference', (d) => (d.validation.reference = 'file:///etc/passwd')],
    ];
    for (const [name, field, edit] of cases) {
      const spec = await ws.spec(`files-${name}.yaml`, (d) => {
        d.name = `files-${name}`;
        quick(d);
        edit(d);
      });
      const status = await waitForRun(env.client, (await env.client.startPipeline(spec, { cache: false })).workflowId);
      expect(status.status, name).toBe('failed');
      expect(status.error, name).toContain(`${field}: `);
      expect(status.error, name).toMatch(/is outside this worker's data roots \(.*\); start the worker with --data-root <dir>/);
    }
    // Nothing was snapshotted into the store from those files.
    const objects = await env.store.listNamed('');
    for (const key of objects) {
      if (!key.startsWith('artifacts/')) continue;
      const bytes = await env.store.getNamed(key);
      expect(bytes?.toString('utf8') ?? '').not.toMatch(/^root:/m);
    }
  }, 240_000);

  it('an env-dumping trainer sees no secret, and its failure shows none', async () => {
    await ws.writeFile('found-secret.txt', SECRET);
    await ws.writeFile(
      'dump-env.js',
      [
        "const fs = require('fs');",
        "fs.writeFileSync(process.env.MLCYCLE_OUTPUT_DIR + '/env.json', JSON.stringify(process.env));",
        "console.log(JSON.stringify(process.env));",
        // A secret it found some other way (a file the worker's user can read): the failure must not carry it.
        "console.log('found: ' + fs.readFileSync('found-secret.txt', 'utf8'));",
        'process.exit(3);',
      ].join('\n'),
    );
    const spec = await ws.spec('dump.yaml', (d) => {
      d.name = 'dump-env';
      quick(d);
      d.train = { trainer: 'command', command: ['node', 'dump-env.js'], maxAttempts: 1 };
    });
    const status = await waitForRun(env.client, (await env.client.startPipeline(spec, { cache: false })).workflowId);
    expect(status.status).toBe('failed');
    expect(status.error).toContain('training command exited with status 3');
    expect(status.error).not.toContain(SECRET);
    expect(status.error).toContain('[redacted MLCYCLE_TEST_WEBHOOK_SECRET]');
    // The program's own environment held nothing of the worker's but the basics.
    const dumped = JSON.parse(/^\{.*"MLCYCLE_OUTPUT_DIR".*\}$/m.exec(status.error ?? '')?.[0] ?? '{}') as Record<string, string>;
    expect(Object.keys(dumped).filter((k) => !k.startsWith('MLCYCLE_')).sort()).toEqual(expect.arrayContaining(['PATH']));
    for (const k of Object.keys(dumped)) expect(['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR'].includes(k) || k.startsWith('MLCYCLE_'), k).toBe(true);
    expect(dumped.MLCYCLE_TEST_WEBHOOK_SECRET).toBeUndefined();
    expect(dumped.MLCYCLE_CODEC_KEY_FILE).toBeUndefined();
    // Nor did any object the run left in the store (the review found the dump in MinIO).
    const stored = await env.store.listNamed('');
    expect(stored.length).toBeGreaterThan(0);
    for (const key of stored) {
      const bytes = await env.store.getNamed(key);
      expect(bytes?.includes(SECRET) ?? false, key).toBe(false);
    }
  }, 240_000);
});
